"""What `statagent job ...` and `statagent admin ...` run (`controller.cli` registers them).

Imported only when one of them runs: the controller, the store, pydantic and the docker SDK
stay out of `statagent --help` and of the other commands.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict, is_dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from config import Settings
from errors import JobCancelled, StatAgentError
from config.log import get_logger
from controller._backend import LABEL_CREATED, LABEL_DATA_DIR, LABEL_JOB_ID, LABEL_KIND, ContainerInfo
from controller._events import JobOutcome, JobProgress, JobQueued, JobSaved, JobStarted
from controller._execute import failure_fields
from controller._lock import ControllerLock, live_instance
from controller._reconcile import clean_job_dirs, expire_outputs, interrupt_orphan_jobs, reap_containers
from controller.task import PredictRequest, Task, TrainRequest
from store import DatasetRecord, JobRecord, JobState, Store

if TYPE_CHECKING:
    from controller._backend import ContainerBackend

log = get_logger(__name__)

# From an admin command beside a running service, a younger temporary file may be a write in progress.
_ADMIN_SWEEP_MIN_AGE_SECONDS = 3600

# ------------------------------------------------------------------ job

async def _job_train(args: argparse.Namespace, settings: Settings) -> int:
    def task(dataset: DatasetRecord) -> TrainRequest:
        return TrainRequest(
            user_id=args.user,
            model_type=args.model,
            dataset_id=dataset.dataset_id,
            target_column=args.target,
            feature_columns=args.features,
            hyperparameters=dict(args.param),
        )

    return await _run_one(settings, args, task)


async def _job_predict(args: argparse.Namespace, settings: Settings) -> int:
    return await _run_one(
        settings,
        args,
        lambda dataset: PredictRequest(user_id=args.user, model_id=args.model, dataset_id=dataset.dataset_id),
        # An unknown model is refused before the file is read.
        check=lambda store: store.get_model(user_id=args.user, model_id=args.model),
    )


async def _run_one(
    settings: Settings,
    args: argparse.Namespace,
    task: Callable[[DatasetRecord], Task],
    *,
    check: Callable[[Store], object] | None = None,
) -> int:
    """Read --data with an ingest job, then run one job on it, each through a controller of its
    own; progress goes to stderr for the person watching, the result as JSON to stdout.

    One job needs at most one warm container: it starts and imports while the ingest job reads
    the file, and the job then skips that part of its start."""
    warm = 1 if settings.pool.size is None else min(settings.pool.size, 1)
    settings = settings.model_copy(update={"pool": settings.pool.model_copy(update={"size": warm})})
    with Store.from_settings(settings) as store:
        try:
            if check is not None:
                await asyncio.to_thread(check, store)
            from controller._controller import Controller

            async with Controller(settings=settings, store=store) as controller:
                dataset = await controller.read_file(user_id=args.user, path=args.data)
                handle = await controller.submit(task(dataset))
                async for event in handle.events():
                    if isinstance(event, JobQueued) and event.position:
                        print(f"waiting: {event.position} ahead", file=sys.stderr)
                    elif isinstance(event, JobStarted):
                        print(f"started in container {event.container_id[:12]}", file=sys.stderr)
                    elif isinstance(event, JobProgress):
                        print(f"{event.percent:5.1f}%  {event.message or event.stage}", file=sys.stderr)
                    elif isinstance(event, JobSaved):
                        print(f"saved model {event.model.model_id}; the plots follow", file=sys.stderr)
                outcome = await handle.result()
        except (StatAgentError, ValidationError) as error:
            return _refused(error)
    _print_json(_outcome_report(outcome))
    return 0


def _refused(error: Exception) -> int:
    if isinstance(error, ValidationError):
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        print(message, file=sys.stderr)
    else:
        assert isinstance(error, StatAgentError)
        print(error.user_message, file=sys.stderr)
        log.warning("command failed", error=type(error).__name__, detail=str(error))
    return 2


def _outcome_report(outcome: JobOutcome) -> dict[str, Any]:
    job, result = outcome.job, outcome.result
    report: dict[str, Any] = {
        "job_id": job.job_id,
        "user_id": job.user_id,
        "kind": job.kind.value,
        "state": job.state.value,
        "model_id": job.model_id,
        "container_id": job.container_id,
        "image_id": job.image_id,
        "timings": {
            "queue_wait_seconds": job.queue_wait_seconds,
            "container_create_seconds": job.container_create_seconds,
            "container_start_seconds": job.container_start_seconds,
            "run_seconds": job.run_seconds,
            "runner": result.timings,
        },
        "peak_memory_mb": job.peak_memory_mb,
    }
    if result.train is not None:
        report["metrics"] = result.train.metrics
        report["plots"] = [str(path) for path in outcome.plots]
        if outcome.plots_failed is not None:
            report["plots_failed"] = outcome.plots_failed
    if outcome.predictions_csv is not None:
        report["predictions_csv"] = str(outcome.predictions_csv)
    if outcome.predictions_parquet is not None:
        report["predictions_parquet"] = str(outcome.predictions_parquet)
    report["result"] = result.model_dump(mode="json")
    return report


# ------------------------------------------------------------------ admin


def _backend(settings: Settings) -> ContainerBackend:
    """The configured backend, imported here so that other commands and `--help` skip the docker SDK."""
    from controller._backend import make_backend

    return make_backend(settings)


async def _admin_jobs(args: argparse.Namespace, settings: Settings) -> int:
    with Store.from_settings(settings) as store:
        try:
            jobs = store.list_jobs(user_id=args.user, state=args.state, limit=args.limit)
        except StatAgentError as error:
            return _refused(error)
    if args.json:
        _print_json([_plain(job) for job in jobs])
        return 0
    _print_table(
        ["JOB", "USER", "KIND", "STATE", "REASON", "RUNTIME", "CREATED", "WAIT s", "RUN s", "PEAK MB"],
        [
            [
                job.job_id,
                job.user_id,
                job.kind.value,
                job.state.value,
                job.exit_reason.value if job.exit_reason else "",
                job.runtime or "",
                f"{job.created_at:%Y-%m-%d %H:%M:%S}",
                _number(job.queue_wait_seconds),
                _number(job.run_seconds),
                _number(job.peak_memory_mb, 0),
            ]
            for job in jobs
        ],
    )
    return 0


async def _admin_job(args: argparse.Namespace, settings: Settings) -> int:
    with Store.from_settings(settings) as store:
        try:
            job = store.get_job_admin(args.job_id)
        except StatAgentError as error:
            return _refused(error)
    container = None
    if job.container_id:
        async with _backend(settings) as backend:
            container = await backend.inspect(job.container_id)
    status = container.status if container else "removed"
    if args.json:
        _print_json({**_plain(job), "container_status": status if job.container_id else None})
        return 0
    rows = [
        ("job", job.job_id),
        ("user", job.user_id),
        ("kind", job.kind.value),
        ("state", job.state.value),
        ("exit reason", job.exit_reason.value if job.exit_reason else ""),
        ("exit code", "" if job.exit_code is None else str(job.exit_code)),
        ("error code", job.error_code or ""),
        ("user message", job.user_message or ""),
        ("dataset", job.dataset_id or ""),
        ("model", job.model_id or ""),
        ("controller", job.instance_id),
        ("created", str(job.created_at)),
        ("started", str(job.started_at or "")),
        ("finished", str(job.finished_at or "")),
        ("queue wait s", _number(job.queue_wait_seconds)),
        ("create s", _number(job.container_create_seconds)),
        ("start s", _number(job.container_start_seconds)),
        ("run s", _number(job.run_seconds)),
        ("peak memory MB", _number(job.peak_memory_mb, 0)),
        ("container", f"{job.container_id} ({status})" if job.container_id else ""),
        ("runtime", job.runtime or ""),
        ("image", job.image_id or ""),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print("\nspec:")
    print(json.dumps(job.spec, indent=2, ensure_ascii=False))
    if job.log_tail:
        print("\nlog tail:")
        print(job.log_tail.rstrip())
    return 0


async def _admin_containers(args: argparse.Namespace, settings: Settings) -> int:
    async with _backend(settings) as backend:
        containers = await backend.list_jobs()
    # A pool container's labels name no job: the job that claimed it is found by its container id.
    claimed: dict[str, JobRecord] = {}
    if settings.data_dir.is_dir():
        with Store.from_settings(settings) as store:
            claimed = {job.container_id: job for job in store.running_jobs() if job.container_id}
    rows = [_container_row(c, claimed.get(c.container_id)) for c in containers]
    if args.json:
        _print_json(rows)
        return 0
    _print_table(
        ["CONTAINER", "STATUS", "NODE", "JOB", "USER", "KIND", "RUNTIME", "CONTROLLER", "CREATED", "DATA DIR"],
        [
            [
                row["container_id"][:12],
                row["status"],
                row["node"] or "-",
                row["job_id"],
                row["user_id"],
                row["kind"],
                row["runtime"],
                row["instance_id"],
                row["created"],
                row["data_dir"],
            ]
            for row in rows
        ],
    )
    return 0


def _container_row(container: ContainerInfo, job: JobRecord | None) -> dict[str, Any]:
    """A listed container; an unclaimed running pool container's status is `idle`."""
    row = {**asdict(container), "runtime": container.runtime, "pool_slot": container.pool_slot}
    row["kind"] = container.labels.get(LABEL_KIND, "")
    row["created"] = container.labels.get(LABEL_CREATED, "")
    if container.pool_slot:
        if job is not None:
            row.update(job_id=job.job_id, user_id=job.user_id, kind=job.kind.value)
        elif container.running:
            row["status"] = "idle"
    return row


async def _admin_nodes(args: argparse.Namespace, settings: Settings) -> int:
    """Runs the node check (a test job per node) first: "has image" means a job ran it there."""
    if settings.backend != "swarm":
        print("`admin nodes` lists swarm nodes; this configuration runs jobs on one engine (backend: docker)")
        return 2
    from controller._swarm import SwarmBackend

    async with _backend(settings) as backend:
        assert isinstance(backend, SwarmBackend)
        image = settings.runner.image or await asyncio.to_thread(_current_image_tag, settings)
        try:
            await backend.resolve_image(image)
        except StatAgentError as error:  # no node has it: still list them
            log.warning("runner image not usable on the swarm", image=image, error=str(error))
        nodes = await backend.nodes()
    if args.json:
        _print_json({"image": image, "nodes": nodes})
        return 0
    print(f"runner image: {image}")
    _print_table(
        ["NODE", "ROLE", "STATE", "AVAILABILITY", "CPUS", "FREE CPUS", "MEMORY MB", "FREE MB", "IMAGE", "RUNTIME"],
        [
            [
                n.hostname,
                n.role,
                n.state,
                n.availability,
                _number(n.cpus, 1),
                _number(n.free_cpus, 1),
                str(n.memory_mb),
                str(n.free_memory_mb),
                "yes" if n.has_image else "no",
                n.runtime or "-",
            ]
            for n in nodes
        ],
    )
    return 0


async def _admin_load_image(args: argparse.Namespace, settings: Settings) -> int:
    """`docker save | docker load` over the engine APIs: no registry needed."""
    import docker

    from controller.image import copy_image

    image = settings.runner.image or await asyncio.to_thread(_current_image_tag, settings)
    report = []
    source = docker.from_env()
    try:
        for url in args.engine:
            target = docker.DockerClient(base_url=url, timeout=1800)
            try:
                copied = await asyncio.to_thread(copy_image, source, target, image=image)
            except docker.errors.DockerException as error:
                print(f"{url}: {error}", file=sys.stderr)
                return 2
            finally:
                target.close()
            report.append({"engine": url, "image": image, "copied": copied})
    finally:
        source.close()
    if args.json:
        _print_json(report)
    for row in [] if args.json else report:
        print(f"{row['engine']}: {'loaded' if row['copied'] else 'already had'} {row['image']}")
    return 0


async def _admin_kill(args: argparse.Namespace, settings: Settings) -> int:
    """Mark the job cancelled first, so its controller reads the kill as a cancellation."""
    async with _backend(settings) as backend:
        with Store.from_settings(settings) as store:
            try:
                job = store.get_job_admin(args.job_id)
            except StatAgentError as error:
                return _refused(error)
            if job.state in (JobState.QUEUED, JobState.RUNNING):
                store.update_job(job.job_id, **failure_fields(JobCancelled("cancelled by an admin")))
        containers = await backend.list_jobs(
            labels={LABEL_JOB_ID: job.job_id, LABEL_DATA_DIR: str(settings.data_dir)}
        )
        if job.container_id and job.container_id not in {c.container_id for c in containers}:
            claimed = await backend.inspect(job.container_id)  # a pool container names no job
            containers += [claimed] if claimed is not None and claimed.pool_slot else []
        live = await asyncio.to_thread(live_instance, settings.data_dir)
        for container in containers:
            await backend.kill(container.container_id)
            if container.instance_id != live:  # nobody else will remove it
                await backend.remove(container.container_id)
    report = {
        "job_id": job.job_id,
        "previous_state": job.state.value,
        "cancelled": job.state in (JobState.QUEUED, JobState.RUNNING),
        "containers_killed": [c.container_id for c in containers],
    }
    if args.json:
        _print_json(report)
    elif report["cancelled"]:
        print(f"{job.job_id} cancelled ({job.state.value} before); killed {len(containers)} container(s)")
    else:
        print(f"{job.job_id} had already finished ({job.state.value}); killed {len(containers)} container(s)")
    return 0


async def _admin_gc(args: argparse.Namespace, settings: Settings) -> int:
    """The reconcile step for whatever no live controller owns; never touches a live one's jobs."""
    async with _backend(settings) as backend:
        with Store.from_settings(settings) as store:
            report = await _collect_garbage(settings, store, backend)
    if args.json:
        _print_json(report)
    else:
        print(f"live controller: {report['live_controller'] or 'none'}")
        print(f"containers removed: {len(report['containers_removed'])}")
        print(f"jobs marked interrupted: {len(report['jobs_interrupted'])}")
        print(f"job folders cleaned: {report['job_dirs_cleaned']}")
        print(f"temporary files removed: {len(report['temp_removed'])}")
        print(f"job outputs expired: {len(report['outputs_expired'])}")
        print(f"runner images removed: {', '.join(report['images_removed']) or 'none'}")
    return 0


async def _collect_garbage(settings: Settings, store: Store, backend: ContainerBackend) -> dict[str, Any]:
    report = await _clean_after_dead_controllers(settings, store, backend)
    # Neither touches anything a live controller uses, so both run beside one too.
    expired = await asyncio.to_thread(expire_outputs, store, days=settings.retention.output_days)
    report["outputs_expired"] = [job.job_id for job in expired]
    report["images_removed"] = await asyncio.to_thread(_prune_images, settings, backend)
    return report


def _prune_images(settings: Settings, backend: ContainerBackend) -> list[str]:
    """Remove old runner images: all but this checkout's and the one before it."""
    from controller.image import prune_runner_images

    runner = settings.runner
    # Pinned: the service does not run by the hash tags, the operator keeps images. On a swarm
    # each node holds its own copy, which the operator loaded there and removes there.
    if runner.image or settings.backend == "swarm":
        return []
    return prune_runner_images(
        backend.client,  # type: ignore[attr-defined]  # the docker backend's engine
        repository=runner.image_repository,
        current=_current_image_tag(settings),
    )


def _current_image_tag(settings: Settings) -> str:
    """The runner image tag of this checkout (a content hash), as the controller computes it."""
    from controller._controller import _REPO_ROOT
    from controller.image import runner_image_tag

    return runner_image_tag(root=_REPO_ROOT, repository=settings.runner.image_repository)


async def _clean_after_dead_controllers(
    settings: Settings, store: Store, backend: ContainerBackend
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "containers_removed": [],
        "jobs_interrupted": [],
        "job_dirs_cleaned": 0,
        "temp_removed": [],
    }
    lock = await asyncio.to_thread(ControllerLock.try_acquire, settings.data_dir)
    if lock is None:  # a controller runs: only containers of other (dead) instances go
        holder = await asyncio.to_thread(live_instance, settings.data_dir)
        report["live_controller"] = holder
        if holder:  # an empty holder is a controller still starting: leave everything to it
            reaped = await reap_containers(
                settings=settings, store=store, backend=backend, spare=lambda c: c.instance_id == holder
            )
            report["containers_removed"] = [c.container_id for c in reaped]
        return report
    with lock:  # no controller: holding its lock, clean up everything, as a starting controller would
        from controller._pool import clean_pool_dirs

        report["live_controller"] = None
        reaped = await reap_containers(settings=settings, store=store, backend=backend, spare=lambda c: False)
        report["containers_removed"] = [c.container_id for c in reaped]
        await asyncio.to_thread(clean_pool_dirs, settings.data_dir, live=lambda slot: False)
        interrupted = await asyncio.to_thread(interrupt_orphan_jobs, store, live=())
        report["jobs_interrupted"] = [job.job_id for job in interrupted]
        report["job_dirs_cleaned"] = await asyncio.to_thread(clean_job_dirs, store, live=())
        removed = await asyncio.to_thread(store.sweep_temp, min_age_seconds=_ADMIN_SWEEP_MIN_AGE_SECONDS)
        report["temp_removed"] = [str(path) for path in removed]
    return report


# ------------------------------------------------------------------ output


def _plain(value: Any) -> Any:
    """A record as JSON-ready data."""
    if is_dataclass(value) and not isinstance(value, type):
        return {key: _plain(item) for key, item in asdict(value).items()}
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | Path):
        return str(value)
    return value


def _print_json(data: Any) -> None:
    print(json.dumps(_plain(data), indent=2, ensure_ascii=False))


def _print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    for line in [headers, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
    if not rows:
        print("(none)")


def _number(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"
