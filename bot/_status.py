"""One status message per job, edited as the job moves, at most once per interval."""

from __future__ import annotations

import asyncio
import time

from bot._messages import MessageRef, Sink, Text
from config.log import get_logger

log = get_logger(__name__)


class StatusMessage:
    """Edits one sent message; skips unchanged text and batches edits that come too fast.

    Telegram rate-limits edits, so `update` never edits more often than `interval` seconds:
    a text that arrives too soon is shown when the interval has passed (the newest one wins).
    `finish` shows the last text at once.
    """

    def __init__(self, sink: Sink, ref: MessageRef, text: str, *, interval: float) -> None:
        self._sink = sink
        self._ref = ref
        self._shown = text
        self._wanted = text
        self._interval = interval
        self._last_edit = time.monotonic()
        self._flusher: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, sink: Sink, text: str, *, interval: float) -> StatusMessage:
        """Send the first status text and return the message that follows the job."""
        ref = await sink.send(Text(text))
        return cls(sink, ref, text, interval=interval)

    async def update(self, text: str) -> None:
        self._wanted = text
        if text == self._shown or self._flusher is not None:
            return
        wait = self._last_edit + self._interval - time.monotonic()
        if wait <= 0:
            await self._edit()
        else:
            self._flusher = asyncio.create_task(self._edit_later(wait))

    async def finish(self, text: str) -> None:
        self._wanted = text
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        await self._edit()

    async def _edit_later(self, wait: float) -> None:
        await asyncio.sleep(wait)
        self._flusher = None
        await self._edit()

    async def _edit(self) -> None:
        if self._wanted == self._shown:
            return
        text = self._wanted
        try:
            await self._sink.edit(self._ref, text)
        except Exception:
            # A lost status edit must not lose the job's result; the next edit retries.
            log.warning("status_edit_failed", exc_info=True)
            return
        finally:
            self._last_edit = time.monotonic()
        self._shown = text
