"""Per-user quotas on tables and storage (tables + models + kept job output), and freeing space."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from tables import store_table

from config import load_settings
from errors import InputError, NotFoundError, QuotaError
from store import DatasetRecord, JobKind, JobState, Store, human_size

USER = "777"
MB = 1024 * 1024


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    """A store whose users may keep 2 tables, 3 models and 1 MB in all."""
    settings = load_settings(
        env={},
        overrides={
            "data_dir": str(data_dir),
            "quotas": {"max_datasets_per_user": 2, "max_models_per_user": 3, "max_storage_mb": 1},
        },
    )
    with Store.from_settings(settings) as opened:
        yield opened


def _table(store: Store, seed: int, *, user_id: str = USER) -> DatasetRecord:
    return store_table(store, user_id=user_id, frame=pd.DataFrame({"x": range(seed, seed + 5)}))


def _kept_output(store: Store, user_id: str, size: int) -> None:
    """A succeeded job of the user that keeps `size` bytes of plots and predictions."""
    job = store.create_job(user_id=user_id, kind=JobKind.TRAIN, spec={}, instance_id="ctl-test")
    store.update_job(job.job_id, state=JobState.SUCCEEDED, output_bytes=size)


def test_a_user_keeps_a_limited_number_of_tables(store: Store) -> None:
    first, second = _table(store, 1), _table(store, 2)

    with pytest.raises(QuotaError) as full:
        store.check_dataset_quota(user_id=USER)
    assert full.value.user_message == (
        "You have 2 tables, the most an account can keep. /datasets lists them; /dataset delete ID removes one."
    )
    with pytest.raises(QuotaError):
        _table(store, 3)
    assert store.list_datasets(user_id=USER) == [second, first]
    store.check_dataset_quota(user_id="other")  # each user counts their own

    store.delete_dataset(user_id=USER, dataset_id=first.dataset_id)
    store.check_dataset_quota(user_id=USER)


def test_storage_counts_tables_models_and_kept_job_output(store: Store, install_model) -> None:
    table = _table(store, 1)
    model = install_model(USER, payload=200_000)
    _kept_output(store, USER, 300_000)
    used = table.size_bytes + model.size_bytes + 300_000
    room = MB - used

    store.check_storage(user_id=USER, adding_bytes=room)  # exactly full is allowed
    with pytest.raises(QuotaError) as full:
        store.check_storage(user_id=USER, adding_bytes=room + 1)
    assert full.value.user_message == (
        f"Your storage is full: you use {human_size(used)} of your 1 MB and this needs "
        f"{human_size(room + 1)} more. Free space by deleting tables (/datasets lists them; "
        "/dataset delete ID removes one) or models (/models lists them; /delete ID removes one)."
    )
    store.check_storage(user_id="other", adding_bytes=MB)

    store.delete_model(user_id=USER, model_id=model.model_id)
    store.check_storage(user_id=USER, adding_bytes=room + model.size_bytes)


def test_a_model_is_not_installed_past_the_storage_quota(
    store: Store, train_job, model_folder, install_model
) -> None:
    _kept_output(store, USER, MB - 5_000)
    job = train_job(USER)
    source, metadata = model_folder(job.model_id, payload=10_000)

    with pytest.raises(QuotaError) as full:
        store.install_model(
            user_id=USER, model_id=job.model_id, job_id=job.job_id, source_dir=source, metadata=metadata
        )
    assert full.value.user_message.startswith("Your storage is full: you use 1019.1 KB of your 1 MB")
    assert store.list_models(user_id=USER) == []
    models = store.user_dir(USER) / "models"
    assert not models.exists() or not list(models.iterdir())  # nothing was copied
    assert install_model("other", payload=10_000).size_bytes > 10_000


def test_deleting_a_table_frees_it_unless_a_live_job_uses_it(store: Store) -> None:
    used, current = _table(store, 1), _table(store, 2)
    job = store.create_job(
        user_id=USER, kind=JobKind.TRAIN, spec={}, instance_id="ctl-test", dataset_id=used.dataset_id
    )

    for state in (JobState.QUEUED, JobState.RUNNING):
        store.update_job(job.job_id, state=state)
        with pytest.raises(InputError) as refused:
            store.delete_dataset(user_id=USER, dataset_id=used.dataset_id)
        assert refused.value.user_message == (
            f"Table {used.dataset_id} is in use by a job that has not finished. "
            "Delete it once the job is done (/jobs shows your jobs)."
        )
        assert store.dataset_path(used).is_file()

    store.update_job(job.job_id, state=JobState.SUCCEEDED)
    store.delete_dataset(user_id=USER, dataset_id=used.dataset_id)
    assert not store.dataset_path(used).exists()
    assert store.current_dataset(user_id=USER) == current

    with pytest.raises(NotFoundError):  # another user's table is not found, in use or not
        store.delete_dataset(user_id="other", dataset_id=current.dataset_id)
    store.delete_dataset(user_id=USER, dataset_id=current.dataset_id)
    assert store.current_dataset(user_id=USER) is None
    assert store.list_datasets(user_id=USER) == []
