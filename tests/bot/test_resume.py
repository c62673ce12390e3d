"""After a restart, the dialogue tells each chat about its job the restart stopped, once.

No job runs here: the jobs were stopped by a "previous controller" (rows written as the
controller writes them); the dialogue's own controller is never started, except by the
terminal chat.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from chatkit import RecordingSink
from job_settings import settings_for

from bot import Dialogue, MessageRef, Reply, Text
from bot.terminal import CHAT_ID, run_chat
from errors import JobInterrupted
from controller._execute import failure_fields
from store import JobKind, JobRecord, Store





def interrupted(idle_store: Store, user_id: str, chat_id: str | None, kind: JobKind, spec: dict[str, Any]) -> JobRecord:
    """A job its controller was running when the service stopped, as the next controller marks it."""
    job = idle_store.create_job(user_id=user_id, kind=kind, spec=spec, instance_id="ctl-previous", chat_id=chat_id)
    error = JobInterrupted("its controller stopped while the job ran", job_id=job.job_id)
    return idle_store.update_job(job.job_id, **failure_fields(error))


class BrokenSink(RecordingSink):
    """A chat that cannot be reached right now (Telegram down, say)."""

    async def send(self, reply: Reply) -> MessageRef:
        raise ConnectionError("unreachable")


async def test_each_chat_hears_once_about_its_interrupted_job(idle_dialogue: Dialogue, idle_store: Store) -> None:
    training = interrupted(
        idle_store, "anna", "chat-anna", JobKind.TRAIN, {"model_type": "random_forest", "target_column": "price"}
    )
    upload = interrupted(idle_store, "ben", "chat-ben", JobKind.INGEST, {"filename": "sales.csv"})
    anna, ben = RecordingSink("chat-anna"), RecordingSink("chat-ben")
    chats = {"chat-anna": anna, "chat-ben": ben}

    await idle_dialogue.resume(lambda job: chats.get(job.chat_id or ""))
    assert anna.sent == [
        Text(
            f"⚠️ The service restarted while your job {training.job_id} (Random Forest → price) was running, "
            "so it was stopped. Nothing was saved; send the request again."
        )
    ]
    assert ben.texts() == [
        f"⚠️ The service restarted while your job {upload.job_id} (reading sales.csv) was running, "
        "so it was stopped. Nothing was saved; send the file again."
    ]
    assert idle_store.get_job(user_id="anna", job_id=training.job_id).announced

    # The next start (or a second call) tells nobody again.
    await idle_dialogue.resume(lambda job: chats.get(job.chat_id or ""))
    assert (len(anna.sent), len(ben.sent)) == (1, 1)
    assert idle_store.unannounced_interrupted_jobs() == []


async def test_jobs_from_before_chats_were_known_are_passed_over(idle_dialogue: Dialogue, idle_store: Store) -> None:
    old = interrupted(idle_store, "cleo", None, JobKind.TRAIN, {})
    asked: list[str] = []

    def sink_for(job: JobRecord) -> RecordingSink:
        asked.append(job.job_id)
        return RecordingSink()

    await idle_dialogue.resume(sink_for)
    assert asked == []
    assert idle_store.get_job(user_id="cleo", job_id=old.job_id).announced


async def test_a_chat_not_reached_now_hears_at_a_later_start(idle_dialogue: Dialogue, idle_store: Store) -> None:
    terminal = interrupted(idle_store, "dan", "terminal", JobKind.TRAIN, {"model_type": "linear", "target_column": "y"})
    down = interrupted(idle_store, "eve", "chat-eve", JobKind.TRAIN, {"model_type": "linear", "target_column": "y"})

    # This transport does not reach the terminal's chat, and Eve's chat fails: nobody is marked told.
    await idle_dialogue.resume(lambda job: BrokenSink() if job.chat_id == "chat-eve" else None)
    assert [j.job_id for j in idle_store.unannounced_interrupted_jobs()] == [terminal.job_id, down.job_id]

    eve = RecordingSink("chat-eve")
    await idle_dialogue.resume(lambda job: eve if job.chat_id == "chat-eve" else None)
    assert len(eve.texts()) == 1 and down.job_id in eve.last.text
    assert [j.job_id for j in idle_store.unannounced_interrupted_jobs()] == [terminal.job_id]


@pytest.mark.docker
async def test_the_terminal_chat_tells_its_own_user_only(runner_image: str, tmp_path: Path) -> None:
    chat_settings = settings_for(tmp_path / "data", runner_image)
    spec = {"model_type": "linear", "target_column": "price"}
    with Store.from_settings(chat_settings) as opened:
        mine = interrupted(opened, "fay", CHAT_ID, JobKind.TRAIN, spec)
        another_user = interrupted(opened, "gus", CHAT_ID, JobKind.TRAIN, spec)
        in_telegram = interrupted(opened, "fay", "4001", JobKind.TRAIN, spec)

    out = io.StringIO()
    code = await run_chat(
        chat_settings, user_id="fay", data=None, out_dir=tmp_path / "out", stdin=io.StringIO("quit\n"), stdout=out
    )
    assert code == 0
    assert f"while your job {mine.job_id} (Linear Regression → price) was running" in out.getvalue()
    assert another_user.job_id not in out.getvalue() and in_telegram.job_id not in out.getvalue()
    with Store.from_settings(chat_settings) as opened:
        assert [j.job_id for j in opened.unannounced_interrupted_jobs()] == [another_user.job_id, in_telegram.job_id]


async def test_an_interrupted_plot_is_named_in_the_news(idle_dialogue: Dialogue, idle_store: Store) -> None:
    plot = interrupted(
        idle_store, "cleo", "chat-cleo", JobKind.EXPLORE,
        {"what": "plot", "plot": "scatter", "columns": ["size", "price"]},
    )
    cleo = RecordingSink("chat-cleo")
    await idle_dialogue.resume(lambda job: cleo)
    assert cleo.texts() == [
        f"⚠️ The service restarted while your job {plot.job_id} (scatter plot: price against size) was running, "
        "so it was stopped. Nothing was saved; ask again."
    ]
