"""The SQLite database: one connection behind a lock, WAL, schema migrations by `user_version`."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from errors import ConfigError

BUSY_TIMEOUT_SECONDS = 10.0

# Ordered migration steps; step N (1-based) brings `PRAGMA user_version` from N-1 to N.
# Append new steps, never edit released ones. No CHECK constraints on enum columns:
# SQLite cannot drop them without rebuilding the table; the code validates instead.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE users (
            user_id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            current_dataset_id TEXT REFERENCES datasets(dataset_id) ON DELETE SET NULL
        )""",
        """CREATE TABLE datasets (
            dataset_id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(user_id),
            filename TEXT NOT NULL,
            file_format TEXT NOT NULL,
            content_sha256 TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            summary TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (user_id, content_sha256)
        )""",
        """CREATE TABLE jobs (
            job_id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(user_id),
            kind TEXT NOT NULL,
            state TEXT NOT NULL,
            spec TEXT NOT NULL,
            dataset_id TEXT REFERENCES datasets(dataset_id) ON DELETE SET NULL,
            model_id TEXT,
            instance_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT,
            queue_wait_seconds REAL,
            container_create_seconds REAL,
            container_start_seconds REAL,
            run_seconds REAL,
            peak_memory_mb REAL,
            container_id TEXT,
            image_id TEXT,
            exit_reason TEXT,
            exit_code INTEGER,
            error_code TEXT,
            user_message TEXT,
            log_tail TEXT,
            result TEXT
        )""",
        "CREATE INDEX jobs_by_user ON jobs(user_id, created_at)",
        "CREATE INDEX jobs_by_state ON jobs(state, created_at)",
        "CREATE INDEX jobs_by_model ON jobs(model_id)",
        """CREATE TABLE models (
            model_id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(user_id),
            job_id TEXT NOT NULL REFERENCES jobs(job_id),
            model_type TEXT NOT NULL,
            task_type TEXT NOT NULL,
            target_column TEXT NOT NULL,
            feature_columns TEXT NOT NULL,
            metric_name TEXT,
            metric_value REAL,
            metadata TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX models_by_user ON models(user_id, created_at)",
    ),
    (
        # The chat a job answers in (its result, or the news that a restart ended it), and
        # whether a restart's news reached that chat.
        "ALTER TABLE jobs ADD COLUMN chat_id TEXT",
        "ALTER TABLE jobs ADD COLUMN announced INTEGER NOT NULL DEFAULT 0",
        # Bytes a succeeded job keeps (plots, predictions) until they expire; 0 once removed.
        "ALTER TABLE jobs ADD COLUMN output_bytes INTEGER NOT NULL DEFAULT 0",
        # The container runtime the job ran under (runc, runsc).
        "ALTER TABLE jobs ADD COLUMN runtime TEXT",
        # LLM tokens per user and UTC day, for the daily budget.
        """CREATE TABLE token_usage (
            user_id TEXT NOT NULL,
            day TEXT NOT NULL,
            tokens INTEGER NOT NULL,
            PRIMARY KEY (user_id, day)
        )""",
    ),
)


class Database:
    """One connection shared by all threads; every use holds the lock.

    `transaction()` also takes SQLite's write lock (BEGIN IMMEDIATE), so it serializes
    against other processes using the same file (the admin CLI, say).
    """

    def __init__(self, path: Path, *, migrations: Sequence[Sequence[str]] = MIGRATIONS) -> None:
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            path,
            timeout=BUSY_TIMEOUT_SECONDS,  # SQLite's busy timeout: waits for another writer
            isolation_level=None,  # autocommit; transactions are explicit
            check_same_thread=False,
        )
        self._conn.row_factory = sqlite3.Row
        try:
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise ConfigError(f"{path}: SQLite would not switch to WAL (journal mode {mode})")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA synchronous = FULL")
            self._migrate(migrations)
        except BaseException:
            self._conn.close()
            raise

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection for plain reads (each statement sees a consistent snapshot)."""
        with self._lock:
            yield self._conn

    def schema_version(self) -> int:
        with self.reading() as conn:
            return conn.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _migrate(self, migrations: Sequence[Sequence[str]]) -> None:
        # One step per transaction, re-reading the version inside it: two processes starting
        # at once on an old file apply each step once.
        while True:
            with self.transaction() as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > len(migrations):
                    raise ConfigError(
                        f"the database has schema version {version}, newer than this StatAgent "
                        f"knows ({len(migrations)}); run a newer StatAgent or use another data_dir"
                    )
                if version == len(migrations):
                    return
                for statement in migrations[version]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version + 1}")
