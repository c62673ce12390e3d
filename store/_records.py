"""The store's records and states: frozen dataclasses and `str` enums."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from enum import Enum
from typing import Any


class JobKind(str, Enum):
    TRAIN = "train"
    PREDICT = "predict"


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


class ExitReason(str, Enum):
    SUCCESS = "success"
    BAD_INPUT = "bad_input"
    TRAINING_FAILED = "training_failed"
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out_of_memory"
    OUTPUT_OVER_QUOTA = "output_over_quota"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    CRASHED = "crashed"


class ColumnKind(str, Enum):
    """What a column holds, as a user would say it."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    TEXT = "text"


class DataFormat(str, Enum):
    """The format an upload was read as (the stored copy is always Parquet)."""

    CSV = "csv"
    XLSX = "xlsx"
    PARQUET = "parquet"


@dataclass(frozen=True)
class ColumnSummary:
    name: str
    kind: ColumnKind
    dtype: str  # the pandas dtype of the stored column
    missing: int
    distinct: int  # distinct non-missing values
    examples: tuple[str, ...]  # a few distinct values, as text


@dataclass(frozen=True)
class DatasetSummary:
    """What the chat shows about a table. `notes` says what was changed or left out while reading."""

    rows: int
    columns: tuple[ColumnSummary, ...]
    notes: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def to_json_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json_dict(cls, raw: dict[str, Any]) -> DatasetSummary:
        return cls(
            rows=raw["rows"],
            columns=tuple(
                ColumnSummary(
                    name=c["name"],
                    kind=ColumnKind(c["kind"]),
                    dtype=c["dtype"],
                    missing=c["missing"],
                    distinct=c["distinct"],
                    examples=tuple(c["examples"]),
                )
                for c in raw["columns"]
            ),
            notes=tuple(raw["notes"]),
        )


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


@dataclass(frozen=True)
class ModelRecord:
    """A trained model in the user's folder (see `Store.model_dir`).

    `metadata` is the runner's metadata.json; `metric_name`/`metric_value` are the main test
    metric (r2 for regression, accuracy for classification) when the runner reported it.
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
    metadata: dict[str, Any]
    size_bytes: int
    created_at: datetime
