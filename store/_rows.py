"""SQLite rows to records, and the timestamp format of the database."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

from store._records import (
    DataFormat,
    DatasetRecord,
    DatasetSummary,
    ExitReason,
    JobKind,
    JobRecord,
    JobState,
    ModelRecord,
)


def now() -> datetime:
    return datetime.now(UTC)


def timestamp(when: datetime) -> str:
    # Fixed width, so text order is time order in SQL.
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def dataset_record(row: sqlite3.Row, *, already_stored: bool = False) -> DatasetRecord:
    return DatasetRecord(
        dataset_id=row["dataset_id"],
        user_id=row["user_id"],
        filename=row["filename"],
        file_format=DataFormat(row["file_format"]),
        content_sha256=row["content_sha256"],
        size_bytes=row["size_bytes"],
        summary=DatasetSummary.model_validate_json(row["summary"]),
        created_at=moment(row["created_at"]),
        already_stored=already_stored,
    )


def job_record(row: sqlite3.Row) -> JobRecord:
    return JobRecord(
        job_id=row["job_id"],
        user_id=row["user_id"],
        kind=JobKind(row["kind"]),
        state=JobState(row["state"]),
        spec=json.loads(row["spec"]),
        dataset_id=row["dataset_id"],
        model_id=row["model_id"],
        instance_id=row["instance_id"],
        created_at=moment(row["created_at"]),
        started_at=moment(row["started_at"]),
        finished_at=moment(row["finished_at"]),
        queue_wait_seconds=row["queue_wait_seconds"],
        container_create_seconds=row["container_create_seconds"],
        container_start_seconds=row["container_start_seconds"],
        run_seconds=row["run_seconds"],
        peak_memory_mb=row["peak_memory_mb"],
        container_id=row["container_id"],
        image_id=row["image_id"],
        exit_reason=None if row["exit_reason"] is None else ExitReason(row["exit_reason"]),
        exit_code=row["exit_code"],
        error_code=row["error_code"],
        user_message=row["user_message"],
        log_tail=row["log_tail"],
        result=None if row["result"] is None else json.loads(row["result"]),
        chat_id=row["chat_id"],
        announced=bool(row["announced"]),
        output_bytes=row["output_bytes"],
        runtime=row["runtime"],
    )


def model_record(row: sqlite3.Row) -> ModelRecord:
    return ModelRecord(
        model_id=row["model_id"],
        user_id=row["user_id"],
        job_id=row["job_id"],
        model_type=row["model_type"],
        task_type=row["task_type"],
        target_column=row["target_column"],
        feature_columns=tuple(json.loads(row["feature_columns"])),
        metric_name=row["metric_name"],
        metric_value=row["metric_value"],
        size_bytes=row["size_bytes"],
        created_at=moment(row["created_at"]),
        metadata=json.loads(row["metadata"]) if "metadata" in row.keys() else None,
    )
