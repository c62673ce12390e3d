"""The controller: turns validated tasks into jobs, each run in one throwaway container.

    async with Controller(settings=settings, store=store) as controller:
        handle = await controller.submit(TrainRequest(user_id="42", model_type="random_forest",
                                                    dataset_id=dataset.dataset_id, target_column="y"))
        async for event in handle.events():   # JobQueued, JobStarted, JobProgress..., [JobSaved,] JobFinished
            ...
        outcome = await handle.result()        # JobOutcome, or raises errors.JobError

Everything else (the container backend, the queue, reconciling) is private to this package.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from controller._backend import ContainerBackend, ContainerRequest
    from controller._controller import Controller, JobHandle
    from controller._docker import DockerBackend
    from controller._events import JobEvent, JobFinished, JobOutcome, JobProgress, JobQueued, JobSaved, JobStarted
    from controller._lock import ControllerRunning
    from controller._swarm import SwarmBackend
    from controller.task import PredictRequest, Task, TrainRequest, build_spec

# Loaded on first use, so that `controller.cli` can register its commands without docker.
_HOMES = {
    "ContainerBackend": "controller._backend",
    "ContainerRequest": "controller._backend",
    "Controller": "controller._controller",
    "JobHandle": "controller._controller",
    "DockerBackend": "controller._docker",
    "JobEvent": "controller._events",
    "JobFinished": "controller._events",
    "JobOutcome": "controller._events",
    "JobProgress": "controller._events",
    "JobQueued": "controller._events",
    "JobSaved": "controller._events",
    "JobStarted": "controller._events",
    "ControllerRunning": "controller._lock",
    "SwarmBackend": "controller._swarm",
    "PredictRequest": "controller.task",
    "Task": "controller.task",
    "TrainRequest": "controller.task",
    "build_spec": "controller.task",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'controller' has no attribute {name!r}")
