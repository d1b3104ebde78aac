"""The exceptions the step SDK raises, with the names Orchest's SDK gives them.

Steps written for Orchest catch these by name (``except orchest.error.OutputNotFoundError``),
so the names and the hierarchy follow Orchest's ``orchest.error`` module.
"""


class Error(Exception):
    """Base class of every error the SDK raises on purpose."""


class PipelineDefinitionNotFoundError(Error):
    """The pipeline file (or the run's parameters file) cannot be read."""


class InvalidPipelineDefinitionError(Error):
    """The pipeline file or the parameters file is not shaped as the SDK needs.

    Not in Orchest, whose SDK lets the underlying ``json`` or ``KeyError`` escape instead.
    """


class SerializationError(Error):
    """An object cannot be written as an output."""


class DeserializationError(Error):
    """An output exists but cannot be turned back into an object."""


class OutputNotFoundError(Error):
    """The output of a parent step cannot be found."""


class DiskOutputNotFoundError(OutputNotFoundError):
    """An output listed by a parent step is missing from disk or incomplete."""


class StepUUIDResolveError(Error):
    """The running step cannot be identified: the code is not running as a pipeline step, or
    the step (or a step it names) is not a valid step of the pipeline."""


class InputNameCollisionError(Error):
    """Several parent steps output data under the same name."""


class DataInvalidNameError(Error):
    """An output name is not allowed, such as the reserved name ``"unnamed"``."""


class InvalidMetaDataError(Error):
    """A step's list of outputs (its manifest) is unreadable or not shaped as expected."""


class SessionNotFound(Error):
    """The step runs without an interactive session, so it has no services to reach."""


class ServiceNotFound(Error):
    """The session has no service of that name."""
