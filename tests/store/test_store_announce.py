"""Restart news: which interrupted jobs still have to be told to their chat."""

from __future__ import annotations

from store import ExitReason, JobKind, JobRecord, JobState, Store


def _job(store: Store, user_id: str, *, chat_id: str | None, state: JobState | None = None) -> JobRecord:
    job = store.create_job(user_id=user_id, kind=JobKind.TRAIN, spec={}, instance_id="ctl-old", chat_id=chat_id)
    if state is not None:
        reason = ExitReason.INTERRUPTED if state is JobState.INTERRUPTED else ExitReason.CRASHED
        job = store.update_job(job.job_id, state=state, exit_reason=reason)
    return job


def test_interrupted_jobs_are_listed_until_announced(store: Store) -> None:
    first = _job(store, "1", chat_id="100", state=JobState.INTERRUPTED)
    unknown_chat = _job(store, "2", chat_id=None, state=JobState.INTERRUPTED)
    second = _job(store, "1", chat_id="-200", state=JobState.INTERRUPTED)
    # Neither interrupted nor unannounced: not news.
    _job(store, "1", chat_id="100")
    _job(store, "1", chat_id="100", state=JobState.RUNNING)
    _job(store, "1", chat_id="100", state=JobState.FAILED)
    told = _job(store, "3", chat_id="300", state=JobState.INTERRUPTED)
    store.update_job(told.job_id, announced=True)

    news = store.unannounced_interrupted_jobs()
    assert [j.job_id for j in news] == [first.job_id, unknown_chat.job_id, second.job_id]
    assert [(j.chat_id, j.announced) for j in news] == [("100", False), (None, False), ("-200", False)]

    # Announcing is allowed once how the job ended is final, and changes nothing else.
    marked = store.update_job(first.job_id, announced=True)
    assert marked.announced and marked.state is JobState.INTERRUPTED
    assert marked.exit_reason is ExitReason.INTERRUPTED
    assert [j.job_id for j in store.unannounced_interrupted_jobs()] == [unknown_chat.job_id, second.job_id]


def test_no_news_without_interrupted_jobs(store: Store) -> None:
    _job(store, "1", chat_id="100", state=JobState.CANCELLED)
    assert store.unannounced_interrupted_jobs() == []
