"""Models: atomic install, records, quotas, deletion, and what a crash leaves behind."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import pytest

from errors import QuotaError, StatAgentError
from store import Store

USER = "555"


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_install_copies_the_folder_and_records_it(store: Store, install_model) -> None:
    regression = install_model(USER)
    classifier = install_model(USER, task_type="classification")

    assert (regression.metric_name, regression.metric_value) == ("r2", 0.81)
    assert (classifier.metric_name, classifier.metric_value) == ("accuracy", 0.9)
    assert regression.model_type == "random_forest" and regression.target_column == "price"
    assert regression.feature_columns == ("age", "size m²")
    assert regression.metadata["hyperparameters"] == {"n_estimators": 100}
    assert regression.size_bytes == sum(
        f.stat().st_size for f in store.model_dir(regression).rglob("*") if f.is_file()
    )
    folder = store.model_dir(regression)
    assert listing(folder) == ["metadata.json", "model.skops", "plots"]
    assert json.loads((folder / "metadata.json").read_text())["model_id"] == regression.model_id
    assert listing(folder / "plots") == ["residuals.png"]
    assert store.list_models(user_id=USER) == [classifier, regression]  # newest first
    assert store.get_model(user_id=USER, model_id=regression.model_id) == regression
    assert store.get_job(user_id=USER, job_id=regression.job_id).model_id == regression.model_id
    assert listing(folder.parent) == sorted([regression.model_id, classifier.model_id])  # no .tmp-* left


def test_delete_model_removes_folder_and_record(store: Store, install_model) -> None:
    model = install_model(USER)
    store.delete_model(user_id=USER, model_id=model.model_id)
    assert store.list_models(user_id=USER) == []
    assert listing(store.model_dir(model).parent) == []


def test_model_count_quota(store: Store, install_model, train_job, model_folder) -> None:
    kept = [install_model(USER) for _ in range(3)]  # the fixture's quota is 3
    expected = "You have 3 models, the most an account can keep. Delete one with /delete ID first."

    with pytest.raises(QuotaError) as before_training:
        store.check_model_quota(user_id=USER)
    assert before_training.value.user_message == expected
    job = train_job(USER)
    source, metadata = model_folder(job.model_id)
    with pytest.raises(QuotaError) as at_install:
        store.install_model(user_id=USER, model_id=job.model_id, job_id=job.job_id, source_dir=source, metadata=metadata)
    assert at_install.value.user_message == expected
    store.check_model_quota(user_id="other")  # per user

    store.delete_model(user_id=USER, model_id=kept[0].model_id)
    store.check_model_quota(user_id=USER)
    store.install_model(user_id=USER, model_id=job.model_id, job_id=job.job_id, source_dir=source, metadata=metadata)
    assert len(store.list_models(user_id=USER)) == 3


def test_model_size_quota(store: Store, install_model, data_dir: Path) -> None:
    with pytest.raises(QuotaError) as caught:
        install_model(USER, payload=1536 * 1024)  # the fixture's limit is 1 MB
    assert caught.value.user_message.startswith("This model is 1.5 MB; a model may take at most 1 MB.")
    assert store.list_models(user_id=USER) == []
    assert not (data_dir / "users" / USER / "models").exists() or listing(data_dir / "users" / USER / "models") == []


def test_links_in_a_job_output_are_refused(store: Store, train_job, model_folder, data_dir: Path) -> None:
    secret = data_dir.parent / "secret.txt"
    secret.write_text("another user's data")
    job = train_job(USER)
    source, metadata = model_folder(job.model_id)
    os.symlink(secret, source / "plots" / "leak.png")

    with pytest.raises(StatAgentError, match="neither a file nor a folder"):
        store.install_model(user_id=USER, model_id=job.model_id, job_id=job.job_id, source_dir=source, metadata=metadata)
    assert store.list_models(user_id=USER) == []


def test_failed_insert_removes_the_installed_folder(store: Store, train_job, model_folder) -> None:
    job = train_job(USER)
    source, metadata = model_folder(job.model_id)
    with sqlite3.connect(store.db_path) as conn:  # a real SQLite failure at the insert
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON models BEGIN SELECT RAISE(ABORT, 'disk full'); END")

    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        store.install_model(user_id=USER, model_id=job.model_id, job_id=job.job_id, source_dir=source, metadata=metadata)
    assert listing(store.user_dir(USER) / "models") == []


def test_installing_the_same_model_twice_keeps_the_first(store: Store, install_model, model_folder) -> None:
    model = install_model(USER)
    source, metadata = model_folder(model.model_id, task_type="classification")
    with pytest.raises(StatAgentError, match="already installed"):
        store.install_model(user_id=USER, model_id=model.model_id, job_id=model.job_id, source_dir=source, metadata=metadata)
    assert store.get_model(user_id=USER, model_id=model.model_id) == model
    assert listing(store.model_dir(model).parent) == [model.model_id]


def test_crash_leftovers_are_invisible_and_swept(store: Store, install_model) -> None:
    kept = install_model(USER)
    models = store.model_dir(kept).parent
    # What a crash can leave: a half-copied model, a half-written table, and a folder renamed
    # into place whose record was never inserted.
    half = models / ".tmp-0123456789abcdef"
    (half / "plots").mkdir(parents=True)
    (half / "model.skops").write_bytes(b"half")
    datasets = store.user_dir(USER) / "datasets"
    datasets.mkdir()
    (datasets / ".tmp-feedfacecafebeef").write_bytes(b"PAR1")
    orphan = models / "model_deadbeef"
    orphan.mkdir()
    (orphan / "metadata.json").write_text("{}")

    assert store.list_models(user_id=USER) == [kept]
    with pytest.raises(Exception, match="not found"):
        store.get_model(user_id=USER, model_id="model_deadbeef")

    # A younger leftover may be another process's write in progress: kept with min_age.
    assert store.sweep_temp(min_age_seconds=3600) == [orphan]
    old = time.time() - 7200
    for path in (half, datasets / ".tmp-feedfacecafebeef"):
        os.utime(path, (old, old))
    assert sorted(store.sweep_temp(min_age_seconds=3600)) == sorted([half, datasets / ".tmp-feedfacecafebeef"])
    assert listing(models) == [kept.model_id] and listing(datasets) == []
    assert store.sweep_temp() == []
    assert store.get_model(user_id=USER, model_id=kept.model_id) == kept


def test_sweep_spares_this_process_writes_in_progress(store: Store, data_dir: Path) -> None:
    parent = data_dir / "users" / USER / "models"
    parent.mkdir(parents=True)
    with store._staged(parent) as staged:  # noqa: SLF001 - an install paused mid-copy
        staged.mkdir()
        assert store.sweep_temp() == []
        assert staged.exists()
    assert not staged.exists()


def test_a_linked_or_missing_model_folder_is_refused(store: Store, train_job, model_folder, tmp_path: Path) -> None:
    job = train_job(USER)
    source, metadata = model_folder(job.model_id)
    link = tmp_path / "link"
    os.symlink(source, link)
    for folder, problem in ((link, "is not a folder"), (tmp_path / "missing", "No such file")):
        with pytest.raises((StatAgentError, OSError), match=problem):
            store.install_model(user_id=USER, model_id=job.model_id, job_id=job.job_id, source_dir=folder, metadata=metadata)
    assert store.list_models(user_id=USER) == []
