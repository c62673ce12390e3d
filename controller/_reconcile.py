"""Cleaning up after controllers that died (their containers, their jobs' rows, their folders)
and removing job output past its retention.

The controller runs these at start and periodically; `statagent admin gc` runs them from
another process, sparing whatever belongs to the live controller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta

from config import Settings
from errors import JobInterrupted, NotFoundError
from config.log import get_logger
from controller._backend import LABEL_DATA_DIR, ContainerBackend, ContainerInfo
from controller._execute import KEPT_DIR, failure_fields, release_job_dir, success_fields
from runner.spec import INPUT_DIR, OUTPUT_DIR, OUTPUT_MODEL_DIR, UPLOAD_FILE
from store import JobKind, JobRecord, JobState, Store, remove_path

__all__ = ["clean_job_dirs", "expire_outputs", "interrupt_orphan_jobs", "reap_containers"]

log = get_logger(__name__)


def _interrupted() -> JobInterrupted:
    return JobInterrupted("its controller stopped while the job ran")


async def reap_containers(
    *,
    settings: Settings,
    store: Store,
    backend: ContainerBackend,
    spare: Callable[[ContainerInfo], bool],
) -> list[ContainerInfo]:
    """Kill and remove this data directory's job containers that `spare` does not claim.

    The job of each becomes interrupted if its row still says running. A stopped container of
    a failed job stays when `container.keep_failed_containers` is on.
    """
    reaped = []
    for container in await backend.list_jobs(labels={LABEL_DATA_DIR: str(settings.data_dir)}):
        if spare(container):
            continue
        job = await _job_or_none(store, container.job_id)
        if (
            settings.container.keep_failed_containers
            and not container.running
            and job is not None
            and job.state == JobState.FAILED
        ):
            continue
        await backend.kill(container.container_id)
        await backend.remove(container.container_id)
        if job is not None and job.state == JobState.RUNNING:
            await asyncio.to_thread(store.update_job, job.job_id, **failure_fields(_interrupted()))
        log.warning(
            "removed an orphan job container",
            container_id=container.container_id,
            job_id=container.job_id,
            instance=container.instance_id,
        )
        reaped.append(container)
    return reaped


def interrupt_orphan_jobs(store: Store, *, live: Collection[str]) -> list[JobRecord]:
    """Mark running jobs that no live controller runs as interrupted (their container is gone).

    A training whose model was saved already (its plots were being drawn) succeeded instead:
    only its plots are lost. Returns the jobs marked interrupted.
    """
    interrupted = []
    for job in store.running_jobs():
        if job.job_id in live:
            continue
        if job.kind is JobKind.TRAIN and any(m.job_id == job.job_id for m in store.list_models(user_id=job.user_id)):
            store.update_job(job.job_id, **success_fields())
            log.warning("a restart cost a saved model's plots", job_id=job.job_id, user_id=job.user_id)
            continue
        store.update_job(job.job_id, **failure_fields(_interrupted()))
        log.warning("job interrupted by a restart", job_id=job.job_id, user_id=job.user_id)
        interrupted.append(job)
    return interrupted


def clean_job_dirs(store: Store, *, live: Collection[str]) -> int:
    """Remove job folders left by crashes; returns how many folders were touched.

    A succeeded job keeps its output (plots, predictions) but not its input copy; every other
    finished job, and a folder with no job, goes entirely.
    """
    touched = 0
    for user_id, job_id in store.list_job_dirs():
        if job_id in live:
            continue
        folder = store.job_dir(job_id, user_id)
        try:
            job = store.get_job_admin(job_id)
        except NotFoundError:
            job = None
        release_job_dir(folder)  # the output tmpfs of a job whose controller died
        if job is not None and job.state == JobState.SUCCEEDED:
            for leftover in (folder / INPUT_DIR, folder / UPLOAD_FILE, folder / KEPT_DIR, folder / OUTPUT_DIR / OUTPUT_MODEL_DIR):
                if leftover.exists():
                    remove_path(leftover)
                    touched += 1
        elif job is None or job.state != JobState.QUEUED:
            store.remove_job_dir(job_id, user_id)
            touched += 1
    return touched


def expire_outputs(store: Store, *, days: int) -> list[JobRecord]:
    """Remove what jobs that finished more than `days` days ago kept (plots, predictions).

    Only finished jobs qualify, so a queued or running job's output is never touched.
    """
    expired = store.expired_outputs(finished_before=datetime.now(UTC) - timedelta(days=days))
    for job in expired:
        store.expire_job_output(job.job_id, job.user_id)
        log.info("job output expired", job_id=job.job_id, user_id=job.user_id, bytes=job.output_bytes)
    return expired


async def _job_or_none(store: Store, job_id: str) -> JobRecord | None:
    try:
        return await asyncio.to_thread(store.get_job_admin, job_id)
    except NotFoundError:
        return None
