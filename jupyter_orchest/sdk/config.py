"""``orchest.Config``, kept so that steps written for Orchest run unchanged."""

import os

from .environment import PIPELINE_PATH, PIPELINE_UUID, PROJECT_UUID, SESSION_TYPE, SESSION_UUID


class _RunAttributes(type):
    """Orchest's ``Config`` read who the step is from its environment at import; here a
    kernel may run several steps one after another, so each read asks the environment."""

    @property
    def SESSION_UUID(cls) -> str | None:
        return os.environ.get(SESSION_UUID)

    @property
    def SESSION_TYPE(cls) -> str | None:
        return os.environ.get(SESSION_TYPE)

    @property
    def PROJECT_UUID(cls) -> str | None:
        return os.environ.get(PROJECT_UUID)

    @property
    def PIPELINE_UUID(cls) -> str:
        return os.environ.get(PIPELINE_UUID, "")

    @property
    def PIPELINE_DEFINITION_PATH(cls) -> str | None:
        return os.environ.get(PIPELINE_PATH)


class Config(metaclass=_RunAttributes):
    """Settings of Orchest's SDK that steps may set, and what Orchest's told about the run
    (``Config.PROJECT_UUID``, ``SESSION_UUID``, ``SESSION_TYPE``, ``PIPELINE_UUID``,
    ``PIPELINE_DEFINITION_PATH``).

    Orchest warned when a step output data or called ``get_inputs`` more than once, because
    its outputs replaced each other and its memory store evicted data once read. Neither
    happens here, so no warning is printed and this setting only needs to exist.
    """

    silence_multiple_data_transfer_calls_warning: bool = False
