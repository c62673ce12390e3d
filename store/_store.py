"""The Store: records in SQLite, files under DATA_DIR/users/<user_id>/, ownership on every access."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import Any

from config import QuotaSettings, Settings
from errors import ConfigError, InputError, QuotaError, StatAgentError
from runner.spec import TaskType
from store import _files
from store._db import Database
from store._ids import (
    DATASET_ID_RE,
    JOB_ID_RE,
    MODEL_ID_RE,
    USER_ID_RE,
    check_dataset_id,
    check_job_id,
    check_model_id,
    check_user_id,
    dataset_not_found,
    job_not_found,
    model_not_found,
    random_dataset_id,
    random_job_id,
    random_model_id,
)
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
from store._rows import dataset_record, job_record, model_record, now, timestamp

DB_FILE = "statagent.db"
_MB = 1024 * 1024


# update_job's allowlist: column -> how a value is stored.
_JOB_FIELDS: dict[str, Callable[[Any], Any]] = {
    "state": lambda v: JobState(v).value,
    "started_at": timestamp,
    "finished_at": timestamp,
    "queue_wait_seconds": float,
    "container_create_seconds": float,
    "container_start_seconds": float,
    "run_seconds": float,
    "peak_memory_mb": float,
    "container_id": str,
    "image_id": str,
    "instance_id": str,
    "exit_reason": lambda v: ExitReason(v).value,
    "exit_code": int,
    "error_code": str,
    "user_message": str,
    "log_tail": str,
    "result": json.dumps,
    "announced": int,
    "output_bytes": int,
    "runtime": str,
}
# How a job ended; once it has, later writes leave these alone.
_FINAL_JOB_FIELDS = frozenset({"state", "exit_reason", "error_code", "user_message", "finished_at"})
# The states of a job that has not finished (see JobState.finished).
_LIVE_STATES = (JobState.QUEUED.value, JobState.RUNNING.value)
# What /models shows: every column but the metadata, which can be large.
_MODEL_LIST_COLUMNS = (
    "model_id, user_id, job_id, model_type, task_type, target_column, feature_columns,"
    " metric_name, metric_value, size_bytes, created_at"
)


class Store:
    """Users' datasets, jobs and models: SQLite records plus files, safe to share between threads.

    Every user-facing read or delete takes the user id and finds only that user's things; a
    missing id and another user's id raise the very same NotFoundError. Methods taking
    `user_id=None` or named `*_admin` are for the controller and admin commands only.
    """

    def __init__(self, *, data_dir: Path, quotas: QuotaSettings) -> None:
        self.data_dir = Path(data_dir)
        self.db_path = self.data_dir / DB_FILE
        self._users_root = self.data_dir / "users"
        self._quotas = quotas
        self._staging: set[Path] = set()
        self._staging_lock = threading.Lock()
        try:
            self._users_root.mkdir(parents=True, exist_ok=True)
            self._db = Database(self.db_path)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot use the data directory {self.data_dir}: {exc}") from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        return cls(data_dir=settings.data_dir, quotas=settings.quotas)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ paths

    def user_dir(self, user_id: str) -> Path:
        return self._users_root / check_user_id(user_id)

    def dataset_path(self, record: DatasetRecord) -> Path:
        return self.user_dir(record.user_id) / "datasets" / f"{check_dataset_id(record.dataset_id)}.parquet"

    def job_dir(self, job_id: str, user_id: str) -> Path:
        """The job's folder (the caller creates it and its input/ and output/)."""
        return self.user_dir(user_id) / "jobs" / check_job_id(job_id)

    def model_dir(self, record: ModelRecord) -> Path:
        return self.user_dir(record.user_id) / "models" / check_model_id(record.model_id)

    # ------------------------------------------------------------ datasets

    def add_dataset(
        self,
        *,
        user_id: str,
        filename: str,
        file_format: DataFormat,
        source: Path,
        summary: DatasetSummary,
    ) -> DatasetRecord:
        """Keep the table an ingest job wrote at `source` (Parquet) and make it the user's current table.

        The same content (the same Parquet bytes, so the same table sent as CSV or as .xlsx too)
        is stored once per user: a repeat returns the earlier record with `already_stored=True`.
        Raises QuotaError when the user's tables or storage are full.
        """
        check_user_id(user_id)
        parent = self.user_dir(user_id) / "datasets"
        parent.mkdir(parents=True, exist_ok=True)
        with self._staged(parent) as staged:
            sha256, size = _files.copy_file(source, staged)
            with self._db.reading() as conn:
                known = conn.execute(
                    "SELECT 1 FROM datasets WHERE user_id = ? AND content_sha256 = ?", (user_id, sha256)
                ).fetchone()
            if known is None:
                self.check_dataset_quota(user_id=user_id)
                self.check_storage(user_id=user_id, adding_bytes=size)
            with self._db.transaction() as conn:
                self._ensure_user(conn, user_id)
                row = conn.execute(
                    "SELECT * FROM datasets WHERE user_id = ? AND content_sha256 = ?", (user_id, sha256)
                ).fetchone()
                already_stored = row is not None
                if not already_stored:
                    dataset_id = self._unused_id(conn, random_dataset_id, ("datasets", "dataset_id"))
                    _publish(
                        conn,
                        staged,
                        parent / f"{dataset_id}.parquet",
                        "INSERT INTO datasets (dataset_id, user_id, filename, file_format,"
                        " content_sha256, size_bytes, summary, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            dataset_id,
                            user_id,
                            PurePath(filename).name[:255] or "upload",
                            DataFormat(file_format).value,
                            sha256,
                            size,
                            summary.model_dump_json(),
                            timestamp(now()),
                        ),
                    )
                    row = conn.execute("SELECT * FROM datasets WHERE dataset_id = ?", (dataset_id,)).fetchone()
                conn.execute(
                    "UPDATE users SET current_dataset_id = ? WHERE user_id = ?", (row["dataset_id"], user_id)
                )
        return dataset_record(row, already_stored=already_stored)

    def get_dataset(self, *, user_id: str, dataset_id: str) -> DatasetRecord:
        check_user_id(user_id)
        check_dataset_id(dataset_id)
        with self._db.reading() as conn:
            row = conn.execute(
                "SELECT * FROM datasets WHERE dataset_id = ? AND user_id = ?", (dataset_id, user_id)
            ).fetchone()
        if row is None:
            raise dataset_not_found(dataset_id)
        return dataset_record(row)

    def list_datasets(self, *, user_id: str) -> list[DatasetRecord]:
        """The user's tables, newest first."""
        check_user_id(user_id)
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT * FROM datasets WHERE user_id = ? ORDER BY created_at DESC, rowid DESC", (user_id,)
            ).fetchall()
        return [dataset_record(row) for row in rows]

    def current_dataset(self, *, user_id: str) -> DatasetRecord | None:
        """The table the user uploaded last (None before their first upload)."""
        check_user_id(user_id)
        with self._db.reading() as conn:
            row = conn.execute(
                "SELECT d.* FROM users u JOIN datasets d ON d.dataset_id = u.current_dataset_id"
                " WHERE u.user_id = ?",
                (user_id,),
            ).fetchone()
        return None if row is None else dataset_record(row)

    def delete_dataset(self, *, user_id: str, dataset_id: str) -> None:
        """Delete the user's table: its record and its file. Deleting the current table leaves none.

        Raises InputError while a queued or running job uses the table.
        """
        record = self.get_dataset(user_id=user_id, dataset_id=dataset_id)
        self._delete(
            self.dataset_path(record),
            "DELETE FROM datasets WHERE dataset_id = ? AND user_id = ?",
            (dataset_id, user_id),
            lambda: dataset_not_found(dataset_id),
            guard=lambda conn: _refuse_if_in_use(conn, dataset_id),
        )

    # ------------------------------------------------------------ jobs

    def new_job_id(self) -> str:
        """A job id no job has."""
        with self._db.reading() as conn:
            return self._unused_id(conn, random_job_id, ("jobs", "job_id"))

    def create_job(
        self,
        *,
        user_id: str,
        kind: JobKind,
        spec: dict[str, Any],
        instance_id: str,
        dataset_id: str | None = None,
        model_id: str | None = None,
        job_id: str | None = None,
        chat_id: str | None = None,
    ) -> JobRecord:
        """Record a queued job. Pass `job_id` (from `new_job_id`) when the spec already names it.

        `model_id` is the model a training job will create, or the model a prediction job
        uses (which must be the user's). `dataset_id` must be the user's. `chat_id` is the
        chat that hears about the job, also after a restart.
        """
        check_user_id(user_id)
        kind = JobKind(kind)
        if dataset_id is not None:
            check_dataset_id(dataset_id)
        if model_id is not None:
            check_model_id(model_id)
        if job_id is not None:
            check_job_id(job_id)
        spec_json = json.dumps(spec)
        with self._db.transaction() as conn:
            self._ensure_user(conn, user_id)
            if dataset_id is not None and not _owned(conn, "datasets", "dataset_id", dataset_id, user_id):
                raise dataset_not_found(dataset_id)
            if (
                kind is JobKind.PREDICT
                and model_id is not None
                and not _owned(conn, "models", "model_id", model_id, user_id)
            ):
                raise model_not_found(model_id)
            job_id = job_id or self._unused_id(conn, random_job_id, ("jobs", "job_id"))
            conn.execute(
                "INSERT INTO jobs (job_id, user_id, kind, state, spec, dataset_id, model_id,"
                " instance_id, created_at, chat_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    user_id,
                    kind.value,
                    JobState.QUEUED.value,
                    spec_json,
                    dataset_id,
                    model_id,
                    instance_id,
                    timestamp(now()),
                    chat_id,
                ),
            )
            return job_record(conn.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone())

    def get_job(self, *, user_id: str, job_id: str) -> JobRecord:
        check_user_id(user_id)
        check_job_id(job_id)
        with self._db.reading() as conn:
            row = conn.execute(
                "SELECT * FROM jobs WHERE job_id = ? AND user_id = ?", (job_id, user_id)
            ).fetchone()
        if row is None:
            raise job_not_found(job_id)
        return job_record(row)

    def get_job_admin(self, job_id: str) -> JobRecord:
        """Any user's job (controller and admin commands)."""
        check_job_id(job_id)
        with self._db.reading() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        if row is None:
            raise job_not_found(job_id)
        return job_record(row)

    def update_job(self, job_id: str, /, **fields: Any) -> JobRecord:
        """Set some of a job's fields (state, timings, resources, outcome); returns the new record.

        Allowed: state, started_at, finished_at, queue_wait_seconds, container_create_seconds,
        container_start_seconds, run_seconds, peak_memory_mb, container_id, image_id,
        instance_id, exit_reason, exit_code, error_code, user_message, log_tail, result (a dict).
        None clears a field. Once a job has finished, how it ended (state, exit reason, message,
        finish time) is final and writes of those fields are ignored.
        """
        check_job_id(job_id)
        unknown = set(fields) - set(_JOB_FIELDS)
        if unknown:
            raise ValueError(f"update_job cannot set {sorted(unknown)}")
        if not fields:
            return self.get_job_admin(job_id)
        with self._db.transaction() as conn:
            current = conn.execute("SELECT state FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if current is None:
                raise job_not_found(job_id)
            if JobState(current[0]).finished:
                # How a job ended is final: a late write (a controller marking it running after
                # an admin cancelled it) must not undo it. Timings and resources still land.
                fields = {k: v for k, v in fields.items() if k not in _FINAL_JOB_FIELDS}
            if fields:
                values = [None if v is None else _JOB_FIELDS[k](v) for k, v in fields.items()]
                assignments = ", ".join(f"{name} = ?" for name in fields)  # allowlisted names only
                conn.execute(f"UPDATE jobs SET {assignments} WHERE job_id = ?", (*values, job_id))
            return job_record(conn.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone())

    def list_jobs(
        self, *, user_id: str | None, state: JobState | None = None, limit: int = 50
    ) -> list[JobRecord]:
        """Jobs newest first: one user's, or everyone's with `user_id=None` (admin)."""
        clauses, params = [], []
        if user_id is not None:
            clauses.append("user_id = ?")
            params.append(check_user_id(user_id))
        if state is not None:
            clauses.append("state = ?")
            params.append(JobState(state).value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._db.reading() as conn:
            rows = conn.execute(
                f"SELECT * FROM jobs{where} ORDER BY created_at DESC, rowid DESC LIMIT ?", (*params, limit)
            ).fetchall()
        return [job_record(row) for row in rows]

    def queued_jobs(self) -> list[JobRecord]:
        """Every user's queued jobs, oldest first (to resume them after a restart)."""
        return self._jobs_in_state(JobState.QUEUED)

    def running_jobs(self) -> list[JobRecord]:
        """Every user's running jobs, oldest first."""
        return self._jobs_in_state(JobState.RUNNING)

    def list_job_dirs(self) -> list[tuple[str, str]]:
        """(user_id, job_id) of every job folder on disk, for garbage collection."""
        found = []
        for user in sorted(self._users_root.iterdir()):
            jobs = user / "jobs"
            if USER_ID_RE.fullmatch(user.name) and jobs.is_dir():
                found += [(user.name, d.name) for d in sorted(jobs.iterdir()) if JOB_ID_RE.fullmatch(d.name)]
        return found

    def remove_job_dir(self, job_id: str, user_id: str) -> None:
        """Remove a job's folder, if it is there."""
        _files.remove(self.job_dir(job_id, user_id))

    # ------------------------------------------------------------ restart news

    def unannounced_interrupted_jobs(self) -> list[JobRecord]:
        """Every user's interrupted jobs whose chat has not been told yet, oldest first.

        Jobs interrupted before jobs knew their chat have no `chat_id`. Once a job's chat has
        been told (or has nobody to tell), mark it: `update_job(job_id, announced=True)`.
        """
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE state = ? AND announced = 0 ORDER BY created_at, rowid",
                (JobState.INTERRUPTED.value,),
            ).fetchall()
        return [job_record(row) for row in rows]

    # ------------------------------------------------------------ models

    def new_model_id(self) -> str:
        """A model id no model and no job has."""
        with self._db.reading() as conn:
            return self._unused_id(conn, random_model_id, ("models", "model_id"), ("jobs", "model_id"))

    def check_model_quota(self, *, user_id: str) -> None:
        """Raise QuotaError when the user cannot keep one more model (call before training)."""
        check_user_id(user_id)
        with self._db.reading() as conn:
            self._check_model_count(conn, user_id)

    def install_model(
        self, *, user_id: str, model_id: str, job_id: str, source_dir: Path, metadata: dict[str, Any]
    ) -> ModelRecord:
        """Copy a finished job's model folder into the user's models, atomically, and record it.

        `metadata` is the runner's metadata.json, already parsed. Raises QuotaError when the
        user has too many models, the folder is over the size quota or the user's storage would
        overflow; the job must be the user's.
        """
        check_user_id(user_id)
        check_model_id(model_id)
        check_job_id(job_id)
        fields = _model_fields(metadata)
        with self._db.reading() as conn:
            if not _owned(conn, "jobs", "job_id", job_id, user_id):  # job rows never change owner
                raise job_not_found(job_id)
            self._check_model_count(conn, user_id)
        size = _files.tree_size(Path(source_dir))
        if size > self._quotas.max_model_size_mb * _MB:
            raise QuotaError(
                f"model folder of {size} bytes",
                user_message=f"This model is {_files.human_size(size)}; a model may take at most "
                f"{self._quotas.max_model_size_mb} MB. Try fewer features or a smaller model "
                "(fewer trees, less depth).",
            )
        self.check_storage(user_id=user_id, adding_bytes=size)
        parent = self.user_dir(user_id) / "models"
        parent.mkdir(parents=True, exist_ok=True)
        with self._staged(parent) as staged:
            _files.copy_tree(Path(source_dir), staged)
            with self._db.transaction() as conn:
                if conn.execute("SELECT 1 FROM models WHERE model_id = ?", (model_id,)).fetchone():
                    raise StatAgentError(f"model {model_id} is already installed")
                self._check_model_count(conn, user_id)
                _publish(
                    conn,
                    staged,
                    parent / model_id,
                    "INSERT INTO models (model_id, user_id, job_id, model_type, task_type,"
                    " target_column, feature_columns, metric_name, metric_value, metadata,"
                    " size_bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        model_id,
                        user_id,
                        job_id,
                        fields["model_type"],
                        fields["task_type"],
                        fields["target_column"],
                        json.dumps(fields["feature_columns"]),
                        fields["metric_name"],
                        fields["metric_value"],
                        json.dumps(metadata),
                        size,
                        timestamp(now()),
                    ),
                )
                return model_record(conn.execute("SELECT * FROM models WHERE model_id = ?", (model_id,)).fetchone())

    def get_model(self, *, user_id: str, model_id: str) -> ModelRecord:
        check_user_id(user_id)
        check_model_id(model_id)
        with self._db.reading() as conn:
            row = conn.execute(
                "SELECT * FROM models WHERE model_id = ? AND user_id = ?", (model_id, user_id)
            ).fetchone()
        if row is None:
            raise model_not_found(model_id)
        return model_record(row)

    def list_models(self, *, user_id: str) -> list[ModelRecord]:
        """The user's models, newest first, without their metadata (`get_model` has it)."""
        check_user_id(user_id)
        with self._db.reading() as conn:
            rows = conn.execute(
                f"SELECT {_MODEL_LIST_COLUMNS} FROM models WHERE user_id = ?"
                " ORDER BY created_at DESC, rowid DESC",
                (user_id,),
            ).fetchall()
        return [model_record(row) for row in rows]

    def delete_model(self, *, user_id: str, model_id: str) -> None:
        """Delete the user's model: its record and its folder."""
        record = self.get_model(user_id=user_id, model_id=model_id)
        self._delete(
            self.model_dir(record),
            "DELETE FROM models WHERE model_id = ? AND user_id = ?",
            (model_id, user_id),
            lambda: model_not_found(model_id),
        )

    # ------------------------------------------------------------ quotas

    def check_dataset_quota(self, *, user_id: str) -> None:
        """Raise QuotaError when the user cannot keep one more table (call before storing one)."""
        check_user_id(user_id)
        with self._db.reading() as conn:
            count = conn.execute("SELECT COUNT(*) FROM datasets WHERE user_id = ?", (user_id,)).fetchone()[0]
        if count >= self._quotas.max_datasets_per_user:
            raise QuotaError(
                f"user {user_id} has {count} datasets",
                user_message=f"You have {count} tables, the most an account can keep. "
                "/datasets lists them; /dataset delete ID removes one.",
            )

    def check_storage(self, *, user_id: str, adding_bytes: int) -> None:
        """Raise QuotaError when `adding_bytes` more would take the user past their storage quota.

        A user's storage is their tables, their models and what their jobs keep (plots, predictions).
        """
        check_user_id(user_id)
        with self._db.reading() as conn:
            used = conn.execute(
                "SELECT (SELECT COALESCE(SUM(size_bytes), 0) FROM datasets WHERE user_id = ?)"
                " + (SELECT COALESCE(SUM(size_bytes), 0) FROM models WHERE user_id = ?)"
                " + (SELECT COALESCE(SUM(output_bytes), 0) FROM jobs WHERE user_id = ?)",
                (user_id, user_id, user_id),
            ).fetchone()[0]
        quota_mb = self._quotas.max_storage_mb
        if used + adding_bytes > quota_mb * _MB:
            raise QuotaError(
                f"user {user_id} uses {used} bytes of {quota_mb} MB and needs {adding_bytes} more",
                user_message=f"Your storage is full: you use {_files.human_size(used)} of your "
                f"{quota_mb} MB and this needs {_files.human_size(adding_bytes)} more. Free space by "
                "deleting tables (/datasets lists them; /dataset delete ID removes one) or models "
                "(/models lists them; /delete ID removes one).",
            )

    # ------------------------------------------------------------ retention

    def expired_outputs(self, *, finished_before: datetime) -> list[JobRecord]:
        """Every user's jobs that finished before `finished_before` and still keep output, oldest first.

        Keeping output means bytes on record or a folder on disk (jobs older than `output_bytes`
        recorded none).
        """
        on_disk = [job_id for _, job_id in self.list_job_dirs()]
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE state NOT IN (?, ?) AND finished_at < ?"
                " AND (output_bytes > 0 OR job_id IN (SELECT value FROM json_each(?)))"
                " ORDER BY finished_at, rowid",
                (*_LIVE_STATES, timestamp(finished_before), json.dumps(on_disk)),
            ).fetchall()
        return [job_record(row) for row in rows]

    def expire_job_output(self, job_id: str, user_id: str) -> None:
        """Remove a finished job's folder (its plots and predictions) and record that it keeps nothing.

        Raises StatAgentError for a queued or running job: a live job's output is never removed.
        """
        check_user_id(user_id)
        check_job_id(job_id)
        with self._db.transaction() as conn:
            updated = conn.execute(
                "UPDATE jobs SET output_bytes = 0 WHERE job_id = ? AND user_id = ? AND state NOT IN (?, ?)",
                (job_id, user_id, *_LIVE_STATES),
            ).rowcount
        if not updated:
            raise StatAgentError(f"job {job_id} of user {user_id} is not a finished job; its output stays")
        # After the commit: a crash in between leaves a folder that the next round finds on disk.
        self.remove_job_dir(job_id, user_id)

    # ------------------------------------------------------------ LLM tokens

    def tokens_used_today(self, *, user_id: str, day: date | None = None) -> int:
        """The language-model tokens spent for the user on `day` (default: today, UTC)."""
        check_user_id(user_id)
        with self._db.reading() as conn:
            row = conn.execute(
                "SELECT tokens FROM token_usage WHERE user_id = ? AND day = ?", (user_id, self._usage_day(day))
            ).fetchone()
        return 0 if row is None else row[0]

    def add_tokens(self, *, user_id: str, tokens: int, day: date | None = None) -> int:
        """Count `tokens` more for the user on `day` (default: today, UTC); returns the day's total."""
        check_user_id(user_id)
        if tokens < 0:
            raise ValueError(f"tokens must not be negative, got {tokens}")
        key = (user_id, self._usage_day(day))
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO token_usage (user_id, day, tokens) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id, day) DO UPDATE SET tokens = tokens + excluded.tokens",
                (*key, tokens),
            )
            return conn.execute("SELECT tokens FROM token_usage WHERE user_id = ? AND day = ?", key).fetchone()[0]

    @staticmethod
    def _usage_day(day: date | None) -> str:
        return (day or now().date()).isoformat()  # now() is in UTC

    # ------------------------------------------------------------ maintenance

    def sweep_temp(self, *, min_age_seconds: float = 0.0) -> list[Path]:
        """Remove what an interrupted write left behind; returns the removed paths.

        That is `.tmp-*` entries (except this process's writes in progress) older than
        `min_age_seconds`, and dataset files or model folders no record points to. Another
        process's writes in progress look like leftovers: from a process that may run beside
        the service (an admin command), pass a `min_age_seconds` of an hour or so.
        """
        removed: list[Path] = []
        cutoff = time.time() - min_age_seconds
        with self._staging_lock:
            busy = set(self._staging)
        users = [u for u in sorted(self._users_root.iterdir()) if USER_ID_RE.fullmatch(u.name)]
        for user in users:
            for kind in ("datasets", "models"):
                folder = user / kind
                for entry in sorted(folder.iterdir()) if folder.is_dir() else ():
                    if (
                        entry.name.startswith(_files.TEMP_PREFIX)
                        and entry not in busy
                        and entry.lstat().st_mtime <= cutoff
                    ):
                        _files.remove(entry)
                        removed.append(entry)
        # Under the write lock: an install is never between its rename and its insert here.
        with self._db.transaction() as conn:
            datasets = {r[0] for r in conn.execute("SELECT dataset_id FROM datasets")}
            models = {r[0] for r in conn.execute("SELECT model_id FROM models")}
            for user in users:
                for entry in _entries(user / "datasets"):
                    if DATASET_ID_RE.fullmatch(entry.stem) and entry.suffix == ".parquet" and entry.stem not in datasets:
                        _files.remove(entry)
                        removed.append(entry)
                for entry in _entries(user / "models"):
                    if MODEL_ID_RE.fullmatch(entry.name) and entry.name not in models:
                        _files.remove(entry)
                        removed.append(entry)
        return removed

    # ------------------------------------------------------------ internals

    @contextmanager
    def _staged(self, parent: Path) -> Iterator[Path]:
        """A fresh `.tmp-*` name in `parent`, removed on the way out unless it was committed."""
        path = _files.temp_name(parent)
        with self._staging_lock:
            self._staging.add(path)
        try:
            yield path
        finally:
            _files.remove(path)
            with self._staging_lock:
                self._staging.discard(path)

    def _delete(
        self,
        path: Path,
        sql: str,
        params: tuple[str, str],
        not_found: Callable[[], Exception],
        *,
        guard: Callable[[sqlite3.Connection], None] | None = None,
    ) -> None:
        # Renamed out of sight in the same transaction as the row goes; removed after.
        # `guard` may refuse the deletion (by raising) under the same write lock.
        with self._staged(path.parent) as grave:
            with self._db.transaction() as conn:
                if guard is not None:
                    guard(conn)
                if conn.execute(sql, params).rowcount == 0:
                    raise not_found()
                if path.exists():
                    os.rename(path, grave)

    def _check_model_count(self, conn: sqlite3.Connection, user_id: str) -> None:
        count = conn.execute("SELECT COUNT(*) FROM models WHERE user_id = ?", (user_id,)).fetchone()[0]
        if count >= self._quotas.max_models_per_user:
            raise QuotaError(
                f"user {user_id} has {count} models",
                user_message=f"You have {count} models, the most an account can keep. "
                "Delete one with /delete ID first.",
            )

    def _jobs_in_state(self, state: JobState) -> list[JobRecord]:
        with self._db.reading() as conn:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE state = ? ORDER BY created_at, rowid", (state.value,)
            ).fetchall()
        return [job_record(row) for row in rows]

    @staticmethod
    def _ensure_user(conn: sqlite3.Connection, user_id: str) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO users (user_id, created_at) VALUES (?, ?)", (user_id, timestamp(now()))
        )

    @staticmethod
    def _unused_id(
        conn: sqlite3.Connection, make: Callable[[], str], *columns: tuple[str, str]
    ) -> str:
        while True:
            candidate = make()
            if not any(
                conn.execute(f"SELECT 1 FROM {table} WHERE {column} = ?", (candidate,)).fetchone()
                for table, column in columns
            ):
                return candidate


def _publish(conn: sqlite3.Connection, staged: Path, final: Path, sql: str, params: tuple[Any, ...]) -> None:
    """Rename a staged entry into place and insert its row; a failed insert takes it away again."""
    _files.commit(staged, final)
    try:
        conn.execute(sql, params)
    except BaseException:
        _files.remove(final)
        raise


def _owned(conn: sqlite3.Connection, table: str, column: str, value: str, user_id: str) -> bool:
    row = conn.execute(f"SELECT 1 FROM {table} WHERE {column} = ? AND user_id = ?", (value, user_id))
    return row.fetchone() is not None


def _refuse_if_in_use(conn: sqlite3.Connection, dataset_id: str) -> None:
    in_use = conn.execute(
        "SELECT 1 FROM jobs WHERE dataset_id = ? AND state IN (?, ?)", (dataset_id, *_LIVE_STATES)
    ).fetchone()
    if in_use:
        raise InputError(
            f"dataset {dataset_id} is used by a live job",
            user_message=f"Table {dataset_id} is in use by a job that has not finished. "
            "Delete it once the job is done (/jobs shows your jobs).",
        )


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _model_fields(metadata: dict[str, Any]) -> dict[str, Any]:
    try:
        task_type = str(metadata["task_type"])
        fields = {
            "model_type": str(metadata["model_type"]),
            "task_type": task_type,
            "target_column": str(metadata["target_column"]),
            "feature_columns": [str(c) for c in metadata["feature_columns"]],
        }
    except (KeyError, TypeError) as exc:
        raise StatAgentError(f"model metadata lacks a usable {exc}") from exc
    metric = "r2" if task_type == TaskType.REGRESSION.value else "accuracy"
    test = (metadata.get("metrics") or {}).get("test") or {}
    value = test.get(metric) if isinstance(test, dict) else None
    usable = isinstance(value, int | float) and not isinstance(value, bool)
    return fields | {"metric_name": metric if usable else None, "metric_value": float(value) if usable else None}
