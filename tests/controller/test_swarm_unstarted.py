"""Whether a swarm job's task ended before any container ran it, decided by the swarm backend from
the tasks the manager lists: here a fake of that one engine call, since Docker 20.10's constraint
enforcer cannot be made to reject a task on demand. tests/controller/test_swarm.py resubmits jobs
whose task a real swarm rejected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config import load_settings
from controller import SwarmBackend

_REJECTED = "assigned node no longer meets constraints"


def _task(
    state: str, *, err: str = "", exit_code: int | None = None, pid: int = 0, desired: str = "running"
) -> dict[str, Any]:
    container = {} if exit_code is None else {"ContainerID": "c0ffee", "PID": pid, "ExitCode": exit_code}
    status = {"State": state, "Err": err, "ContainerStatus": container}
    return {
        "ID": "task1", "NodeID": "node1", "CreatedAt": "2026-01-01T00:00:00Z", "DesiredState": desired, "Status": status
    }


class _Api:
    """The manager's task list, one scripted answer per poll (the last one repeats; None: no task yet)."""

    def __init__(self, *polls: dict[str, Any] | None) -> None:
        self.polls = list(polls)

    def tasks(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        task = self.polls.pop(0) if len(self.polls) > 1 else self.polls[0]
        return [] if task is None else [task]

    def inspect_service(self, service_id: str) -> dict[str, Any]:
        return {"ID": service_id}

    def inspect_node(self, node_id: str) -> dict[str, Any]:
        return {"ID": node_id, "Description": {"Hostname": "node-1"}, "Spec": {"Availability": "drain"}, "Status": {}}


class _Client:
    def __init__(self, api: _Api) -> None:
        self.api = api

    def close(self) -> None:
        pass


async def _ended(tmp_path: Path, *polls: dict[str, Any] | None):
    settings = load_settings(env={}, overrides={"data_dir": str(tmp_path), "backend": "swarm"})
    async with SwarmBackend(settings=settings, client=_Client(_Api(*polls))) as backend:  # type: ignore[arg-type]
        return await backend.wait("service1", timeout=30)


@pytest.mark.parametrize(
    "polls",
    [
        [_task("pending"), _task("rejected", err=_REJECTED)],
        [_task("assigned"), _task("rejected", err=_REJECTED, exit_code=0)],  # a container made, never started
        [_task("preparing"), _task("failed", err="starting container failed: no such image", exit_code=0)],
    ],
)
async def test_a_task_that_ended_before_it_ran_is_unstarted(tmp_path: Path, polls: list[dict]) -> None:
    ended = await _ended(tmp_path, *polls)
    assert ended is not None and ended.unstarted == polls[-1]["Status"]["Err"]


async def test_a_task_taken_away_before_it_ran_is_lost_and_unstarted(tmp_path: Path) -> None:
    ended = await _ended(tmp_path, _task("assigned", desired="shutdown"))
    assert ended is not None and ended.lost and ended.unstarted


@pytest.mark.parametrize(
    "polls",
    [
        [_task("running"), _task("rejected", err=_REJECTED)],  # seen running, then rejected: it ran
        [_task("rejected", err=_REJECTED, exit_code=143)],  # never seen running, but it exited
        [_task("rejected", err=_REJECTED, exit_code=0, pid=4242)],  # it has a process
        [_task("starting"), _task("failed", err="task: non-zero exit (3)", exit_code=3)],
        [_task("complete", exit_code=0)],
        [_task("running"), _task("running", desired="shutdown")],  # its node drained mid-run
        [None, _task("running"), _task("complete", exit_code=0)],  # a new service has no task at first
    ],
)
async def test_a_task_that_ran_is_never_unstarted(tmp_path: Path, polls: list[dict]) -> None:
    ended = await _ended(tmp_path, *polls)
    assert ended is not None and ended.unstarted == ""
