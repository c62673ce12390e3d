"""What a job handle reports: progress events while it runs, a training's saved model as soon as it
is saved, and the outcome when it succeeds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from runner.spec import Result
from store import DatasetRecord, ExitReason, JobRecord, ModelRecord

__all__ = ["JobEvent", "JobFinished", "JobOutcome", "JobProgress", "JobQueued", "JobSaved", "JobStarted"]


@dataclass(frozen=True)
class JobQueued:
    """Waiting for a free slot; `position` 1 means it starts next, 0 that it is starting now."""

    job_id: str
    position: int


@dataclass(frozen=True)
class JobStarted:
    job_id: str
    container_id: str


@dataclass(frozen=True)
class JobProgress:
    """A stage of the runner's work, as it reported it."""

    job_id: str
    stage: str
    percent: float
    message: str = ""


@dataclass(frozen=True)
class JobSaved:
    """A training job's model is in the user's store and its numbers are known; the plots follow.

    `result` is the runner's result.json as it was when the model was saved (no plots yet).
    The model stays whatever happens to the job afterwards.
    """

    job_id: str
    result: Result
    model: ModelRecord


@dataclass(frozen=True)
class JobFinished:
    """The last event of every job; `JobHandle.result()` has the details."""

    job_id: str
    reason: ExitReason


JobEvent = JobQueued | JobStarted | JobProgress | JobSaved | JobFinished


@dataclass(frozen=True)
class JobOutcome:
    """A job that succeeded: its final record, the runner's result and what it left.

    A training job leaves a model, an ingest job a dataset. `plots` and the predictions live in
    the job's output folder under the user's folder. A training job whose container failed after
    its model was saved (JobSaved) still succeeds, without plots: `plots_failed` says why
    (an ExitReason value), and `result` is the one the model was saved with.
    """

    job: JobRecord
    result: Result
    model: ModelRecord | None = None
    dataset: DatasetRecord | None = None
    plots: list[Path] = field(default_factory=list)
    predictions_csv: Path | None = None
    predictions_parquet: Path | None = None
    plots_failed: str | None = None
