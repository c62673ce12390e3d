"""A pool of pre-started, single-use job containers: a job skips the runner's start and imports.

Each pool container is created through the same request as a cold job's container
(`container_request`), so it has exactly a job's lockdown, with its own folder
DATA_DIR/pool/<slot>/: input/ and model/ read-only, output/ its own capped tmpfs. Its runner
(`python -m runner pool`) imports what jobs need and waits. A job claims a container; its input
(and model) goes into that container's folders and the job is handed over (runner/_pool.py).
The container runs that one job, and the job removes it and its folder like any job container:
no container or folder ever sees a second job. The pool refills in the background, off the
job's path; when it is empty a job starts cold. A new runner image replaces the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from config import Settings
from config.log import get_logger
from controller._backend import LABEL_DATA_DIR, LABEL_INSTANCE
from controller._execute import JobContext, container_request, make_output, release_job_dir, start_container
from runner._pool import READY_FILE
from runner.spec import INPUT_DIR, MODEL_DIR, OUTPUT_DIR

__all__ = ["POOL_DIR", "PoolSlot", "WarmPool", "clean_pool_dirs", "pool_size"]

log = get_logger(__name__)

POOL_DIR = "pool"  # under the data dir: one folder per pool container
# How often the pool looks for idle containers that died, when nothing else wakes it.
_CHECK_SECONDS = 5.0
# After the engine refused a pool container, wait this long before the next try.
_RETRY_SECONDS = 5.0
# An idle container is replaced after this long: its runner's looks for a job add up against
# the container's CPU-seconds cap (RLIMIT_CPU), which it must meet with its job, not idling.
MAX_IDLE_SECONDS = 3600.0


@dataclass(frozen=True)
class PoolSlot:
    """One pool container and its folder."""

    slot_id: str
    folder: Path
    container_id: str
    image_id: str
    started: float  # time.monotonic() when it started

    @property
    def ready(self) -> bool:
        """True once its runner has imported everything and waits for the job."""
        return (self.folder / OUTPUT_DIR / READY_FILE).exists()


def pool_size(settings: Settings) -> int:
    """How many idle containers the pool keeps: `pool.size` (default the running cap), fewer
    when they would not fit in the host's memory beside running_cap jobs at their memory cap.

    None on a swarm: a pool container is placed before its job exists, so the scheduler could not
    place the job by its reservations, and its folders would be on whichever node it landed on.
    """
    if settings.backend == "swarm":
        return 0
    running_cap = settings.queue.running_cap
    wanted = settings.pool.size if settings.pool.size is not None else running_cap
    if wanted == 0:
        return 0
    host_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    room_mb = host_mb - running_cap * settings.container.memory_mb
    fits = max(room_mb // settings.pool.idle_memory_mb, 0)
    if fits < wanted:
        log.warning(
            "the warm pool is smaller than configured: the host's memory holds no more",
            wanted=wanted,
            size=fits,
            host_mb=host_mb,
            idle_memory_mb=settings.pool.idle_memory_mb,
        )
    return min(wanted, fits)


class WarmPool:
    """Keeps `size` idle pool containers on `image_id` for the controller `ctx` serves."""

    def __init__(self, ctx: JobContext, *, size: int, image_id: str) -> None:
        self._ctx = ctx
        self.size = size
        self._image_id = image_id
        self._idle: deque[PoolSlot] = deque()
        self._slots: set[str] = set()  # every slot this pool made whose folder still exists
        self._wake = asyncio.Event()
        self._filler: asyncio.Task[None] | None = None

    @property
    def folder(self) -> Path:
        return self._ctx.settings.data_dir / POOL_DIR

    @property
    def idle(self) -> list[PoolSlot]:
        """The containers waiting for a job, oldest first."""
        return list(self._idle)

    def owns(self, slot_id: str) -> bool:
        """True for a slot of this pool: idle, starting, or claimed by a job still running."""
        return slot_id in self._slots

    def slot_ids(self) -> set[str]:
        return set(self._slots)

    def start(self) -> None:
        """Begin filling the pool in the background."""
        self._filler = asyncio.create_task(self._fill_forever(), name="warm-pool")

    async def stop(self) -> None:
        """Stop filling; remove the idle containers and their folders (claimed ones are their jobs')."""
        if self._filler is not None:
            self._filler.cancel()
            await asyncio.gather(self._filler, return_exceptions=True)
        while self._idle:
            await self._discard(self._idle.popleft())

    async def claim(self, image_id: str) -> PoolSlot | None:
        """A running idle container on `image_id` for one job, or None: the job starts cold.

        A claimed slot is the job's until it calls `forget`. A job on another image than the
        pool's replaces the whole pool with containers of that image.
        """
        if image_id != self._image_id:
            log.info("runner image changed: replacing the warm pool", old=self._image_id, new=image_id)
            self._image_id = image_id
            stale, self._idle = list(self._idle), deque()
            self._wake.set()
            # Out of the pool already: a cancel now must not leave any of them running.
            await asyncio.shield(asyncio.gather(*(self._discard(slot) for slot in stale)))
            return None
        while self._idle:
            # A container still importing is no slower than a cold start, but a ready one is faster.
            slot = next((slot for slot in self._idle if slot.ready), self._idle[0])
            self._idle.remove(slot)
            self._wake.set()
            try:
                info = await self._ctx.backend.inspect(slot.container_id)
            except BaseException:
                await asyncio.shield(self._discard(slot))
                raise
            if info is not None and info.running:
                return slot
            log.warning("an idle pool container died; it is replaced", container_id=slot.container_id)
            await self._discard(slot)
        return None

    def forget(self, slot: PoolSlot) -> None:
        """The job that claimed `slot` has removed its container and folder."""
        self._slots.discard(slot.slot_id)

    async def check(self) -> None:
        """Drop idle containers that are no longer running or idled too long (the filler then
        replaces them)."""
        listed = await self._ctx.backend.list_jobs(
            labels={LABEL_INSTANCE: self._ctx.instance_id, LABEL_DATA_DIR: str(self._ctx.settings.data_dir)}
        )
        running = {info.container_id for info in listed if info.running}
        now = time.monotonic()
        for slot in list(self._idle):
            dead, old = slot.container_id not in running, now - slot.started > MAX_IDLE_SECONDS
            if (dead or old) and slot in self._idle:  # a claim may have taken it meanwhile
                self._idle.remove(slot)
                if dead:
                    log.warning("an idle pool container died; it is replaced", container_id=slot.container_id)
                await self._discard(slot)

    async def _fill_forever(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.check()
                while len(self._idle) < self.size:
                    await self._add()
            except asyncio.CancelledError:
                raise
            except Exception:  # the engine failed: try again later; jobs meanwhile start cold
                log.exception("could not fill the warm pool")
                await asyncio.sleep(_RETRY_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _CHECK_SECONDS)

    async def _add(self) -> None:
        """Start one pool container on its own fresh folder and put it in the pool."""
        slot_id = secrets.token_hex(6)
        folder = self.folder / slot_id
        image_id = self._image_id
        self._slots.add(slot_id)
        try:
            await asyncio.to_thread(self._make_folder, folder)
            request = container_request(
                self._ctx, kind=None, folder=folder, image_id=image_id, model_dir=folder / MODEL_DIR, pool_slot=slot_id
            )
            started = await start_container(self._ctx.backend, request, made=lambda _: None)
        except BaseException:
            await asyncio.shield(asyncio.to_thread(_remove_folder, folder))
            self._slots.discard(slot_id)
            raise
        slot = PoolSlot(slot_id, folder, started.container_id, image_id, time.monotonic())
        if image_id != self._image_id:  # the image changed while it started
            await self._discard(slot)
            return
        self._idle.append(slot)
        log.debug("pool container started", container_id=slot.container_id, idle=len(self._idle))

    def _make_folder(self, folder: Path) -> None:
        folder.mkdir(parents=True, mode=0o755)
        for name in (INPUT_DIR, MODEL_DIR):
            (folder / name).mkdir(mode=0o755)
            os.chmod(folder / name, 0o755)  # whatever the umask: the job's uid reads these
        make_output(self._ctx, folder / OUTPUT_DIR)

    async def _discard(self, slot: PoolSlot) -> None:
        """Remove a container that holds no job, and its folder."""
        try:
            await self._ctx.backend.kill(slot.container_id)
            await self._ctx.backend.remove(slot.container_id)
        except Exception:  # the next reconcile removes it by its label
            log.exception("could not remove a pool container", container_id=slot.container_id)
        await asyncio.to_thread(_remove_folder, slot.folder)
        self._slots.discard(slot.slot_id)


def _remove_folder(folder: Path) -> None:
    release_job_dir(folder)  # its output tmpfs
    shutil.rmtree(folder, ignore_errors=True)


def clean_pool_dirs(data_dir: Path, *, live: Callable[[str], bool]) -> int:
    """Remove the pool folders whose slot `live` does not claim (left by a controller that died)."""
    root = data_dir / POOL_DIR
    if not root.is_dir():
        return 0
    removed = 0
    for folder in root.iterdir():
        if not live(folder.name):
            _remove_folder(folder)
            removed += 1
    return removed
