"""The container backend interface: what the controller needs from whatever runs job containers.

The controller speaks only this Protocol. `DockerBackend` (controller/_docker.py) implements it
on one Docker engine, `SwarmBackend` (controller/_swarm.py) as swarm services on a Docker Swarm
cluster; `make_backend` picks one from the configuration. The warm pool (controller/_pool.py) is
built on the docker backend: it starts its containers through `start` before their jobs exist. The
shape leaves room for Kubernetes Jobs (ids are opaque strings, labels become label selectors).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from config import ContainerSettings, Settings
from runner._pool import POOL_COMMAND
from runner.spec import INPUT_DIR, JOB_ROOT, MODEL_DIR, OUTPUT_DIR, JobKind

__all__ = [
    "LABEL_CREATED",
    "LABEL_DATA_DIR",
    "LABEL_INSTANCE",
    "LABEL_JOB_ID",
    "LABEL_KIND",
    "LABEL_POOL",
    "LABEL_RUNTIME",
    "LABEL_USER_ID",
    "ContainerBackend",
    "ContainerExit",
    "ContainerInfo",
    "ContainerRequest",
    "StartedContainer",
    "make_backend",
]

# Labels on every job container. `statagent.job_id` marks a container as a job container.
LABEL_JOB_ID = "statagent.job_id"
LABEL_USER_ID = "statagent.user_id"
LABEL_INSTANCE = "statagent.instance"  # the controller instance that started it
LABEL_KIND = "statagent.kind"  # a JobKind's value, or "pool"
LABEL_CREATED = "statagent.created"  # ISO 8601, UTC
LABEL_DATA_DIR = "statagent.data_dir"  # whose store the job belongs to (several may share an engine)
LABEL_RUNTIME = "statagent.runtime"  # the container runtime it runs under (runc, runsc)
# A pool container's slot (its folder under DATA_DIR/pool); its job id label stays empty, since
# labels are fixed at creation, before it has a job.
LABEL_POOL = "statagent.pool"


@dataclass(frozen=True)
class ContainerRequest:
    """One job container: the image by id, the job's folders and the limits. Nothing else.

    `command` is the runner's arguments (`--deadline S train|predict|ingest`) given to the
    image's fixed entrypoint `python -m runner`. `entrypoint` stays None in product code; tests
    set it to run another program under exactly the same confinement. `max_file_bytes` and
    `cpu_seconds` become the RLIMIT_FSIZE and RLIMIT_CPU of every process in the container.
    A pool container has `pool_slot` and no job id, user or kind yet.
    """

    job_id: str
    user_id: str
    kind: JobKind | None  # None: a pool container, whose job comes later
    instance_id: str
    data_dir: Path
    image_id: str
    input_dir: Path
    output_dir: Path
    limits: ContainerSettings
    runner_user: str
    max_file_bytes: int
    cpu_seconds: float
    model_dir: Path | None = None
    command: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    created: datetime | None = None
    pool_slot: str | None = None
    # How many times the job was resubmitted because its container never ran (each gets a new name).
    attempt: int = 0

    @property
    def name(self) -> str:
        if self.pool_slot:
            return f"statagent-pool-{self.pool_slot}"
        return f"statagent-{self.job_id}" + (f"-{self.attempt}" if self.attempt else "")

    def mounts(self) -> list[tuple[Path, str, bool]]:
        """(host path, container path, read-only) of every mount: the job's own folders only."""
        mounts = [
            (self.input_dir, str(JOB_ROOT / INPUT_DIR), True),
            (self.output_dir, str(JOB_ROOT / OUTPUT_DIR), False),
        ]
        if self.model_dir is not None:
            mounts.append((self.model_dir, str(JOB_ROOT / MODEL_DIR), True))
        return mounts

    def labels(self) -> dict[str, str]:
        labels = {
            LABEL_JOB_ID: self.job_id,
            LABEL_USER_ID: self.user_id,
            LABEL_INSTANCE: self.instance_id,
            LABEL_KIND: self.kind.value if self.kind is not None else POOL_COMMAND,
            LABEL_DATA_DIR: str(self.data_dir),
        }
        if self.pool_slot is not None:
            labels[LABEL_POOL] = self.pool_slot
        if self.created is not None:
            labels[LABEL_CREATED] = self.created.isoformat(timespec="seconds")
        return labels


@dataclass(frozen=True)
class StartedContainer:
    container_id: str
    create_seconds: float
    start_seconds: float


@dataclass(frozen=True)
class ContainerExit:
    exit_code: int
    oom_killed: bool
    # Why the job's machine stopped it ('' when it ended by itself): a cluster node drained or lost.
    lost: str = ""
    # Why it ended before any container ran the job ('' when one did): the job may run again, anew.
    unstarted: str = ""


@dataclass(frozen=True)
class ContainerInfo:
    """A job container as listed by label."""

    container_id: str
    name: str
    status: str  # running, exited, created, ...
    running: bool
    image: str
    labels: dict[str, str] = field(default_factory=dict)
    node: str = ""  # the cluster node it runs on ('' on a single engine)

    @property
    def job_id(self) -> str:
        return self.labels.get(LABEL_JOB_ID, "")

    @property
    def user_id(self) -> str:
        return self.labels.get(LABEL_USER_ID, "")

    @property
    def instance_id(self) -> str:
        return self.labels.get(LABEL_INSTANCE, "")

    @property
    def data_dir(self) -> str:
        return self.labels.get(LABEL_DATA_DIR, "")

    @property
    def runtime(self) -> str:
        return self.labels.get(LABEL_RUNTIME, "")

    @property
    def pool_slot(self) -> str:
        """The pool slot of a pool container ('' for a cold job's container)."""
        return self.labels.get(LABEL_POOL, "")


class ContainerBackend(Protocol):
    """Runs job containers. Every method is safe to call on the event loop."""

    # True: the job's output folder is capped by a tmpfs the controller mounts on its own host,
    # which the engine's mounts see. False: the backend caps it where the job runs.
    caps_output_on_host: bool

    async def resolve_image(self, reference: str) -> str:
        """The image id of `reference`; RunnerImageMissing naming it when absent."""

    async def resolve_runtime(self, wanted: str) -> str:
        """The runtime jobs run under for the configured `wanted` (`auto`: gVisor where offered).

        ConfigError when the engine does not offer a runtime named explicitly.
        """

    async def start(self, request: ContainerRequest) -> StartedContainer:
        """Create and start the job's container (BackendUnavailable when the engine fails)."""

    def stdout_lines(self, container_id: str, *, max_lines: int) -> AsyncIterator[str]:
        """The container's stdout, line by line from its start, until it exits or max_lines."""

    async def wait(self, container_id: str, *, timeout: float) -> ContainerExit | None:
        """Wait for the container to exit; None when it still runs after `timeout` seconds."""

    async def memory_use(self, container_id: str) -> int | None:
        """The container's memory use now, in bytes, page cache aside (None when unknown)."""

    async def kill(self, container_id: str) -> None:
        """Kill the container if it runs (no error when it is gone or stopped)."""

    async def remove(self, container_id: str) -> None:
        """Remove the container and its anonymous volumes (no error when it is gone)."""

    async def list_jobs(self, *, labels: dict[str, str] | None = None) -> list[ContainerInfo]:
        """Every job container, running or not, optionally only those with these label values."""

    async def logs_tail(self, container_id: str, *, lines: int = 50) -> str:
        """The last lines of stdout and stderr ('' when the container is gone)."""

    async def inspect(self, container_id: str) -> ContainerInfo | None:
        """The container's current state and labels; None when it is gone."""

    async def close(self) -> None:
        """Release connections and threads."""

    # A backend is closed when its `async with` block ends (a backend class inherits these).
    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def make_backend(settings: Settings, *, max_threads: int = 64) -> ContainerBackend:
    """The backend `settings.backend` names (imported here: each pulls in the docker SDK)."""
    if settings.backend == "swarm":
        from controller._swarm import SwarmBackend

        return SwarmBackend(settings=settings, max_threads=max_threads)
    from controller._docker import DockerBackend

    return DockerBackend(max_threads=max_threads)
