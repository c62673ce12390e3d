"""The controller: turns validated tasks into jobs, each run in one throwaway container.

    async with Controller(settings=settings, store=store) as controller:
        handle = await controller.submit(Task.train(user_id="42", model_type="random_forest",
                                                    dataset_id=dataset.dataset_id, target_column="y"))
        async for event in handle.events():   # JobQueued, JobStarted, JobProgress..., JobFinished
            ...
        outcome = await handle.result()        # JobOutcome, or raises a config.errors.JobError

Everything else (the container backend, the queue, reconciling) is private to this package.
"""

from controller._backend import ContainerBackend, ContainerRequest
from controller._controller import Controller, JobHandle
from controller._docker import DockerBackend
from controller._events import (
    JobEvent,
    JobFinished,
    JobOutcome,
    JobProgress,
    JobQueued,
    JobStarted,
)
from controller._lock import ControllerRunning
from controller.task import Task, build_spec

__all__ = [
    "ContainerBackend",
    "ContainerRequest",
    "Controller",
    "ControllerRunning",
    "DockerBackend",
    "JobEvent",
    "JobFinished",
    "JobHandle",
    "JobOutcome",
    "JobProgress",
    "JobQueued",
    "JobStarted",
    "Task",
    "build_spec",
]
