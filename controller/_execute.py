"""One job, start to end: its folder, its one container, its progress, its result, its record.

`execute` prepares DATA_DIR/users/<user>/jobs/<job>/{input,output} and runs a new container on
them through the backend, or, when the warm pool has one, puts the job's input into a pool
container's own folders and hands the job over to it (controller/_pool.py). It streams the runner's progress lines, enforces the time limit, classifies how it
ended, checks the output against the quotas, installs a trained model through the store, records
everything in the job row, and always removes the container (unless an admin asked to keep
failed ones): a succeeded job's, which has exited, after the outcome is returned. It returns a
JobOutcome or raises the JobError subclass that says what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import stat
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from config import Settings
from errors import (
    JobBadInput,
    JobCancelled,
    JobCrashed,
    JobError,
    JobInterrupted,
    JobKilled,
    JobOutOfMemory,
    JobOutputTooLarge,
    JobTimeout,
    JobTrainingFailed,
    NotFoundError,
    QuotaError,
    StatAgentError,
)
from config.log import get_logger
from controller._chores import Chores
from controller._backend import ContainerBackend, ContainerExit, ContainerRequest, StartedContainer
from controller._events import JobEvent, JobOutcome, JobProgress, JobSaved, JobStarted
from controller._outputfs import mount_output, unmount_output
from runner._pool import HANDOVER_FILE, POOL_COMMAND, Handover
from runner.spec import (
    DATA_FILE,
    INPUT_DIR,
    METADATA_FILE,
    MODEL_DIR,
    OUTPUT_DIR,
    OUTPUT_MODEL_DIR,
    OUTPUT_PLOTS_DIR,
    PREDICTIONS_CSV,
    PREDICTIONS_PARQUET,
    RESULT_FILE,
    SAVED_STAGE,
    SPEC_FILE,
    UPLOAD_FILE,
    AnySpec,
    ExitCode,
    ExploreSpec,
    IngestSpec,
    ProgressEvent,
    Result,
    TrainSpec,
)
from store import DatasetRecord, ExitReason, JobKind, JobRecord, JobState, ModelRecord, Store, copy_file, remove_path

if TYPE_CHECKING:
    from controller._pool import PoolSlot, WarmPool

__all__ = [
    "KEPT_DIR",
    "POOLED_KINDS",
    "JobContext",
    "container_request",
    "execute",
    "failure_fields",
    "make_output",
    "release_job_dir",
    "start_container",
    "time_limit",
]

log = get_logger(__name__)

_MEMORY_POLL_SECONDS = 1.0
# After the container exits, its stdout stream ends by itself; this is only a safety net.
_DRAIN_SECONDS = 5.0
# A killed container is gone within milliseconds; give up waiting for it after this.
_KILL_WAIT_SECONDS = 30.0
_LOG_TAIL_LINES = 60
_SIGKILL_EXIT = 137  # what the kernel's OOM killer and `docker kill` leave
# Before the Nth resubmission of a job that never ran, N times this.
_RESUBMIT_PAUSE_SECONDS = 5.0
# Room in a job's output tmpfs for folders and result.json besides the artifacts.
_SPARE_INODES = 32
# What a succeeded job keeps, copied out of its output tmpfs; renamed to output/ once that is unmounted.
KEPT_DIR = ".kept"
# Less room than this (or 1% of it) left in the output tmpfs after a failed job: it failed because it was full.
_FULL_BYTES = 64 * 1024

# The jobs a pool container can take: they share the container limits. An ingest job has its
# own memory cap and deadline, fixed when a container is created, so it always starts cold.
POOLED_KINDS = (JobKind.TRAIN, JobKind.PREDICT, JobKind.EXPLORE)

_STATE_OF_REASON = {
    ExitReason.CANCELLED: JobState.CANCELLED,
    ExitReason.INTERRUPTED: JobState.INTERRUPTED,
}


@dataclass(frozen=True)
class JobContext:
    """What running a job needs from the controller."""

    settings: Settings
    store: Store
    backend: ContainerBackend
    instance_id: str
    chores: Chores = dataclasses.field(default_factory=Chores)  # what follows a job off its path
    pool: WarmPool | None = None


@dataclass
class _Run:
    """What is learnt about a job while it runs; becomes columns of its row."""

    started_at: datetime | None = None
    queue_wait: float | None = None
    container_id: str | None = None
    create_seconds: float | None = None
    start_seconds: float | None = None
    run_seconds: float | None = None
    peak_memory: int | None = None
    exit: ContainerExit | None = None
    log_tail: str | None = None
    result: Result | None = None
    resubmits: int = 0  # new containers after ones that never ran the job

    def note_container(self, container_id: str) -> None:
        self.container_id = container_id

    def fields(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "queue_wait_seconds": self.queue_wait,
            "container_id": self.container_id,
            "container_create_seconds": self.create_seconds,
            "container_start_seconds": self.start_seconds,
            "run_seconds": self.run_seconds,
            "peak_memory_mb": None if self.peak_memory is None else self.peak_memory / 2**20,
            "exit_code": None if self.exit is None else self.exit.exit_code,
            "log_tail": self.log_tail,
            "result": None if self.result is None else self.result.model_dump(mode="json"),
        }


async def execute(
    ctx: JobContext,
    job: JobRecord,
    spec: AnySpec,
    *,
    image_id: str,
    emit: Callable[[JobEvent], None],
    cancelled: asyncio.Event,
) -> JobOutcome:
    """Run `job` in one container; record and return its outcome, or record and raise its JobError.

    Setting `cancelled` kills the container and ends the job with JobCancelled. Cancelling the
    task running this kills the container too and records the job as interrupted.
    """
    store, settings = ctx.store, ctx.settings
    job_dir = store.job_dir(job.job_id, job.user_id)
    run = _Run(started_at=_now())
    run.queue_wait = (run.started_at - job.created_at).total_seconds()
    taking: list[asyncio.Task[JobSaved]] = []  # a training's model, taken when the runner says it is saved

    async with _holding(ctx, run, job_dir) as held:

        def take_saved() -> None:
            if isinstance(spec, TrainSpec) and not taking:
                taking.append(asyncio.create_task(_take_saved(ctx, job, run, held.work_dir / OUTPUT_DIR, emit)))

        try:
            if ctx.pool is not None and job.kind in POOLED_KINDS:
                held.claim(await ctx.pool.claim(image_id), run)
            if cancelled.is_set():
                raise JobCancelled("cancelled before its container started")
            if held.slot is not None:
                began = time.perf_counter()
                await asyncio.to_thread(_hand_over, ctx, job, spec, held.slot.folder)
                run.create_seconds, run.start_seconds = 0.0, time.perf_counter() - began
            else:
                await _start_cold(ctx, job, spec, job_dir, run, image_id)
            recorded = await asyncio.to_thread(
                store.update_job,
                job.job_id,
                state=JobState.RUNNING,
                image_id=image_id,
                instance_id=ctx.instance_id,
                runtime=settings.container.runtime,
                **run.fields(),
            )
            if recorded.state.finished:  # `statagent admin kill` got there first
                cancelled.set()
            emit(JobStarted(job.job_id, run.container_id))
            log.info(
                "job started", container_id=run.container_id, queue_wait=run.queue_wait, warm=held.slot is not None
            )

            began = time.perf_counter()
            timeout = time_limit(ctx.settings, job.kind)
            ended = await _supervise(ctx, job, run, timeout=timeout, emit=emit, cancelled=cancelled, saved=take_saved)
            resubmits = settings.swarm.resubmit_unstarted
            while ended == "exited" and run.exit is not None and run.exit.unstarted and run.resubmits < resubmits:
                # No container ran the job, so none saw its data: a new job container (and network) runs it.
                run.resubmits += 1
                log.warning("job ended before it ran; resubmitted", reason=run.exit.unstarted, attempt=run.resubmits)
                await _remove_container(ctx, run)
                # Longer each time: meanwhile the swarm forgets ended tasks whose reservations it still counted.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(cancelled.wait(), _RESUBMIT_PAUSE_SECONDS * run.resubmits)
                if cancelled.is_set():
                    raise JobCancelled("cancelled before its container started")
                await _start_cold(ctx, job, spec, job_dir, run, image_id)
                recorded = await asyncio.to_thread(store.update_job, job.job_id, container_id=run.container_id)
                if recorded.state.finished:
                    cancelled.set()
                began = time.perf_counter()
                ended = await _supervise(
                    ctx, job, run, timeout=timeout, emit=emit, cancelled=cancelled, saved=take_saved
                )
            run.run_seconds = time.perf_counter() - began
            run.log_tail = await ctx.backend.logs_tail(run.container_id, lines=_LOG_TAIL_LINES)
            if taking:  # raises the JobError of a model that could not be taken
                outcome = await _collect_plots(ctx, job, run, ended, job_dir, held.work_dir, await taking[0])
            else:
                outcome = await _collect(ctx, job, spec, run, ended, job_dir, held.work_dir)
        except asyncio.CancelledError:
            if _taken(taking) is not None:  # the model is the user's already: the job did what counts
                await _record(ctx, job, run, None)
            else:
                await _record(ctx, job, run, JobInterrupted("the controller stopped while the job ran"))
            raise
        except JobError as error:
            error.job_id = job.job_id
            if run.exit is not None and error.exit_code is None:
                error.exit_code = run.exit.exit_code
            error.logs = error.logs or run.log_tail or ""
            await _record(ctx, job, run, error)
            raise
        except Exception as error:  # any other failure is a crash of this job, recorded
            log.exception("job crashed in the controller")
            crash = JobCrashed(
                f"{type(error).__name__}: {error}",
                user_message=error.user_message if isinstance(error, StatAgentError) else None,
                job_id=job.job_id,
                logs=run.log_tail or "",
            )
            await _record(ctx, job, run, crash)
            raise crash from error
        finally:
            for task in taking:
                task.cancel()
            await asyncio.gather(*taking, return_exceptions=True)
    log.info(
        "job succeeded",
        run_seconds=round(run.run_seconds or 0, 3),
        peak_memory_mb=run.fields()["peak_memory_mb"],
    )
    return outcome


@dataclass
class _Held:
    """The job's container and folders while `execute` runs."""

    work_dir: Path  # where the container's input/ and output/ are: the job's own, or a pool slot's
    slot: PoolSlot | None = None

    def claim(self, slot: PoolSlot | None, run: _Run) -> None:
        """Run the job in a pool container's `slot` (None: a cold one of its own)."""
        if slot is not None:
            self.slot, self.work_dir = slot, slot.folder
            run.note_container(slot.container_id)


@contextlib.asynccontextmanager
async def _holding(ctx: JobContext, run: _Run, job_dir: Path) -> AsyncIterator[_Held]:
    """The job's container (once it has one) and folders, released on the way out.

    A failed job keeps nothing: its container is removed at once (unless an admin asked to keep
    failed ones), its files too. A succeeded job keeps what `_collect` copied out (plots,
    predictions) as its output folder; its container has exited, and is removed off the user's
    path, by one of the controller's chores.
    """
    held = _Held(job_dir)
    try:
        yield held
    except BaseException as error:
        if _keeps_container(ctx.settings, error):
            log.info("keeping the failed job's container", container_id=run.container_id)
        else:
            await _remove_container(ctx, run)
        await asyncio.to_thread(_settle_job_dir, job_dir, held.work_dir, succeeded=False)
        _release_slot(ctx, held)
        raise
    await asyncio.to_thread(_settle_job_dir, job_dir, held.work_dir, succeeded=True)
    ctx.chores.start(_dispose(ctx, run, held), name=f"remove {run.container_id}")


def _keeps_container(settings: Settings, error: BaseException) -> bool:
    """Whether a job that ended with `error` keeps its container for `statagent admin job`."""
    stopped = isinstance(error, JobCancelled | JobInterrupted | asyncio.CancelledError)
    return settings.container.keep_failed_containers and not stopped


async def _dispose(ctx: JobContext, run: _Run, held: _Held) -> None:
    await _remove_container(ctx, run)
    _release_slot(ctx, held)


def _release_slot(ctx: JobContext, held: _Held) -> None:
    if held.slot is not None and ctx.pool is not None:
        ctx.pool.forget(held.slot)


async def start_container(
    backend: ContainerBackend, request: ContainerRequest, *, made: Callable[[str], None]
) -> StartedContainer:
    """Create and start the request's container; `made` hears its id as soon as it exists.

    The engine call goes on in its thread when the task is cancelled (a stop): wait for it
    then, so that the container it makes is known and removed rather than left running.
    """
    starting = asyncio.ensure_future(backend.start(request))
    try:
        started = await asyncio.shield(starting)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            container_id = (await starting).container_id
            made(container_id)
            await backend.remove(container_id)
        raise
    made(started.container_id)
    return started


async def _start_cold(
    ctx: JobContext, job: JobRecord, spec: AnySpec, job_dir: Path, run: _Run, image_id: str
) -> None:
    """Lay out the job's folder anew and start a new container on it (named after `run.resubmits`)."""
    request = await asyncio.to_thread(_prepare, ctx, job, spec, job_dir, image_id)
    request = dataclasses.replace(request, attempt=run.resubmits)
    started = await start_container(ctx.backend, request, made=run.note_container)
    run.create_seconds, run.start_seconds = started.create_seconds, started.start_seconds


def time_limit(settings: Settings, kind: JobKind) -> int:
    """The seconds a job of `kind` may run before the controller stops it."""
    match kind:
        case JobKind.TRAIN:
            return settings.container.train_timeout_seconds
        case JobKind.PREDICT | JobKind.EXPLORE:  # an explore job reads a table as a prediction does
            return settings.container.predict_timeout_seconds
        case JobKind.INGEST:
            return settings.uploads.ingest_timeout_seconds


def _prepare(
    ctx: JobContext,
    job: JobRecord,
    spec: AnySpec,
    job_dir: Path,
    image_id: str,
) -> ContainerRequest:
    """Lay out the job folder for a cold start; the request for its container. Runs in a thread."""
    source, model_dir = _sources(ctx, job, spec)
    input_dir, output_dir = job_dir / INPUT_DIR, job_dir / OUTPUT_DIR
    release_job_dir(job_dir)  # a retry after a crash of this very job: start clean
    for leftover in (input_dir, output_dir, job_dir / KEPT_DIR):
        shutil.rmtree(leftover, ignore_errors=True)
    input_dir.mkdir(parents=True, mode=0o755)
    _write_input(input_dir, job, spec, source)
    make_output(ctx, output_dir)
    return container_request(
        ctx, kind=job.kind, folder=job_dir, image_id=image_id, job=job, model_dir=model_dir
    )


def _hand_over(
    ctx: JobContext, job: JobRecord, spec: AnySpec, folder: Path
) -> None:
    """Put the job's input (and model) into a pool container's folders, then hand it the job."""
    source, model_dir = _sources(ctx, job, spec)
    input_dir = folder / INPUT_DIR
    _write_input(input_dir, job, spec, source)
    if model_dir is not None:
        shutil.copytree(
            model_dir,
            folder / MODEL_DIR,
            dirs_exist_ok=True,
            copy_function=lambda src, dst: _link_or_copy(Path(src), Path(dst)),
        )
    deadline = time_limit(ctx.settings, job.kind) + ctx.settings.container.deadline_margin_seconds
    handover = Handover(command=spec.command, deadline_seconds=deadline)
    # Written aside, then renamed: the runner reads the whole file or none of it.
    pending = input_dir / f".{HANDOVER_FILE}"
    pending.write_text(handover.model_dump_json(), encoding="utf-8")
    os.chmod(pending, 0o644)
    os.rename(pending, input_dir / HANDOVER_FILE)


def _sources(ctx: JobContext, job: JobRecord, spec: AnySpec) -> tuple[Path, Path | None]:
    """The job's input file and, for a prediction, its model folder, for a retrain the earlier
    model's (read-only in the container; JobBadInput when gone)."""
    store = ctx.store
    model_dir = None
    try:
        if job.kind == JobKind.INGEST:
            source = store.job_dir(job.job_id, job.user_id) / UPLOAD_FILE  # placed when the upload was accepted
            if not source.is_file():
                raise JobBadInput(
                    "the upload is gone", user_message="Your file was lost in a restart. Send it again."
                )
        else:
            source = store.dataset_path(store.get_dataset(user_id=job.user_id, dataset_id=job.dataset_id))
        if job.kind == JobKind.PREDICT:
            model_dir = store.model_dir(store.get_model(user_id=job.user_id, model_id=job.model_id))
        elif isinstance(spec, TrainSpec) and spec.reference_model_id is not None:
            model_dir = store.model_dir(store.get_model(user_id=job.user_id, model_id=spec.reference_model_id))
    except NotFoundError as error:  # deleted while the job waited
        raise JobBadInput(str(error), user_message=error.user_message) from error
    return source, model_dir


def _write_input(input_dir: Path, job: JobRecord, spec: AnySpec, source: Path) -> None:
    (input_dir / SPEC_FILE).write_text(spec.model_dump_json(), encoding="utf-8")
    data_file = input_dir / (UPLOAD_FILE if job.kind == JobKind.INGEST else DATA_FILE)
    _link_or_copy(source, data_file)
    for path in (input_dir, input_dir / SPEC_FILE, data_file):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


def make_output(ctx: JobContext, output_dir: Path) -> None:
    """Create a job's output folder, as its own size- and inode-capped tmpfs when the job runs here."""
    settings = ctx.settings
    output_dir.mkdir(mode=0o755)
    uid, gid = (int(part) for part in settings.runner.user.split(":"))
    quotas = settings.quotas
    if ctx.backend.caps_output_on_host:
        mount_output(
            output_dir,
            size_mb=quotas.max_artifacts_mb,
            max_files=quotas.max_artifacts + _SPARE_INODES,
            uid=uid,
            gid=gid,
        )
    else:  # the job runs elsewhere: it gets the folder itself, and its backend caps it there
        os.chown(output_dir, uid, gid)


def container_request(
    ctx: JobContext,
    *,
    kind: JobKind | None,
    folder: Path,
    image_id: str,
    job: JobRecord | None = None,
    model_dir: Path | None = None,
    pool_slot: str | None = None,
) -> ContainerRequest:
    """The container of a job of `kind` on folder/{input,output}; for None, a pool container.

    One path for both, so a pool container has exactly a cold job's lockdown. A pool container
    is ready for any of POOLED_KINDS: its runner gets the job's own deadline at hand-over, and
    its CPU-seconds cap is the largest of theirs.
    """
    settings = ctx.settings
    limits = settings.container
    if kind == JobKind.INGEST:
        limits = limits.model_copy(update={"memory_mb": settings.uploads.ingest_memory_mb})
    kinds = (kind,) if kind is not None else POOLED_KINDS
    deadline = max(time_limit(settings, each) for each in kinds) + limits.deadline_margin_seconds
    return ContainerRequest(
        job_id=job.job_id if job is not None else "",
        user_id=job.user_id if job is not None else "",
        kind=kind,
        instance_id=ctx.instance_id,
        data_dir=settings.data_dir,
        image_id=image_id,
        input_dir=folder / INPUT_DIR,
        output_dir=folder / OUTPUT_DIR,
        model_dir=model_dir,
        limits=limits,
        max_file_bytes=settings.quotas.max_artifacts_mb * 2**20,
        cpu_seconds=deadline * limits.cpus,
        runner_user=settings.runner.user,
        command=("--deadline", str(deadline), kind.value if kind is not None else POOL_COMMAND),
        created=_now(),
        pool_slot=pool_slot,
    )


def release_job_dir(job_dir: Path) -> None:
    """Unmount the job's output tmpfs, if one is mounted (after the job, or after a crash)."""
    unmount_output(job_dir / OUTPUT_DIR)


def _link_or_copy(source: Path, dest: Path) -> None:
    """A hard link where the file is readable by anyone (the job's uid), else a copy."""
    if source.stat().st_mode & stat.S_IROTH:
        try:
            os.link(source, dest)
            return
        except OSError:  # another filesystem: copy
            pass
    shutil.copyfile(source, dest)


async def _supervise(
    ctx: JobContext,
    job: JobRecord,
    run: _Run,
    *,
    timeout: float,
    emit: Callable[[JobEvent], None],
    cancelled: asyncio.Event,
    saved: Callable[[], None],
) -> str:
    """Follow the container until it exits; 'exited', 'timeout' or 'cancelled'. `saved` hears the
    runner say that its model is saved."""
    backend, container_id = ctx.backend, run.container_id
    assert container_id is not None
    progress = asyncio.create_task(
        _read_progress(backend, container_id, job.job_id, emit, saved, ctx.settings.quotas.max_stdout_lines)
    )
    memory = asyncio.create_task(_sample_memory(backend, container_id, run))
    waiting = asyncio.create_task(backend.wait(container_id, timeout=timeout))
    cancel_wait = asyncio.create_task(cancelled.wait())
    try:
        await asyncio.wait({waiting, cancel_wait}, return_when=asyncio.FIRST_COMPLETED)
        if waiting.done() and waiting.result() is not None:
            run.exit = waiting.result()
            how = "exited"
        else:
            how = "cancelled" if cancelled.is_set() else "timeout"
            await backend.kill(container_id)
            run.exit = await waiting if not waiting.done() else None
            run.exit = run.exit or await backend.wait(container_id, timeout=_KILL_WAIT_SECONDS)
        await asyncio.wait({progress}, timeout=_DRAIN_SECONDS)
        if not progress.done():
            log.warning("stdout stream did not end after the container exited")
        return how
    finally:
        for task in (progress, memory, waiting, cancel_wait):
            task.cancel()
        await asyncio.gather(progress, memory, waiting, cancel_wait, return_exceptions=True)


async def _read_progress(
    backend: ContainerBackend,
    container_id: str,
    job_id: str,
    emit: Callable[[JobEvent], None],
    saved: Callable[[], None],
    max_lines: int,
) -> None:
    """Emit the runner's progress lines; other lines are ignored, lines past the cap unread."""
    async for line in backend.stdout_lines(container_id, max_lines=max_lines):
        try:
            event = ProgressEvent.model_validate_json(line)
        except ValidationError:
            continue
        if event.stage == SAVED_STAGE:
            saved()
        emit(JobProgress(job_id, event.stage, event.percent, event.message))


async def _sample_memory(backend: ContainerBackend, container_id: str, run: _Run) -> None:
    while True:
        sample = await backend.memory_use(container_id)
        if sample is not None:
            run.peak_memory = max(run.peak_memory or 0, sample)
        await asyncio.sleep(_MEMORY_POLL_SECONDS)


async def _collect(
    ctx: JobContext,
    job: JobRecord,
    spec: AnySpec,
    run: _Run,
    how: str,
    job_dir: Path,
    work_dir: Path,
) -> JobOutcome:
    """Classify the end of the container; on success check, install and keep the outputs."""
    store = ctx.store
    output_dir = work_dir / OUTPUT_DIR
    result, files = await _finished(ctx, job, run, how, output_dir)

    model: ModelRecord | None = None
    dataset: DatasetRecord | None = None
    keep: list[Path] = []
    if isinstance(spec, TrainSpec):
        assert result.train is not None
        model = await _install_model(ctx, job, output_dir, files)
        keep = _plots(output_dir, files, result.train.plots)
    elif isinstance(spec, IngestSpec):
        if result.ingest is None or output_dir / DATA_FILE not in files:
            raise JobCrashed("the ingest job succeeded but left no table")
        try:
            dataset = await asyncio.to_thread(
                store.add_dataset,
                user_id=job.user_id,
                filename=spec.filename,
                file_format=result.ingest.file_format,
                source=output_dir / DATA_FILE,
                summary=result.ingest.summary,
            )
        except QuotaError as error:
            raise JobOutputTooLarge(str(error), user_message=error.user_message) from error
    elif isinstance(spec, ExploreSpec):
        if result.explore is None:
            raise JobCrashed("the explore job succeeded but reported nothing")
        keep = _plots(output_dir, files, [figure.file for figure in result.explore.figures])
    else:
        keep = [path for path in (output_dir / PREDICTIONS_CSV, output_dir / PREDICTIONS_PARQUET) if path in files]
    kept = await asyncio.to_thread(_keep, job_dir, output_dir, keep)
    final = await _record(ctx, job, run, None, output_bytes=sum(files[path] for path in keep))
    by_name = {path.name: path for path in kept}
    return JobOutcome(
        job=final,
        result=result,
        model=model,
        dataset=dataset,
        plots=kept if isinstance(spec, TrainSpec | ExploreSpec) else [],
        predictions_csv=by_name.get(PREDICTIONS_CSV),
        predictions_parquet=by_name.get(PREDICTIONS_PARQUET),
    )


async def _collect_plots(
    ctx: JobContext, job: JobRecord, run: _Run, how: str, job_dir: Path, work_dir: Path, saved: JobSaved
) -> JobOutcome:
    """The end of a training job whose model was taken when saved: keep its plots. A container that
    failed after that (out of time or memory, killed, cancelled) costs the plots only."""
    output_dir = work_dir / OUTPUT_DIR
    try:
        result, files = await _finished(ctx, job, run, how, output_dir)
        assert result.train is not None
        keep = _plots(output_dir, files, result.train.plots)
        failed = None
    except JobError as error:
        log.warning("job failed after its model was saved", reason=error.reason, detail=str(error)[:500])
        result, files, keep, failed = saved.result, {}, [], error.reason
        run.result = result
    kept = await asyncio.to_thread(_keep, job_dir, output_dir, keep)
    final = await _record(ctx, job, run, None, output_bytes=sum(files[path] for path in keep))
    return JobOutcome(job=final, result=result, model=saved.model, plots=kept, plots_failed=failed)


async def _take_saved(
    ctx: JobContext, job: JobRecord, run: _Run, output_dir: Path, emit: Callable[[JobEvent], None]
) -> JobSaved:
    """Install the model a training job says it saved, while its container draws the plots; JobSaved.

    Only result.json and the model folder are read: they are whole, the plots may not be yet.
    """
    quotas = ctx.settings.quotas
    files = await asyncio.to_thread(_output_files, output_dir / OUTPUT_MODEL_DIR)
    result = await asyncio.to_thread(_read_result, output_dir, quotas.max_result_json_bytes)
    if result is None or not result.ok or result.train is None:
        raise JobCrashed("the runner said it saved its model without a result.json that says so")
    _check_artifacts(files, output_dir, ctx.settings)
    model = await _install_model(ctx, job, output_dir, files)
    run.result = result
    saved = JobSaved(job.job_id, result, model)
    emit(saved)
    log.info("model saved before its plots", model_id=model.model_id)
    return saved


def _taken(taking: list[asyncio.Task[JobSaved]]) -> JobSaved | None:
    """The JobSaved of a model taken already, if any."""
    if taking and taking[0].done() and not taking[0].cancelled() and taking[0].exception() is None:
        return taking[0].result()
    return None


async def _finished(
    ctx: JobContext, job: JobRecord, run: _Run, how: str, output_dir: Path
) -> tuple[Result, dict[Path, int]]:
    """How the container ended: a succeeded job's result and output files, or the JobError it ended with."""
    settings, store = ctx.settings, ctx.store
    exit_ = run.exit
    current = await asyncio.to_thread(store.get_job_admin, job.job_id)
    if how == "cancelled" or current.state == JobState.CANCELLED:  # also: `admin kill` elsewhere
        raise JobCancelled("cancelled while running")
    assert exit_ is not None or how == "timeout"
    if how == "timeout" or (exit_ is not None and exit_.exit_code == ExitCode.DEADLINE):
        seconds = time_limit(settings, job.kind)
        raise JobTimeout(
            f"stopped after its limit of {seconds} s",
            user_message=(
                f"The job took longer than its limit of {seconds} seconds and was stopped. "
                + ("Send a smaller file." if job.kind == JobKind.INGEST else "Try less data or a simpler model.")
            ),
        )
    assert exit_ is not None
    if exit_.unstarted:
        tries = 1 + run.resubmits
        raise JobInterrupted(
            f"not started ({tries} tries): {exit_.unstarted}",
            user_message=f"The cluster did not start the job ({tries} tries), so nothing of it ran. "
            "Please start it again.",
        )
    if exit_.lost:
        raise JobInterrupted(
            f"lost: {exit_.lost}",
            user_message="The machine running the job left the cluster before it finished. Please start it again.",
        )
    if exit_.oom_killed:
        memory_mb = settings.uploads.ingest_memory_mb if job.kind == JobKind.INGEST else settings.container.memory_mb
        run.peak_memory = max(run.peak_memory or 0, memory_mb * 2**20)
        raise JobOutOfMemory(
            f"killed at its memory limit of {memory_mb} MB",
            user_message=(
                f"The job needed more than its {memory_mb} MB of memory and was stopped. "
                + (
                    "Send a smaller table: fewer rows or columns."
                    if job.kind == JobKind.INGEST
                    else "Try less data, fewer columns or a simpler model."
                )
            ),
        )
    if exit_.exit_code == _SIGKILL_EXIT:  # without the engine's OOM flag: not our memory cap
        raise JobKilled("killed by SIGKILL from outside the service")

    if exit_.exit_code != ExitCode.OK and await asyncio.to_thread(_output_full, output_dir):
        quotas = settings.quotas
        raise JobOutputTooLarge(
            f"the job filled its output folder ({quotas.max_artifacts_mb} MB, {quotas.max_artifacts} files)",
            user_message=f"The job's output passed its limit of {quotas.max_artifacts_mb} MB and "
            f"{quotas.max_artifacts} files and was stopped, so nothing of it was kept.",
        )
    files = await asyncio.to_thread(_output_files, output_dir)
    result = run.result = _read_result(output_dir, settings.quotas.max_result_json_bytes)
    error = result.error if result is not None else None
    # The runner's own sentence is the user's message; its code and details go to the record.
    # An exit code without the result.json that goes with it is a crash (gVisor ends a container
    # that forks past its pids cap with exit code 2, which is also the runner's "bad input").
    said = {"user_message": error.message, "error_code": error.code.value, "details": error.details} if error else {}
    if error is not None and exit_.exit_code == ExitCode.BAD_INPUT:
        raise JobBadInput(error.message, **said)
    if error is not None and exit_.exit_code == ExitCode.TRAINING_FAILED:
        raise JobTrainingFailed(error.message, **said)
    if exit_.exit_code != ExitCode.OK or result is None or not result.ok:
        readable = "" if result is not None else " without a readable result.json"
        raise JobCrashed(f"runner exited {exit_.exit_code}{readable}", error_code=said.get("error_code"))
    _check_artifacts(files, output_dir, settings)
    return result, files

def _plots(output_dir: Path, files: dict[Path, int], names: list[str]) -> list[Path]:
    """The plots a result names that the job really wrote as plain files under output/plots."""
    return [
        path
        for name in names
        if Path(name).name == name and (path := output_dir / OUTPUT_PLOTS_DIR / name) in files
    ]


def _keep(job_dir: Path, output_dir: Path, paths: list[Path]) -> list[Path]:
    """Copy files out of the output tmpfs into the job's KEPT_DIR; where each will be once that
    is the job's output/."""
    kept_dir = job_dir / KEPT_DIR
    final = []
    for path in paths:
        relative = path.relative_to(output_dir)
        (kept_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        copy_file(path, kept_dir / relative)
        final.append(job_dir / OUTPUT_DIR / relative)
    return final


def _output_full(output_dir: Path) -> bool:
    """True when the job's output tmpfs has (almost) no room or no inode left."""
    room = os.statvfs(output_dir)
    left = room.f_bavail * room.f_frsize
    return left < max(_FULL_BYTES, room.f_blocks * room.f_frsize // 100) or room.f_favail == 0


def _output_files(output_dir: Path) -> dict[Path, int]:
    """Every regular file the job wrote, with its size.

    The job's uid wrote this folder: a symlink could point at any host file, a FIFO would
    block a reader. Either makes the whole output untrusted.
    """
    files: dict[Path, int] = {}
    for root, dirs, names in os.walk(output_dir):
        for name in dirs + names:
            path = Path(root, name)
            info = path.lstat()
            if stat.S_ISREG(info.st_mode):
                files[path] = info.st_size
            elif not stat.S_ISDIR(info.st_mode):
                raise JobCrashed(f"the job's output holds {path.relative_to(output_dir)}, not a file")
    return files


def _read_result(output_dir: Path, max_bytes: int) -> Result | None:
    """The job's result.json, or None when it left none or not a valid one."""
    text = _read_capped(output_dir / RESULT_FILE, max_bytes)
    if text is None:
        return None
    try:
        return Result.model_validate_json(text)
    except ValidationError as error:
        log.warning("result.json is not a valid result", error=str(error)[:500])
        return None


def _read_capped(path: Path, max_bytes: int) -> bytes | None:
    """A file the job wrote, read through no link and never past `max_bytes` (JobOutputTooLarge);
    None when it is not there. Safe while the job still runs: what is checked is what is read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as error:  # a link
        raise JobCrashed(f"the job's {path.name} is not a file: {error.strerror}") from error
    with open(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise JobCrashed(f"the job's {path.name} is not a file")
        text = file.read(max_bytes + 1)
    if len(text) > max_bytes:
        raise JobOutputTooLarge(f"{path.name} is over the cap of {max_bytes} bytes")
    return text


def _check_artifacts(files: dict[Path, int], output_dir: Path, settings: Settings) -> None:
    """The files besides result.json (which has its own cap) against the artifact quotas."""
    quotas = settings.quotas
    artifacts = {path: size for path, size in files.items() if path != output_dir / RESULT_FILE}
    count = len(artifacts)
    total = sum(artifacts.values())
    if count > quotas.max_artifacts or total > quotas.max_artifacts_mb * 2**20:
        raise JobOutputTooLarge(
            f"the job wrote {count} files ({total} bytes); the caps are {quotas.max_artifacts} "
            f"files and {quotas.max_artifacts_mb} MB"
        )


async def _install_model(
    ctx: JobContext, job: JobRecord, output_dir: Path, files: dict[Path, int]
) -> ModelRecord:
    """Hand the job's model folder to the store (atomic, quota-checked), then drop the job's copy."""
    source = output_dir / OUTPUT_MODEL_DIR
    if source / METADATA_FILE not in files:
        raise JobCrashed("the training job succeeded but left no model metadata")
    cap = ctx.settings.quotas.max_metadata_bytes
    try:
        # Off the event loop: the file is as large as the job made it, up to its cap.
        metadata = await asyncio.to_thread(lambda: json.loads(_read_capped(source / METADATA_FILE, cap) or b""))
    except ValueError as error:
        raise JobCrashed(f"the model's metadata is not JSON: {error}") from error
    try:
        model = await asyncio.to_thread(
            ctx.store.install_model,
            user_id=job.user_id,
            model_id=job.model_id,
            job_id=job.job_id,
            source_dir=source,
            metadata=metadata,
        )
    except QuotaError as error:
        raise JobOutputTooLarge(str(error), user_message=error.user_message) from error
    return model


async def _record(
    ctx: JobContext,
    job: JobRecord,
    run: _Run,
    error: JobError | None,
    *,
    output_bytes: int = 0,
) -> JobRecord:
    """Write how the job ran and ended into its row."""
    if error is None:
        fields = success_fields(output_bytes=output_bytes)
    else:
        fields = failure_fields(error)
        log.info("job failed", reason=error.reason, detail=str(error).split("\n")[0][:500])
    return await asyncio.to_thread(ctx.store.update_job, job.job_id, **fields, **run.fields())


async def _remove_container(ctx: JobContext, run: _Run) -> None:
    """Kill (if it runs) and remove the job's container, if it has one."""
    if run.container_id is None:
        return
    try:
        await ctx.backend.kill(run.container_id)
        await ctx.backend.remove(run.container_id)
    except Exception:  # the next reconcile removes what is left
        log.exception("could not remove the job container", container_id=run.container_id)


def _settle_job_dir(job_dir: Path, work_dir: Path, *, succeeded: bool) -> None:
    """Unmount the output tmpfs and remove the job's transient files (a pool container's folder
    entirely); a succeeded job's KEPT_DIR becomes its output folder."""
    release_job_dir(work_dir)
    if work_dir != job_dir:  # a pool container's folder: nothing of it stays
        shutil.rmtree(work_dir, ignore_errors=True)
    if not succeeded:
        shutil.rmtree(job_dir, ignore_errors=True)
        return
    for leftover in (job_dir / INPUT_DIR, job_dir / UPLOAD_FILE, job_dir / OUTPUT_DIR):
        remove_path(leftover)
    kept = job_dir / KEPT_DIR
    if kept.exists():
        os.rename(kept, job_dir / OUTPUT_DIR)


def _now() -> datetime:
    return datetime.now(UTC)


def success_fields(*, output_bytes: int = 0) -> dict[str, Any]:
    """The job-row fields saying that a job succeeded."""
    return {
        "state": JobState.SUCCEEDED,
        "exit_reason": ExitReason.SUCCESS,
        "finished_at": _now(),
        "output_bytes": output_bytes,
    }


def failure_fields(error: JobError) -> dict[str, Any]:
    """The job-row fields saying that a job ended with `error`."""
    reason = error.reason
    return {
        "state": _STATE_OF_REASON.get(reason, JobState.FAILED),
        "exit_reason": reason,
        "finished_at": _now(),
        "error_code": error.error_code,
        "user_message": error.user_message,
    }
