"""After a restart nobody is left waiting: the bot, polling the fake Bot API server, answers the
job a stopped service kept queued in its chat, and tells the chat whose job it stopped."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fake_server import FakeTelegramServer

from config import Settings
from errors import JobInterrupted
from controller import TrainRequest, build_spec
from controller._execute import failure_fields
from store import JobKind, JobRecord, JobState, Store

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="session")]

JOB_TIMEOUT = 180


def houses_csv(rows: int) -> bytes:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"age": rng.integers(1, 60, rows), "size": rng.uniform(20, 200, rows).round(1)})
    frame["price"] = (3 * frame["age"] + 2 * frame["size"] + rng.normal(0, 1, rows)).round(2)
    return frame.to_csv(index=False).encode()


def queued_training(store: Store, settings: Settings, *, user_id: str, chat_id: str) -> JobRecord:
    """A training the stopped service had accepted but not started, recorded as `Controller.submit` does."""
    dataset = store.current_dataset(user_id=user_id)
    assert dataset is not None
    task = TrainRequest(
        user_id=user_id,
        model_type="linear",
        dataset_id=dataset.dataset_id,
        target_column="price",
        conversation_id=chat_id,
    )
    job_id, model_id = store.new_job_id(), store.new_model_id()
    spec = build_spec(task, ml=settings.ml_engine, job_id=job_id, model_id=model_id)
    return store.create_job(
        user_id=user_id,
        kind=JobKind.TRAIN,
        spec=spec.model_dump(mode="json"),
        instance_id="ctl-stopped",
        dataset_id=dataset.dataset_id,
        model_id=model_id,
        job_id=job_id,
        chat_id=chat_id,
    )


def interrupted_training(store: Store, *, user_id: str, chat_id: str) -> JobRecord:
    """A training the stopped service was running, as the next controller marks it."""
    spec: dict[str, Any] = {"command": "train", "model_type": "random_forest", "target_column": "price"}
    job = store.create_job(user_id=user_id, kind=JobKind.TRAIN, spec=spec, instance_id="ctl-stopped", chat_id=chat_id)
    error = JobInterrupted("its controller stopped while the job ran", job_id=job.job_id)
    return store.update_job(job.job_id, **failure_fields(error))


async def test_after_a_restart_the_kept_job_answers_and_the_stopped_one_is_announced(
    fake_telegram: FakeTelegramServer,
    start_bot: Callable[..., AbstractAsyncContextManager[None]],
    bot_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    settings = bot_settings(fake_telegram, data_dir)
    alice, bob = fake_telegram.user(3001, "Alice"), fake_telegram.user(3002, "Bob")

    # Before the restart: Alice sent her table; then the service stopped with her training
    # still waiting, Bob's training running, and a terminal chat's training running too.
    async with start_bot(fake_telegram, data_dir):
        alice.upload("houses.csv", houses_csv(60))
        await alice.expect("sendMessage", "📋 houses.csv: 60 rows", timeout=JOB_TIMEOUT)
    with Store.from_settings(settings) as store:
        kept = queued_training(store, settings, user_id="3001", chat_id="3001")
        stopped = interrupted_training(store, user_id="3002", chat_id="3002")
        terminals = interrupted_training(store, user_id="3003", chat_id="terminal")

    async with start_bot(fake_telegram, data_dir):
        news = await bob.expect("sendMessage", "The service restarted")
        assert news.text == (
            f"⚠️ The service restarted while your job {stopped.job_id} (Random Forest → price) was running, "
            "so it was stopped. Nothing was saved; send the request again."
        )

        status = await alice.expect("sendMessage", f"Kept through a restart as {kept.job_id}")
        assert status.text.startswith("🚀 Linear Regression → price")
        result = await alice.expect("sendMessage", "Model Training Complete", timeout=JOB_TIMEOUT)
        assert kept.model_id in result.text
        photo = await alice.expect("sendPhoto")
        assert photo.file.data.startswith(b"\x89PNG")
        # The status message was finished before the result was sent.
        edits = [c for c in alice.calls("editMessageText") if c.message_id == status.message_id]
        assert edits and "✅ Done" in edits[-1].text

    assert len(bob.calls()) == 1
    assert {c.chat_id for c in fake_telegram.calls} <= {None, alice.chat_id, bob.chat_id}
    with Store.from_settings(settings) as store:
        assert store.get_job(user_id="3001", job_id=kept.job_id).state == JobState.SUCCEEDED
        assert store.get_job(user_id="3002", job_id=stopped.job_id).announced
        # The terminal's chat is not Telegram's to tell: it is left for the terminal.
        assert [j.job_id for j in store.unannounced_interrupted_jobs()] == [terminals.job_id]
