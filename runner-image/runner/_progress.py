"""Progress events (JSON lines on stdout) and human logs (stderr)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from runner.spec import SAVED_STAGE, ProgressEvent


class Reporter:
    """Writes one ProgressEvent per line to `events`, log lines to `logs`, and keeps timings."""

    def __init__(self, *, events: TextIO | None, logs: TextIO = sys.stderr) -> None:
        self._events = events
        self._logs = logs
        self._stage: str | None = None
        self._stage_started = time.perf_counter()
        self._started = self._stage_started
        self.timings: dict[str, float] = {}

    def stage(self, stage: str, percent: float, message: str) -> None:
        """Start a stage: closes the previous stage's timing and emits an event."""
        self._close_stage()
        self._stage = stage
        self._stage_started = time.perf_counter()
        self.progress(percent, message)

    def progress(self, percent: float, message: str) -> None:
        """An event inside the current stage (an epoch, a fold)."""
        self._emit(self._stage or "starting", percent, message)

    def saved(self, percent: float, message: str) -> None:
        """Say that the model and a result.json for it are written; the stage's timing goes on."""
        self._emit(SAVED_STAGE, percent, message)

    def _emit(self, stage: str, percent: float, message: str) -> None:
        self.log(message)
        if self._events is None:
            return
        event = ProgressEvent(stage=stage, percent=round(percent, 1), message=message)
        self._events.write(event.model_dump_json() + "\n")
        self._events.flush()

    def log(self, message: str) -> None:
        self._logs.write(f"[runner] {message}\n")
        self._logs.flush()

    def finish(self) -> dict[str, float]:
        """Close the last stage; returns seconds per stage plus the total."""
        self._close_stage()
        self.timings["total"] = round(time.perf_counter() - self._started, 4)
        return self.timings

    def _close_stage(self) -> None:
        if self._stage is not None:
            elapsed = time.perf_counter() - self._stage_started
            self.timings[self._stage] = round(self.timings.get(self._stage, 0.0) + elapsed, 4)
        self._stage = None
