"""PID 1 of a job container: runs the job in a child process and ends the container at a deadline.

The deadline holds with no controller watching. The job cannot switch it off: as the init of the
container's PID namespace this process gets no signal from inside the container (the kernel drops
them, SIGKILL included, since it installs no handler), it is not dumpable, so the job's uid cannot
ptrace it or write its memory, and it waits in the kernel for its deadline rather than on anything
the job could touch. It also reaps orphaned grandchildren, as an init must.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable

from runner.spec import ExitCode

_PR_SET_DUMPABLE = 4


def supervise(work: Callable[[], int], *, deadline_seconds: float) -> int:
    """Run `work` in a child process; its exit code, or ExitCode.DEADLINE once the deadline passes.

    On the way out every other process of the container is killed, so nothing the job started
    outlives it.
    """
    _not_dumpable()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    child = os.fork()
    if child == 0:  # the job
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        code = 1
        try:
            code = work()
        except BaseException:
            traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            os._exit(code)
    deadline = time.monotonic() + deadline_seconds
    status = None
    try:
        while (status := _reap(child)) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                sys.stderr.write(f"[runner] the job passed its deadline of {deadline_seconds:.0f} s\n")
                return int(ExitCode.DEADLINE)
            signal.sigtimedwait({signal.SIGCHLD}, remaining)
        return status
    finally:
        # From PID 1, kill(-1) ends every process of the container; elsewhere it would reach far
        # more, so only a job still running is ended there.
        if os.getpid() == 1 or status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(-1 if os.getpid() == 1 else child, signal.SIGKILL)


def _reap(child: int) -> int | None:
    """Reap every exited process; the job's exit code once it has exited, else None."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return None
        if pid == 0:
            return None
        if pid == child:
            return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def _not_dumpable() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE) failed")
