"""The store's records and states: frozen dataclasses and `str` enums."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from errors import ExitReason
from runner.spec import ColumnKind, ColumnSummary, DataFormat, DatasetSummary, JobKind

__all__ = [
    "ColumnKind",
    "ColumnSummary",
    "DataFormat",
    "DatasetRecord",
    "DatasetSummary",
    "ExitReason",
    "JobKind",
    "JobRecord",
    "JobState",
    "ModelRecord",
]


class JobState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        """True for the states a job never leaves."""
        return self not in (JobState.QUEUED, JobState.RUNNING)


@dataclass(frozen=True)
class DatasetRecord:
    """A table a user uploaded, stored as Parquet (see `Store.dataset_path`)."""

    dataset_id: str
    user_id: str
    filename: str  # the name of the first upload of this content
    file_format: DataFormat
    content_sha256: str  # of the stored Parquet bytes
    size_bytes: int  # of the stored Parquet file
    summary: DatasetSummary
    created_at: datetime
    # True when this upload's content was already stored and this is the earlier record.
    already_stored: bool = False


@dataclass(frozen=True)
class JobRecord:
    """One job: its request, its state and what it cost. Timings are in seconds."""

    job_id: str
    user_id: str
    kind: JobKind
    state: JobState
    spec: dict[str, Any]
    dataset_id: str | None
    # A training job's model to be, or the model a prediction job uses.
    model_id: str | None
    instance_id: str  # the controller instance that accepted the job
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    queue_wait_seconds: float | None
    container_create_seconds: float | None
    container_start_seconds: float | None
    run_seconds: float | None
    peak_memory_mb: float | None
    container_id: str | None
    image_id: str | None
    exit_reason: ExitReason | None
    exit_code: int | None
    error_code: str | None
    user_message: str | None
    log_tail: str | None
    result: dict[str, Any] | None
    chat_id: str | None = None  # the chat the job answers in
    announced: bool = False  # a restart's news about the job reached its chat
    output_bytes: int = 0  # what a succeeded job keeps (plots, predictions) until they expire
    runtime: str | None = None  # the container runtime it ran under (runc, runsc)


@dataclass(frozen=True)
class ModelRecord:
    """A trained model in the user's folder (see `Store.model_dir`).

    `metric_name`/`metric_value` are the main test metric (r2 for regression, accuracy for
    classification) when the runner reported it. `metadata` is the runner's metadata.json,
    loaded by `Store.get_model` and `Store.install_model`; `Store.list_models` leaves it None.
    """

    model_id: str
    user_id: str
    job_id: str
    model_type: str
    task_type: str
    target_column: str
    feature_columns: tuple[str, ...]
    metric_name: str | None
    metric_value: float | None
    size_bytes: int
    created_at: datetime
    # Never changes after install, so a listed record equals the loaded one.
    metadata: dict[str, Any] | None = field(default=None, compare=False)
