"""The waiting line: one FIFO per user; the next slot goes to the user served least recently.

Users who never had a job started come first (in the order they began waiting), then the one
whose last job started longest ago. So nobody waits behind another user's whole backlog, and
a user who submits many jobs at once gets one slot per round like everyone else.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from itertools import zip_longest

__all__ = ["FairQueue"]


class FairQueue:
    def __init__(self) -> None:
        self._waiting: dict[str, deque[str]] = {}  # user -> their waiting job ids, oldest first
        self._since: dict[str, int] = {}  # user -> when they began waiting
        self._last_start: dict[str, int] = {}  # user -> when a job of theirs last started
        self._clock = itertools.count()

    def __len__(self) -> int:
        return sum(len(jobs) for jobs in self._waiting.values())

    def push(self, user_id: str, job_id: str) -> None:
        if user_id not in self._waiting:
            self._waiting[user_id] = deque()
            self._since[user_id] = next(self._clock)
        self._waiting[user_id].append(job_id)

    def remove(self, job_id: str) -> bool:
        """Take a job out of the line; False when it is not waiting."""
        for user_id, jobs in self._waiting.items():
            if job_id in jobs:
                jobs.remove(job_id)
                if not jobs:
                    self._forget(user_id)
                return True
        return False

    def waiting(self, user_id: str) -> int:
        return len(self._waiting.get(user_id, ()))

    def pop_next(self, may_start: Callable[[str], bool]) -> tuple[str, str] | None:
        """(user_id, job_id) of the next job whose user `may_start`, or None."""
        for user_id in self._round():
            if may_start(user_id):
                job_id = self._waiting[user_id].popleft()
                self._last_start[user_id] = next(self._clock)
                if not self._waiting[user_id]:
                    self._forget(user_id)
                return user_id, job_id
        return None

    def positions(self) -> dict[str, int]:
        """Each waiting job's place in line (1 = next), taking users in rounds."""
        rounds = zip_longest(*(self._waiting[user_id] for user_id in self._round()))
        order = [job_id for round_ in rounds for job_id in round_ if job_id is not None]
        return {job_id: place for place, job_id in enumerate(order, start=1)}

    def _round(self) -> list[str]:
        """Waiting users, the one to serve first first."""
        return sorted(self._waiting, key=lambda u: (self._last_start.get(u, -1), self._since[u]))

    def _forget(self, user_id: str) -> None:
        del self._waiting[user_id]
        del self._since[user_id]
