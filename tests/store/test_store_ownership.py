"""A user reaches only their own things; ids are checked before they touch a path."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tables import store_table

from errors import InputError, NotFoundError
from store import JobKind, Store

ALICE, BOB = "111", "222"

TRAVERSALS = [
    "../x",
    "model_../../etc",
    "model_0123abcd/../../../etc/passwd",
    "/etc/passwd",
    "..",
    "",
    "model_0123abcd\n",
    "MODEL_0123ABCD",
    "model_0123abc",
    "ds_0123456789ab/../x",
    "job_0123456789ab/..",
    "x" * 5000,
]


def message(call) -> str:
    with pytest.raises(NotFoundError) as caught:
        call()
    return caught.value.user_message


def test_other_users_model_looks_missing(store: Store, install_model) -> None:
    model = install_model(ALICE)

    as_bob = message(lambda: store.get_model(user_id=BOB, model_id=model.model_id))
    assert message(lambda: store.delete_model(user_id=BOB, model_id=model.model_id)) == as_bob
    assert store.list_models(user_id=BOB) == []
    assert store.get_model(user_id=ALICE, model_id=model.model_id) == model
    assert store.model_dir(model).is_dir()

    # Bob cannot run a prediction with it or claim its job either.
    with pytest.raises(NotFoundError) as caught:
        store.create_job(user_id=BOB, kind=JobKind.PREDICT, spec={}, instance_id="i", model_id=model.model_id)
    assert caught.value.user_message == as_bob

    store.delete_model(user_id=ALICE, model_id=model.model_id)
    missing = message(lambda: store.get_model(user_id=BOB, model_id=model.model_id))
    assert as_bob == missing == f"Model '{model.model_id}' not found. Use /models to see your available models."
    assert message(lambda: store.get_model(user_id=ALICE, model_id=model.model_id)) == missing


def test_other_users_dataset_looks_missing(store: Store) -> None:
    dataset = store_table(store, user_id=ALICE, frame=pd.DataFrame({"a": [1], "b": [2]}))

    as_bob = message(lambda: store.get_dataset(user_id=BOB, dataset_id=dataset.dataset_id))
    assert message(lambda: store.delete_dataset(user_id=BOB, dataset_id=dataset.dataset_id)) == as_bob
    with pytest.raises(NotFoundError) as caught:
        store.create_job(user_id=BOB, kind=JobKind.TRAIN, spec={}, instance_id="i", dataset_id=dataset.dataset_id)
    assert caught.value.user_message == as_bob
    assert store.list_datasets(user_id=BOB) == [] and store.current_dataset(user_id=BOB) is None
    assert store.dataset_path(dataset).is_file()

    store.delete_dataset(user_id=ALICE, dataset_id=dataset.dataset_id)
    assert not store.dataset_path(dataset).exists()
    assert message(lambda: store.get_dataset(user_id=BOB, dataset_id=dataset.dataset_id)) == as_bob


def test_other_users_job_looks_missing(store: Store, train_job, model_folder) -> None:
    job = train_job(ALICE)
    source, metadata = model_folder(job.model_id)

    as_bob = message(lambda: store.get_job(user_id=BOB, job_id=job.job_id))
    assert store.list_jobs(user_id=BOB) == []
    assert store.get_job(user_id=ALICE, job_id=job.job_id) == job
    assert store.get_job_admin(job.job_id) == job
    assert [j.job_id for j in store.list_jobs(user_id=None)] == [job.job_id]
    with pytest.raises(NotFoundError) as caught:
        store.install_model(
            user_id=BOB, model_id=job.model_id, job_id=job.job_id, source_dir=source, metadata=metadata
        )
    assert caught.value.user_message == as_bob
    assert store.list_models(user_id=BOB) == [] and store.list_models(user_id=ALICE) == []
    never = store.new_job_id()
    assert message(lambda: store.get_job(user_id=BOB, job_id=never)) == as_bob.replace(job.job_id, never)


@pytest.mark.parametrize("bad_id", TRAVERSALS)
def test_malformed_ids_are_not_found(store: Store, data_dir: Path, bad_id: str) -> None:
    before = sorted(data_dir.rglob("*"))
    for call in (
        lambda: store.get_model(user_id=ALICE, model_id=bad_id),
        lambda: store.delete_model(user_id=ALICE, model_id=bad_id),
        lambda: store.get_dataset(user_id=ALICE, dataset_id=bad_id),
        lambda: store.delete_dataset(user_id=ALICE, dataset_id=bad_id),
        lambda: store.get_job(user_id=ALICE, job_id=bad_id),
        lambda: store.get_job_admin(bad_id),
        lambda: store.job_dir(bad_id, ALICE),
        lambda: store.remove_job_dir(bad_id, ALICE),
        lambda: store.update_job(bad_id, state="failed"),
    ):
        text = message(call)
        assert "not found" in text and "\n" not in text and len(text) < 200
    assert sorted(data_dir.rglob("*")) == before


@pytest.mark.parametrize("bad_user", ["../111", "111/..", "", ".", "a b", "x" * 65, "ünï", "111\n", "/", "*"])
def test_malformed_user_ids_are_refused(store: Store, data_dir: Path, bad_user: str) -> None:
    for call in (
        lambda: store.user_dir(bad_user),
        lambda: store.list_models(user_id=bad_user),
        lambda: store.list_jobs(user_id=bad_user),
        lambda: store_table(store, user_id=bad_user, frame=pd.DataFrame({"a": [1]})),
        lambda: store.create_job(user_id=bad_user, kind=JobKind.TRAIN, spec={}, instance_id="i"),
        lambda: store.job_dir(store.new_job_id(), bad_user),
    ):
        with pytest.raises(InputError) as caught:
            call()
        assert type(caught.value) is InputError
        assert caught.value.user_message == "That user id is not valid: use 1 to 64 letters, digits, '_' or '-'."
    assert not (data_dir / "users").exists() or list((data_dir / "users").iterdir()) == []


def test_paths_stay_in_the_users_folder(store: Store, data_dir: Path, install_model) -> None:
    model = install_model(ALICE)
    job_id = store.new_job_id()
    assert store.user_dir("tg_42-x") == data_dir / "users" / "tg_42-x"
    assert store.job_dir(job_id, ALICE) == data_dir / "users" / ALICE / "jobs" / job_id
    assert store.model_dir(model) == data_dir / "users" / ALICE / "models" / model.model_id
