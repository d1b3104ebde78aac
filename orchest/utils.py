"""Orchest's ``orchest.utils``: finding out which step is running."""

from jupyter_orchest.sdk.environment import get_step_uuid as _get_step_uuid


def get_step_uuid(pipeline: object = None) -> str:
    """The uuid of the running step.

    Orchest's version takes the pipeline to search; the engine names the step here, so
    ``pipeline`` is accepted for compatibility and not used.
    """
    return _get_step_uuid()


__all__ = ["get_step_uuid"]
