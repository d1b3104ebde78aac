"""The exceptions of the SDK, under Orchest's ``orchest.error`` names."""

from jupyter_orchest.sdk.errors import (
    DataInvalidNameError,
    DeserializationError,
    DiskOutputNotFoundError,
    Error,
    InputNameCollisionError,
    InvalidMetaDataError,
    InvalidPipelineDefinitionError,
    OutputNotFoundError,
    PipelineDefinitionNotFoundError,
    SerializationError,
    ServiceNotFound,
    SessionNotFound,
    StepUUIDResolveError,
)

__all__ = [
    "DataInvalidNameError",
    "DeserializationError",
    "DiskOutputNotFoundError",
    "Error",
    "InputNameCollisionError",
    "InvalidMetaDataError",
    "InvalidPipelineDefinitionError",
    "OutputNotFoundError",
    "PipelineDefinitionNotFoundError",
    "SerializationError",
    "ServiceNotFound",
    "SessionNotFound",
    "StepUUIDResolveError",
]
