"""The job status message: edited as the job moves, never faster than the interval."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from chatkit import RecordingSink

from bot._messages import MessageRef
from bot._status import StatusMessage


@dataclass
class WatchedSink(RecordingSink):
    """A RecordingSink that can be waited on until it holds a number of edits."""

    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def edit(self, ref: MessageRef, text: str) -> None:
        await super().edit(ref, text)
        async with self.changed:
            self.changed.notify_all()

    async def edited(self, count: int) -> list[tuple[int, str]]:
        """The edits once there are at least `count` of them."""
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: len(self.edits) >= count), timeout=10)
        return list(self.edits)


async def test_unchanged_text_is_not_edited_and_fast_updates_are_batched():
    sink = WatchedSink()
    status = await StatusMessage.open(sink, "queued", interval=0.2)
    await status.update("queued")
    assert sink.edits == []

    # The first change comes before the interval has passed: it waits, and only the newest shows.
    await status.update("running 10%")
    await status.update("running 20%")
    await status.update("running 30%")
    assert sink.edits == []
    assert await sink.edited(1) == [(1, "running 30%")]

    await status.finish("done")
    assert sink.edits == [(1, "running 30%"), (1, "done")]
    # A later status batched the same way is edited after anything the first one still had waiting.
    later = await StatusMessage.open(sink, "queued", interval=0.2)
    await later.update("running")
    assert await sink.edited(3) == [(1, "running 30%"), (1, "done"), (2, "running")]


async def test_finish_edits_at_once_and_drops_a_waiting_edit(sink):
    status = await StatusMessage.open(sink, "queued", interval=5)
    await status.update("running")
    await status.finish("done")
    assert sink.edits == [(1, "done")]


async def test_a_failed_edit_does_not_stop_the_job_messages(sink):
    class FlakySink(type(sink)):
        async def edit(self, ref, text):
            self.edits.append((ref.message_id, text))
            raise ConnectionError("telegram is away")

    flaky = FlakySink()
    status = await StatusMessage.open(flaky, "queued", interval=0)
    await status.update("running")
    await status.finish("done")  # tried again: the failed edit did not count as shown
    assert flaky.edits == [(1, "running"), (1, "done")]
