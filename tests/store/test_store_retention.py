"""Finished jobs' output (plots, predictions) expires after `retention.output_days`; live jobs' never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from errors import StatAgentError
from controller._reconcile import expire_outputs
from store import JobKind, JobRecord, JobState, Store

USER = "4242"
DAYS = 7


def _job(store: Store, **fields) -> JobRecord:
    """A job of USER with an output folder like a finished prediction's, then `fields` set."""
    job = store.create_job(user_id=USER, kind=JobKind.TRAIN, spec={}, instance_id="ctl-test")
    output = store.job_dir(job.job_id, USER) / "output"
    (output / "plots").mkdir(parents=True)
    (output / "plots" / "residuals.png").write_bytes(b"\x89PNG" + b"\x00" * 96)
    (output / "predictions.csv").write_text("x,prediction\n1,2\n")
    return store.update_job(job.job_id, **fields)


def _ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def _folder(store: Store, job: JobRecord) -> Path:
    return store.job_dir(job.job_id, job.user_id)


def test_the_reconcile_round_removes_expired_output_only(store: Store) -> None:
    expired = _job(store, state=JobState.SUCCEEDED, finished_at=_ago(DAYS + 1), output_bytes=118)
    # Finished before jobs recorded their output's size: found by its folder.
    unrecorded = _job(store, state=JobState.SUCCEEDED, finished_at=_ago(DAYS + 2))
    recent = _job(store, state=JobState.SUCCEEDED, finished_at=_ago(DAYS - 1), output_bytes=118)
    queued = _job(store)
    running = _job(store, state=JobState.RUNNING, started_at=_ago(DAYS + 5))

    removed = expire_outputs(store, days=DAYS)

    assert [job.job_id for job in removed] == [unrecorded.job_id, expired.job_id]  # oldest first
    for job in (expired, unrecorded):
        assert not _folder(store, job).exists()
        assert store.get_job_admin(job.job_id).output_bytes == 0
        assert store.get_job_admin(job.job_id).state == JobState.SUCCEEDED  # the record stays
    for job in (recent, queued, running):
        assert (_folder(store, job) / "output" / "predictions.csv").is_file()
    assert store.get_job_admin(recent.job_id).output_bytes == 118
    assert expire_outputs(store, days=DAYS) == []  # nothing left to do on the next round


def test_a_live_jobs_output_is_never_removed(store: Store) -> None:
    running = _job(store, state=JobState.RUNNING, started_at=_ago(DAYS * 3))
    with pytest.raises(StatAgentError):
        store.expire_job_output(running.job_id, USER)
    assert (_folder(store, running) / "output" / "predictions.csv").is_file()

    finished = _job(store, state=JobState.FAILED, finished_at=_ago(DAYS + 1))
    with pytest.raises(StatAgentError):  # the owner is part of the folder's path: it must match
        store.expire_job_output(finished.job_id, "someone-else")
    assert _folder(store, finished).exists()
