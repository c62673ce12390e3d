"""Job records: creation, the update allowlist, listings for users, admins and restart recovery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from runner.spec import JOB_ID_RE, MODEL_ID_RE
from tables import store_table

from store import ExitReason, JobKind, JobState, Store


def test_create_and_update_a_job(store: Store) -> None:
    dataset = store_table(store, user_id="9", frame=pd.DataFrame({"a": [1], "b": [2]}))
    job_id, model_id = store.new_job_id(), store.new_model_id()
    assert JOB_ID_RE.fullmatch(job_id) and MODEL_ID_RE.fullmatch(model_id)
    spec = {"command": "train", "job_id": job_id, "model_id": model_id, "feature_columns": ["a"]}

    job = store.create_job(
        user_id="9",
        kind=JobKind.TRAIN,
        spec=spec,
        instance_id="ctl-1",
        dataset_id=dataset.dataset_id,
        model_id=model_id,
        job_id=job_id,
    )
    assert (job.job_id, job.kind, job.state, job.spec) == (job_id, JobKind.TRAIN, JobState.QUEUED, spec)
    assert (job.dataset_id, job.model_id, job.instance_id) == (dataset.dataset_id, model_id, "ctl-1")
    assert job.started_at is None and job.result is None and job.exit_reason is None
    assert job.created_at.tzinfo is UTC

    started = datetime.now(UTC)
    running = store.update_job(
        job_id,
        state=JobState.RUNNING,
        started_at=started,
        queue_wait_seconds=0.25,
        container_create_seconds=0.1,
        container_start_seconds=0.05,
        container_id="abc123",
        image_id="sha256:feed",
    )
    assert running.state is JobState.RUNNING and running.started_at == started
    assert (running.container_id, running.queue_wait_seconds) == ("abc123", 0.25)

    done = store.update_job(
        job_id,
        state="succeeded",
        exit_reason=ExitReason.SUCCESS,
        exit_code=0,
        finished_at=started + timedelta(seconds=3),
        run_seconds=3.0,
        peak_memory_mb=181.5,
        log_tail="line 1\nline 2",
        result={"ok": True, "metrics": {"r2": 0.9}},
        user_message=None,
    )
    assert done.state.finished and not JobState.RUNNING.finished
    assert (done.exit_reason, done.exit_code, done.peak_memory_mb) == (ExitReason.SUCCESS, 0, 181.5)
    assert done.result == {"ok": True, "metrics": {"r2": 0.9}}
    assert store.get_job(user_id="9", job_id=job_id) == done


def test_how_a_job_ended_is_final(store: Store) -> None:
    job = store.create_job(user_id="9", kind=JobKind.TRAIN, spec={}, instance_id="i")
    store.update_job(
        job.job_id,
        state=JobState.CANCELLED,
        exit_reason=ExitReason.CANCELLED,
        user_message="The job was cancelled.",
    )
    # A controller that started the container before it saw the cancellation writes late.
    late = store.update_job(job.job_id, state=JobState.RUNNING, container_id="abc", run_seconds=1.5)
    assert (late.state, late.exit_reason) == (JobState.CANCELLED, ExitReason.CANCELLED)
    assert late.user_message == "The job was cancelled."
    assert (late.container_id, late.run_seconds) == ("abc", 1.5)  # facts still land
    again = store.update_job(job.job_id, state=JobState.FAILED, exit_reason=ExitReason.OUT_OF_MEMORY)
    assert (again.state, again.exit_reason) == (JobState.CANCELLED, ExitReason.CANCELLED)


def test_update_refuses_fields_outside_the_allowlist(store: Store) -> None:
    job = store.create_job(user_id="9", kind=JobKind.PREDICT, spec={}, instance_id="i")
    for field in ("user_id", "spec", "job_id", "state; DROP TABLE jobs"):
        with pytest.raises(ValueError, match="cannot set"):
            store.update_job(job.job_id, **{field: "x"})
    with pytest.raises(ValueError):
        store.update_job(job.job_id, state="exploded")
    with pytest.raises(ValueError):
        store.update_job(job.job_id, exit_reason="meh")
    assert store.get_job_admin(job.job_id) == job


def test_listings(store: Store) -> None:
    jobs = [
        store.create_job(user_id=user, kind=JobKind.TRAIN, spec={"n": n}, instance_id="i")
        for n, user in enumerate(["a", "b", "a", "c", "a"])
    ]
    store.update_job(jobs[1].job_id, state=JobState.RUNNING)
    store.update_job(jobs[3].job_id, state=JobState.RUNNING)
    store.update_job(jobs[4].job_id, state=JobState.CANCELLED)
    ids = lambda records: [r.job_id for r in records]  # noqa: E731

    assert ids(store.list_jobs(user_id="a")) == [jobs[4].job_id, jobs[2].job_id, jobs[0].job_id]
    assert ids(store.list_jobs(user_id="a", state=JobState.QUEUED)) == [jobs[2].job_id, jobs[0].job_id]
    assert ids(store.list_jobs(user_id="a", limit=1)) == [jobs[4].job_id]
    assert ids(store.list_jobs(user_id=None)) == ids(reversed(jobs))
    assert ids(store.list_jobs(user_id=None, state=JobState.RUNNING)) == [jobs[3].job_id, jobs[1].job_id]
    assert ids(store.queued_jobs()) == [jobs[0].job_id, jobs[2].job_id]  # oldest first
    assert ids(store.running_jobs()) == [jobs[1].job_id, jobs[3].job_id]


def test_job_folders(store: Store) -> None:
    job = store.create_job(user_id="9", kind=JobKind.TRAIN, spec={}, instance_id="i")
    folder = store.job_dir(job.job_id, "9")
    (folder / "output").mkdir(parents=True)
    (folder / "output" / "result.json").write_text("{}")
    (folder.parent / "not-a-job").mkdir()

    assert store.list_job_dirs() == [("9", job.job_id)]
    store.remove_job_dir(job.job_id, "9")
    assert not folder.exists() and store.list_job_dirs() == []
    store.remove_job_dir(job.job_id, "9")  # already gone: fine
