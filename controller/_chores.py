"""Work that follows a job but is not on its user's path, such as removing its exited container."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from config.log import get_logger

__all__ = ["Chores"]

log = get_logger(__name__)


class Chores:
    """Background tasks the controller owns: started without waiting, awaited all at its stop.

    A chore that fails is logged, not raised: what it leaves behind, reconcile removes.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        """Run `work` in the background."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("a background chore failed", chore=task.get_name(), error=repr(error))

    async def wait(self) -> None:
        """Return once every chore has ended, those started meanwhile included."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
