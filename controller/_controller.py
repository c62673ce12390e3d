"""The Controller service: accepts tasks, queues them fairly, runs each in one container."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import secrets
from enum import Enum
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import TracebackType

import structlog
from pydantic import ValidationError

from config import Settings
from errors import (
    JobCancelled,
    JobCrashed,
    JobError,
    JobInterrupted,
    QuotaError,
    StatAgentError,
    TaskError,
    UploadError,
)
from config.log import get_logger
from controller._backend import ContainerBackend, make_backend
from controller._chores import Chores
from controller._events import (
    JobEvent,
    JobFinished,
    JobOutcome,
    JobProgress,
    JobQueued,
    JobSaved,
    JobStarted,
)
from controller._execute import JobContext, execute, failure_fields
from controller._lock import ControllerLock
from controller._outputfs import check_mounting
from controller._queue import FairQueue
from controller._pool import WarmPool, clean_pool_dirs, pool_size
from controller._reconcile import clean_job_dirs, expire_outputs, interrupt_orphan_jobs, reap_containers
from controller.explore import ExploreRequest, explore_spec
from controller.task import PredictRequest, Task, build_spec, ingest_spec
from runner.spec import UPLOAD_FILE, AnySpec, TrainSpec, parse_spec
from store import DatasetRecord, ExitReason, JobKind, JobRecord, JobState, Store, human_size

__all__ = ["Controller", "JobHandle"]

log = get_logger(__name__)

_REPO_ROOT = Path(__file__).resolve().parent.parent


class _Lane(str, Enum):
    """Waiting lines: reading an upload is short and the user waits for it, so it never waits
    behind their own (or anyone's) trainings; the per-user running cap holds in each line."""

    UPLOADS = "uploads"
    MODELS = "models"

    @classmethod
    def of(cls, kind: JobKind) -> _Lane:
        return cls.UPLOADS if kind is JobKind.INGEST else cls.MODELS


class _LiveJob:
    """A job this controller holds, queued or running: its events and, at the end, its outcome."""

    def __init__(self, record: JobRecord, spec: AnySpec, image_id: str) -> None:
        self.record = record
        self.spec = spec
        self.image_id = image_id
        self.cancel = asyncio.Event()
        self.done = asyncio.Event()
        self.position = 0
        self.started: JobStarted | None = None
        self.progress: JobProgress | None = None
        self.saved: JobSaved | None = None
        self.finished: JobFinished | None = None
        self.outcome: JobOutcome | None = None
        self.error: JobError | None = None
        self._subscribers: set[asyncio.Queue[JobEvent]] = set()

    @property
    def job_id(self) -> str:
        return self.record.job_id

    @property
    def user_id(self) -> str:
        return self.record.user_id

    @property
    def is_train(self) -> bool:
        return self.record.kind == JobKind.TRAIN

    @property
    def lane(self) -> _Lane:
        return _Lane.of(self.record.kind)

    def emit(self, event: JobEvent) -> None:
        if isinstance(event, JobQueued):
            self.position = event.position
        elif isinstance(event, JobStarted):
            self.started = event
        elif isinstance(event, JobProgress):
            self.progress = event
        elif isinstance(event, JobSaved):
            self.saved = event
        else:
            self.finished = event
        for queue in self._subscribers:
            queue.put_nowait(event)

    def subscribe(self) -> asyncio.Queue[JobEvent]:
        """A queue of the job's events, starting with where the job stands now."""
        queue: asyncio.Queue[JobEvent] = asyncio.Queue()
        saved: list[JobEvent] = [self.saved] if self.saved else []  # a late subscriber still gets the numbers
        if self.finished is not None:
            now: list[JobEvent] = [*saved, self.finished]
        elif self.started is not None:
            now = [self.started, *([self.progress] if self.progress else []), *saved]
        else:
            now = [JobQueued(self.job_id, self.position)]
        for event in now:
            queue.put_nowait(event)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[JobEvent]) -> None:
        self._subscribers.discard(queue)

    def finish(self, *, outcome: JobOutcome | None = None, error: JobError | None = None) -> None:
        self.outcome, self.error = outcome, error
        reason = ExitReason.SUCCESS if error is None else error.reason
        self.emit(JobFinished(self.job_id, reason))
        self.done.set()


class JobHandle:
    """A submitted job: follow its events, await its result."""

    def __init__(self, live: _LiveJob) -> None:
        self._live = live

    @property
    def job_id(self) -> str:
        return self._live.job_id

    @property
    def record(self) -> JobRecord:
        """The job's row as it was queued: whose it is, its kind, the chat it answers in."""
        return self._live.record

    async def events(self) -> AsyncIterator[JobEvent]:
        """JobQueued, JobStarted, JobProgress ..., a training's JobSaved, then JobFinished, where the
        iteration ends.

        A late subscriber first gets where the job stands (its latest events).
        """
        queue = self._live.subscribe()
        try:
            while True:
                event = await queue.get()
                yield event
                if isinstance(event, JobFinished):
                    return
        finally:
            self._live.unsubscribe(queue)

    async def result(self) -> JobOutcome:
        """The outcome of a succeeded job; raises the JobError subclass of a failed one."""
        await self._live.done.wait()
        if self._live.error is not None:
            raise self._live.error
        assert self._live.outcome is not None
        return self._live.outcome


class Controller:
    """Runs users' tasks as jobs, each in one throwaway container, a fair share at a time.

        async with Controller(settings=settings, store=store) as controller:
            handle = await controller.submit(task)
            async for event in handle.events(): ...
            outcome = await handle.result()

    Only one controller may run per data directory (a lock file makes sure); at start it
    cleans up after a dead predecessor and resumes the jobs that were still queued.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        backend: ContainerBackend | None = None,
        instance_id: str | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._owns_backend = backend is None
        # Each running job holds two of the backend's threads (its wait and its output stream).
        self._backend: ContainerBackend = backend or make_backend(
            settings, max_threads=2 * settings.queue.running_cap + 8
        )
        self.instance_id = instance_id or f"ctl-{secrets.token_hex(6)}"
        self._chores = Chores()
        self._ctx = JobContext(settings, store, self._backend, self.instance_id, self._chores)
        self._lines = {lane: FairQueue() for lane in _Lane}
        self._jobs: dict[str, _LiveJob] = {}  # queued and running
        self._running: dict[str, asyncio.Task[None]] = {}
        self._running_per_user: Counter[tuple[str, _Lane]] = Counter()
        self._submit_lock = asyncio.Lock()
        self._lock: ControllerLock | None = None
        self._image_reference = ""
        self._reconciler: asyncio.Task[None] | None = None
        self._pool: WarmPool | None = None
        self._stopping = False

    async def __aenter__(self) -> Controller:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Take the data directory's lock, clean up after a dead controller, resume queued jobs.

        Raises ControllerRunning when another controller holds the lock, RunnerImageMissing
        when the runner image is not built.
        """
        if self._lock is not None or self._stopping:
            raise RuntimeError("a controller starts once")
        try:
            image_id = await self._take_over()
        except BaseException:
            if self._owns_backend:
                await self._backend.close()
            raise
        log.info(
            "controller started",
            instance=self.instance_id,
            image=image_id,
            runtime=self._settings.container.runtime,
            running_cap=self._settings.queue.running_cap,
            pool=self._pool.size if self._pool is not None else 0,
            resumed=len(self._jobs),
        )
        self._reconciler = asyncio.create_task(self._reconcile_forever(), name="reconcile")
        if self._pool is not None:
            self._pool.start()
        self._dispatch()

    async def settled(self) -> None:
        """Return once what follows finished jobs off their users' path (removing their exited
        containers) is done."""
        await self._chores.wait()

    @property
    def pool(self) -> WarmPool | None:
        """The warm pool (None when `pool.size` is 0)."""
        return self._pool

    async def _take_over(self) -> str:
        """Find the image, take the lock, clean up after a predecessor, resume its queue; the image id."""
        # Imported here: `python -m controller.image` must not find it imported by the package.
        from controller.image import runner_image_tag

        settings = self._settings
        self._image_reference = settings.runner.image or await asyncio.to_thread(
            runner_image_tag, root=_REPO_ROOT, repository=settings.runner.image_repository
        )
        image_id = await self._backend.resolve_image(self._image_reference)
        runtime = await self._backend.resolve_runtime(settings.container.runtime)
        self._settings = settings.model_copy(
            update={"container": settings.container.model_copy(update={"runtime": runtime})}
        )
        self._ctx = JobContext(self._settings, self._store, self._backend, self.instance_id, self._chores)
        lock = await asyncio.to_thread(ControllerLock.acquire, settings.data_dir, instance_id=self.instance_id)
        try:
            if self._backend.caps_output_on_host:
                await asyncio.to_thread(check_mounting, settings.data_dir)
            await asyncio.to_thread(self._store.sweep_temp)
            await self._reconcile()  # also removes a dead predecessor's pool and any of an older config
            await self._resume_queued(image_id)
        except BaseException:
            lock.release()
            raise
        if size := pool_size(self._settings):
            self._pool = WarmPool(self._ctx, size=size, image_id=image_id)
            self._ctx = dataclasses.replace(self._ctx, pool=self._pool)
        self._lock = lock
        return image_id

    async def stop(self) -> None:
        """Stop: running jobs are killed and marked interrupted; queued ones stay queued for the next start."""
        if self._lock is None or self._stopping:
            return
        self._stopping = True
        if self._reconciler is not None:
            self._reconciler.cancel()
            await asyncio.gather(self._reconciler, return_exceptions=True)
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._chores.wait()
        if self._pool is not None:
            await self._pool.stop()
        async with self._submit_lock:  # a submit recording its job now enqueues it first
            for live in list(self._jobs.values()):
                live.finish(
                    error=JobInterrupted(
                        "the controller stopped before the job started",
                        job_id=live.job_id,
                        user_message="The service is restarting. Your job is kept and runs when it is back.",
                    )
                )
            self._jobs.clear()
        self._lock.release()
        if self._owns_backend:
            await self._backend.close()
        log.info("controller stopped", instance=self.instance_id)

    async def submit(self, task: Task, *, new_request: bool = True) -> JobHandle:
        """Queue a task as a job. Everything is checked before any container starts.

        Raises TaskError (incomplete or invalid request), NotFoundError (no such dataset or
        model for this user: another user's looks the same), QuotaError (too many models or
        waiting jobs), RunnerImageMissing.
        """
        self._require_running()
        store, user_id = self._store, task.user_id
        if task.dataset_id is None:
            raise TaskError("no dataset", user_message="Upload a table (CSV, XLSX or Parquet) first.")
        dataset = await asyncio.to_thread(store.get_dataset, user_id=user_id, dataset_id=task.dataset_id)
        if isinstance(task, PredictRequest):
            if task.model_id is None:
                raise TaskError("no model", user_message="Which model should I use? /models lists yours.")
            await asyncio.to_thread(store.get_model, user_id=user_id, model_id=task.model_id)
        elif task.reference_model_id is not None:  # a retrain: the earlier model must be the user's
            await asyncio.to_thread(store.get_model, user_id=user_id, model_id=task.reference_model_id)
        job_id = await asyncio.to_thread(store.new_job_id)
        model_id = task.model_id if isinstance(task, PredictRequest) else await asyncio.to_thread(store.new_model_id)
        assert model_id is not None
        image_id = await self._backend.resolve_image(self._image_reference)
        spec = build_spec(
            task,
            ml=self._settings.ml_engine,
            job_id=job_id,
            model_id=model_id,
            image_id=image_id,
            summary=dataset.summary,
            time_limit_seconds=(
                self._settings.container.train_timeout_seconds if self._settings.ml_engine.check_time_estimate else None
            ),
        )
        return await self._accept(
            spec,
            kind=task.kind,
            image_id=image_id,
            dataset_id=task.dataset_id,
            model_id=model_id,
            chat_id=task.conversation_id or None,
            new_request=new_request,
        )

    async def submit_explore(self, request: ExploreRequest) -> JobHandle:
        """Queue an explore job (describe, correlate, plot) on one of the user's tables.

        It runs like a prediction: in the same queue, under the same limits and lockdown, on the
        stored table. Raises TaskError (a column the table lacks, text where numbers are needed,
        too many columns), NotFoundError, QuotaError, RunnerImageMissing.
        """
        self._require_running()
        dataset = await asyncio.to_thread(
            self._store.get_dataset, user_id=request.user_id, dataset_id=request.dataset_id
        )
        job_id = await asyncio.to_thread(self._store.new_job_id)
        spec = explore_spec(request, job_id=job_id, summary=dataset.summary)
        image_id = await self._backend.resolve_image(self._image_reference)
        return await self._accept(
            spec,
            kind=JobKind.EXPLORE,
            image_id=image_id,
            dataset_id=dataset.dataset_id,
            chat_id=request.conversation_id or None,
        )

    async def submit_upload(
        self, *, user_id: str, filename: str, data: bytes, chat_id: str | None = None
    ) -> JobHandle:
        """Queue an upload to be read by an ingest job; its outcome's `dataset` is the stored table.

        The host never parses the bytes: they are kept as received and read only inside the
        job's container. Raises UploadError (over the size limit), QuotaError.
        """
        self._require_running()
        limit = self._settings.uploads.max_bytes
        if len(data) > limit:
            raise UploadError(
                f"upload of {len(data)} bytes over the limit of {limit}",
                user_message=f"This file is {human_size(len(data))}; the limit is {human_size(limit)}. "
                "Send a smaller file or a sample of the rows.",
            )
        await asyncio.to_thread(self._store.check_dataset_quota, user_id=user_id)
        job_id = await asyncio.to_thread(self._store.new_job_id)
        image_id = await self._backend.resolve_image(self._image_reference)
        spec = ingest_spec(job_id=job_id, user_id=user_id, filename=filename, uploads=self._settings.uploads)
        return await self._accept(
            spec,
            kind=JobKind.INGEST,
            image_id=image_id,
            chat_id=chat_id,
            before_queueing=lambda: self._store_upload(user_id, job_id, data),
        )

    async def read_file(self, *, user_id: str, path: Path) -> DatasetRecord:
        """A file on disk (the CLI's --data FILE) read as an upload; waits for its ingest job.

        Raises UploadError when the file cannot be read or used, and the job's JobError.
        """
        try:
            size = path.stat().st_size
            # Refused by size before reading; a file growing meanwhile is read only to the limit.
            with path.open("rb") as file:
                data = await asyncio.to_thread(file.read, min(size, self._settings.uploads.max_bytes) + 1)
        except OSError as error:
            raise UploadError(str(error), user_message=f"I cannot read the file {path}.") from error
        handle = await self.submit_upload(user_id=user_id, filename=path.name, data=data)
        outcome = await handle.result()
        assert outcome.dataset is not None
        return outcome.dataset

    async def _accept(
        self,
        spec: AnySpec,
        *,
        kind: JobKind,
        image_id: str,
        chat_id: str | None,
        dataset_id: str | None = None,
        model_id: str | None = None,
        before_queueing: Callable[[], None] | None = None,
        new_request: bool = True,
    ) -> JobHandle:
        """Check the user's quotas, record the job and put it in line, as one step.

        A job of a request already counted (a comparison's later candidates) has `new_request`
        False: the waiting cap counts that request once.
        """
        user_id = spec.user_id
        async with self._submit_lock:
            self._require_running()  # a stop may have begun meanwhile
            if new_request:
                self._check_waiting_quota(user_id, _Lane.of(kind))
            if kind is JobKind.TRAIN:
                await self._check_model_quota(user_id)
            record = await asyncio.to_thread(
                self._store.create_job,
                user_id=user_id,
                kind=kind,
                spec=spec.model_dump(mode="json"),
                instance_id=self.instance_id,
                dataset_id=dataset_id,
                model_id=model_id,
                job_id=spec.job_id,
                chat_id=chat_id,
            )
            if before_queueing is not None:
                try:
                    await asyncio.to_thread(before_queueing)
                except BaseException:
                    crash = JobCrashed("its input could not be stored", job_id=record.job_id)
                    await asyncio.to_thread(self._store.update_job, record.job_id, **failure_fields(crash))
                    raise
            live = self._enqueue(record, spec, image_id)
        log.info("job queued", job_id=record.job_id, user_id=user_id, kind=kind.value)
        self._dispatch()
        return JobHandle(live)

    def _store_upload(self, user_id: str, job_id: str, data: bytes) -> None:
        """Keep an upload's bytes as received, in its job's folder, until its job has run."""
        job_dir = self._store.job_dir(job_id, user_id)
        job_dir.mkdir(parents=True, exist_ok=True)
        path = job_dir / UPLOAD_FILE
        path.write_bytes(data)
        os.chmod(path, 0o644)

    def handle(self, *, job_id: str, user_id: str | None) -> JobHandle | None:
        """The handle of a queued or running job (of this user; any user's for None)."""
        live = self._jobs.get(job_id)
        if live is None or (user_id is not None and live.user_id != user_id):
            return None
        return JobHandle(live)

    def live_jobs(self) -> list[JobHandle]:
        """Handles of every queued or running job, oldest first (right after start: the resumed ones)."""
        return [JobHandle(live) for live in self._jobs.values()]

    async def cancel(self, *, job_id: str, user_id: str | None) -> bool:
        """Cancel a queued or running job (of this user; any user's for None).

        False when there is no such live job. A running job's container is killed; its handle
        then ends with JobCancelled.
        """
        live = self._jobs.get(job_id)
        if live is None or (user_id is not None and live.user_id != user_id):
            return False
        if self._lines[live.lane].remove(job_id):
            await self._drop_queued(live, JobCancelled("cancelled while queued", job_id=job_id))
        else:
            live.cancel.set()
        log.info("job cancel requested", job_id=job_id, user_id=live.user_id)
        return True

    # ------------------------------------------------------------ queue

    def _require_running(self) -> None:
        if self._lock is None or self._stopping:
            raise StatAgentError("the controller is not running")

    def _check_waiting_quota(self, user_id: str, lane: _Lane) -> None:
        queue = self._settings.queue
        waiting = self._lines[lane].waiting(user_id)
        starts_now = (
            waiting == 0
            and len(self._running) < queue.running_cap
            and self._running_per_user[user_id, lane] < queue.per_user_running
        )
        if waiting >= queue.per_user_queued and not starts_now:
            raise QuotaError(
                f"user {user_id} has {waiting} jobs waiting",
                user_message=(
                    f"You already have {waiting} jobs waiting. Wait for one to finish or cancel one."
                ),
            )

    async def check_model_room(self, *, user_id: str, count: int) -> None:
        """Raise QuotaError unless `count` more models fit the user's quota (with trainings in flight)."""
        models = len(await asyncio.to_thread(self._store.list_models, user_id=user_id))
        pending = sum(1 for live in self._jobs.values() if live.user_id == user_id and live.is_train)
        limit = self._settings.quotas.max_models_per_user
        if models + pending + count > limit:
            raise QuotaError(
                f"user {user_id} has {models} models, {pending} pending, asks for {count} more",
                user_message=(
                    f"This needs {count} new models, but you have {models} (and {pending} in training) of "
                    f"at most {limit}. Delete some with /delete ID first."
                ),
            )

    async def _check_model_quota(self, user_id: str) -> None:
        await asyncio.to_thread(self._store.check_model_quota, user_id=user_id)
        pending = sum(1 for live in self._jobs.values() if live.user_id == user_id and live.is_train)
        if pending:
            models = len(await asyncio.to_thread(self._store.list_models, user_id=user_id))
            limit = self._settings.quotas.max_models_per_user
            if models + pending >= limit:
                raise QuotaError(
                    f"user {user_id} has {models} models and {pending} trainings pending",
                    user_message=(
                        f"You have {models} models and {pending} more in training; an account keeps "
                        f"at most {limit}. Delete one with /delete ID first."
                    ),
                )

    def _enqueue(self, record: JobRecord, spec: AnySpec, image_id: str) -> _LiveJob:
        live = _LiveJob(record, spec, image_id)
        self._jobs[record.job_id] = live
        self._lines[live.lane].push(record.user_id, record.job_id)
        return live

    async def _drop_queued(self, live: _LiveJob, error: JobError) -> None:
        """Finish a job that left the line without running (it is already out of the queue)."""
        self._jobs.pop(live.job_id, None)
        await asyncio.to_thread(self._store.update_job, live.job_id, **failure_fields(error))
        live.finish(error=error)
        self._dispatch()

    def _dispatch(self) -> None:
        """Start waiting jobs while there are free slots, round-robin over users; uploads first."""
        if self._stopping:
            return
        queue = self._settings.queue
        for lane, line in self._lines.items():
            while len(self._running) < queue.running_cap:
                picked = line.pop_next(
                    lambda user_id, lane=lane: self._running_per_user[user_id, lane] < queue.per_user_running
                )
                if picked is None:
                    break
                user_id, job_id = picked
                self._running_per_user[user_id, lane] += 1
                self._running[job_id] = asyncio.create_task(self._run(self._jobs[job_id]), name=job_id)
            for job_id, position in line.positions().items():
                live = self._jobs[job_id]
                if live.position != position:
                    live.emit(JobQueued(job_id, position))

    async def _run(self, live: _LiveJob) -> None:
        structlog.contextvars.bind_contextvars(job_id=live.job_id, user_id=live.user_id)
        try:
            record = await asyncio.to_thread(self._store.get_job_admin, live.job_id)
            if record.state == JobState.CANCELLED:  # by `statagent admin kill` while it waited
                raise JobCancelled("cancelled while queued", job_id=live.job_id)
            outcome = await execute(
                self._ctx, record, live.spec, image_id=live.image_id, emit=live.emit, cancelled=live.cancel
            )
        except JobError as error:
            live.finish(error=error)
        except asyncio.CancelledError:
            live.finish(error=JobInterrupted("the controller stopped while the job ran", job_id=live.job_id))
            raise
        except Exception as error:  # a failure of the store or engine ends only this job
            log.exception("job failed in the controller")
            live.finish(error=JobCrashed(f"{type(error).__name__}: {error}", job_id=live.job_id))
        else:
            live.finish(outcome=outcome)
        finally:
            self._running.pop(live.job_id, None)
            self._running_per_user[live.user_id, live.lane] -= 1
            self._jobs.pop(live.job_id, None)
            self._dispatch()

    async def _resume_queued(self, image_id: str) -> None:
        """Queue again the jobs a previous controller accepted but never started."""
        for record in await asyncio.to_thread(self._store.queued_jobs):
            try:
                spec = parse_spec(json.dumps(record.spec))
            except ValidationError as error:  # written by an older, incompatible version
                crash = JobCrashed(f"its stored spec is no longer valid: {error}", job_id=record.job_id)
                await asyncio.to_thread(self._store.update_job, record.job_id, **failure_fields(crash))
                continue
            if isinstance(spec, TrainSpec):
                spec = spec.model_copy(update={"image_id": image_id})
            self._enqueue(record, spec, image_id)
            log.info("job resumed", job_id=record.job_id, user_id=record.user_id)

    # ------------------------------------------------------------ reconcile

    async def _reconcile(self) -> None:
        """Clean up what no live job of this controller owns; remove job output past its retention."""
        pool = self._pool

        def pooled(slot_id: str) -> bool:  # asked as each is looked at: a slot is known before it exists
            return pool is not None and pool.owns(slot_id)

        await reap_containers(
            settings=self._settings,
            store=self._store,
            backend=self._backend,
            spare=lambda c: c.instance_id == self.instance_id and (c.job_id in self._jobs or pooled(c.pool_slot)),
        )
        await asyncio.to_thread(interrupt_orphan_jobs, self._store, live=set(self._jobs))
        await asyncio.to_thread(clean_job_dirs, self._store, live=set(self._jobs))
        await asyncio.to_thread(clean_pool_dirs, self._settings.data_dir, live=pooled)
        await asyncio.to_thread(expire_outputs, self._store, days=self._settings.retention.output_days)

    async def _reconcile_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.queue.reconcile_interval_seconds)
            try:
                await self._reconcile()
                await self._drop_cancelled_waiting()
            except Exception:  # try again next round
                log.exception("reconcile failed")

    async def _drop_cancelled_waiting(self) -> None:
        """Waiting jobs an admin cancelled from another process leave the line."""
        for line in self._lines.values():
            for job_id in list(line.positions()):
                record = await asyncio.to_thread(self._store.get_job_admin, job_id)
                if record.state == JobState.CANCELLED and line.remove(job_id):
                    live = self._jobs[job_id]
                    live.finish(error=JobCancelled("cancelled by an admin", job_id=job_id))
                    self._jobs.pop(job_id, None)
        self._dispatch()

