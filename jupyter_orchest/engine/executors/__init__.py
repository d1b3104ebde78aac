"""Executors: what runs one step of a pipeline (see `..model.StepExecutor`)."""

from .local import LocalExecutor

__all__ = ["LocalExecutor"]
