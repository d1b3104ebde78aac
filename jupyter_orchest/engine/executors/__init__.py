"""Executors: what runs one step of a pipeline (see `..model.StepExecutor`).

- `local`: `LocalExecutor`, which runs steps on this machine;
- `notebooks`, `ipynb`: running a notebook's cells and writing their outputs back;
- `kernels`, `pool`, `forkserver`: choosing, starting, pre-starting and forking kernels;
- `scripts`: scripts run by their interpreter.
"""

from .local import LocalExecutor

__all__ = ["LocalExecutor"]
