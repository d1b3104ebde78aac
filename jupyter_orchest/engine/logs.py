"""Step logs on disk: one file per step of a run, kept after the run."""

from pathlib import Path
from typing import BinaryIO

from .events import RunChanged, StepChanged, StepLogged
from .model import StepState


def step_log_path(logs_dir: Path, step_uuid: str) -> Path:
    return logs_dir / f"{step_uuid}.log"


class LogFileObserver:
    """Appends what each step of one run prints to `<logs_dir>/<step uuid>.log`."""

    def __init__(self, logs_dir: Path) -> None:
        self.logs_dir = logs_dir
        self._files: dict[str, BinaryIO] = {}

    def run_changed(self, event: RunChanged) -> None:
        if event.state.finished:
            for file in self._files.values():
                file.close()
            self._files.clear()

    def step_changed(self, event: StepChanged) -> None:
        if event.state == StepState.RUNNING and event.step_uuid not in self._files:
            # Once per step: the attempts after the first go on in the same log.
            self.logs_dir.mkdir(parents=True, exist_ok=True)
            self._files[event.step_uuid] = step_log_path(self.logs_dir, event.step_uuid).open("wb")
        elif event.state.finished and event.message and event.state != StepState.COMPUTED:
            self._write(event.step_uuid, f"\n{event.message}\n")
        if event.state.finished and event.step_uuid in self._files:
            self._files.pop(event.step_uuid).close()

    def step_logged(self, event: StepLogged) -> None:
        self._write(event.step_uuid, event.text)

    def _write(self, step_uuid: str, text: str) -> None:
        file = self._files.get(step_uuid)
        if file is None:
            return
        file.write(text.encode("utf-8", errors="replace"))
        # Flushed at once, so that the log can be read while the step runs.
        file.flush()
