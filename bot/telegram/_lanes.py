"""One lane per user: their updates are handled one after another, users side by side."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable

from config.log import get_logger

__all__ = ["Lanes"]

log = get_logger(__name__)


class Lanes:
    """Runs work in background tasks, in submission order per key, concurrently across keys.

    The dispatcher only submits and returns at once, so a slow download or a long
    conversation step of one user never delays another user's answer.
    """

    def __init__(self) -> None:
        self._tails: dict[Hashable, asyncio.Task[None]] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._closed = False

    def submit(self, key: Hashable, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work()` after everything submitted earlier under `key` has finished."""
        if self._closed:
            log.info("lane_closed_dropping_update", key=str(key))
            return
        task = asyncio.create_task(self._run(self._tails.get(key), work))
        self._tails[key] = task
        self._running.add(task)
        task.add_done_callback(lambda done: self._forget(key, done))

    async def close(self, *, timeout: float) -> None:
        """Accept nothing more; let running work finish for `timeout` seconds, then cancel it."""
        self._closed = True
        if not self._running:
            return
        _, late = await asyncio.wait(set(self._running), timeout=timeout)
        for task in late:
            task.cancel()
        if late:
            log.warning("lanes_cancelled_on_shutdown", count=len(late))
            await asyncio.wait(late)

    @staticmethod
    async def _run(previous: asyncio.Task[None] | None, work: Callable[[], Awaitable[None]]) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # its failure is its own; only the order matters here
        try:
            await work()
        except Exception:
            log.exception("update_handling_failed")

    def _forget(self, key: Hashable, done: asyncio.Task[None]) -> None:
        self._running.discard(done)
        if self._tails.get(key) is done:
            del self._tails[key]
