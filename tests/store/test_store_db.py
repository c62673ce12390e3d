"""The SQLite file: schema creation, migrations of an existing file, settings, threads."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from config import load_settings
from tables import store_table

from errors import ConfigError
from store import JobKind, JobState, Store
from store._db import MIGRATIONS, Database


def pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_fresh_database(store: Store, data_dir: Path) -> None:
    assert store.db_path == data_dir / "statagent.db"
    assert tables(store.db_path) >= {"users", "datasets", "jobs", "models"}
    assert pragma(store.db_path, "user_version") == len(MIGRATIONS)
    assert pragma(store.db_path, "journal_mode") == "wal"


def test_foreign_keys_are_enforced(store: Store) -> None:
    dataset = store_table(store, user_id="7", frame=pd.DataFrame({"a": [1], "b": [2]}))
    job = store.create_job(
        user_id="7", kind=JobKind.TRAIN, spec={}, instance_id="i", dataset_id=dataset.dataset_id
    )
    store.update_job(job.job_id, state=JobState.SUCCEEDED)  # a live job's table cannot be deleted
    store.delete_dataset(user_id="7", dataset_id=dataset.dataset_id)
    # ON DELETE SET NULL only acts with foreign keys on.
    assert store.get_job(user_id="7", job_id=job.job_id).dataset_id is None
    assert store.current_dataset(user_id="7") is None


def test_existing_database_is_migrated_and_keeps_its_rows(data_dir: Path) -> None:
    settings = load_settings(overrides={"data_dir": str(data_dir)})
    with Store.from_settings(settings) as store:
        job = store.create_job(user_id="7", kind=JobKind.PREDICT, spec={"x": 1}, instance_id="i")

    # A later release appends a step: opening the old file applies only that step.
    newer = (*MIGRATIONS, ("ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0",))
    Database(data_dir / "statagent.db", migrations=newer).close()
    assert pragma(data_dir / "statagent.db", "user_version") == len(MIGRATIONS) + 1
    with sqlite3.connect(data_dir / "statagent.db") as conn:
        assert conn.execute("SELECT job_id, priority FROM jobs").fetchall() == [(job.job_id, 0)]

    # Opening it again with the newer steps changes nothing; an older release refuses it.
    Database(data_dir / "statagent.db", migrations=newer).close()
    with pytest.raises(ConfigError, match="newer than this StatAgent knows"):
        Store.from_settings(settings)


def test_reopened_store_sees_everything(data_dir: Path) -> None:
    settings = load_settings(overrides={"data_dir": str(data_dir)})
    with Store.from_settings(settings) as store:
        job = store.create_job(user_id="7", kind=JobKind.TRAIN, spec={"a": [1, 2]}, instance_id="i")
    with Store.from_settings(settings) as store:
        assert store.get_job(user_id="7", job_id=job.job_id) == job
        assert store.queued_jobs() == [job]


def test_threads_share_one_store(store: Store) -> None:
    def work(n: int) -> str:
        job = store.create_job(user_id=f"u{n % 4}", kind=JobKind.TRAIN, spec={"n": n}, instance_id="i")
        store.update_job(job.job_id, state=JobState.RUNNING)
        store.update_job(job.job_id, state=JobState.SUCCEEDED, run_seconds=n)
        store.list_jobs(user_id=f"u{n % 4}")
        return job.job_id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(work, range(80)))

    assert len(set(ids)) == 80
    done = store.list_jobs(user_id=None, state=JobState.SUCCEEDED, limit=1000)
    assert sorted(j.job_id for j in done) == sorted(ids)


def test_an_unusable_data_directory_is_a_config_error_naming_it(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    settings = load_settings(env={}, overrides={"data_dir": str(not_a_folder / "data")})
    with pytest.raises(ConfigError, match="cannot use the data directory .*file/data"):
        Store.from_settings(settings)
