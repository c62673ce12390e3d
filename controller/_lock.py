"""One controller per data directory: an exclusive flock on DATA_DIR/controller.lock.

The holder writes its instance id into the file, so an admin command in another process can
tell which job containers belong to the live controller (never to be touched) and which were
left by dead ones. The kernel drops the lock when the holder dies, SIGKILL included.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import Self

from errors import StatAgentError

__all__ = ["LOCK_FILE", "ControllerLock", "ControllerRunning", "live_instance"]

LOCK_FILE = "controller.lock"


class ControllerRunning(StatAgentError):
    """Another controller already serves this data directory."""

    default_user_message = (
        "StatAgent is already running on this data directory; only one service may use it at a time."
    )

    def __init__(self, data_dir: Path, holder: str) -> None:
        super().__init__(
            f"another controller ({holder or 'unknown'}) holds {data_dir / LOCK_FILE}; "
            "only one may run per data directory"
        )
        self.holder = holder


class ControllerLock:
    """The held lock; the end of its `with` block, `release()` or process exit frees it."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, data_dir: Path, *, instance_id: str) -> ControllerLock:
        """Take the lock and record `instance_id` in it; ControllerRunning when it is held."""
        lock = cls.try_acquire(data_dir)
        if lock is None:
            raise ControllerRunning(data_dir, _read_holder(data_dir / LOCK_FILE))
        assert lock._fd is not None
        os.ftruncate(lock._fd, 0)
        os.pwrite(lock._fd, f"{instance_id} {os.getpid()}\n".encode(), 0)
        return lock

    @classmethod
    def try_acquire(cls, data_dir: Path) -> ControllerLock | None:
        """The lock without claiming it for an instance; None when a controller holds it."""
        path = data_dir / LOCK_FILE
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return cls(fd, path)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def live_instance(data_dir: Path) -> str | None:
    """The instance id of the controller running on `data_dir`, or None when none runs.

    Taking the lock is the test; it is released at once. Only a separate process (an admin
    command) asks this: the controller knows it holds the lock.
    """
    lock = ControllerLock.try_acquire(data_dir)
    if lock is None:
        return _read_holder(data_dir / LOCK_FILE)
    with lock:
        return None


def _read_holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").split(" ", 1)[0].strip()
    except OSError:
        return ""
