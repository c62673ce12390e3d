"""Crash safety: a controller killed mid-job leaves nothing behind once another one starts; nor does a stop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import pytest

from errors import JobCancelled, JobInterrupted
from controller import ContainerRequest, Controller, ControllerRunning, DockerBackend, JobStarted, TrainRequest
from controller._backend import StartedContainer
from controller._execute import failure_fields
from store import ExitReason, JobKind, JobRecord, JobState, Store

pytestmark = pytest.mark.docker

# A controller service in its own process: one slot, a long training that starts, a short one
# that waits behind it. It reports the job ids and the start, then runs until it is killed.
SERVICE = textwrap.dedent(
    """
    import asyncio, json, sys
    from config import load_settings
    from config.log import configure_logging
    from controller import Controller, JobStarted, TrainRequest
    from store import Store

    async def main():
        overrides, slow, quick = (json.loads(arg) for arg in sys.argv[1:4])
        settings = load_settings(env={}, overrides=overrides)
        configure_logging(settings.logging)  # to stderr: stdout is for the test
        with Store.from_settings(settings) as store:
            async with Controller(settings=settings, store=store) as controller:
                first = await controller.submit(TrainRequest(**slow))
                second = await controller.submit(TrainRequest(**quick))
                print(json.dumps({"running": first.job_id, "queued": second.job_id}), flush=True)
                async for event in first.events():
                    if isinstance(event, JobStarted):
                        print(json.dumps({"started": event.container_id}), flush=True)
                await first.result()

    asyncio.run(main())
    """
)


async def test_a_killed_controller_is_cleaned_up_after_and_its_queue_runs(
    settings, store, upload, regression_frame, heavy_frame, docker_client, job_containers, repo_root
) -> None:
    slow = upload("kim", heavy_frame(20_000))
    quick = upload("lee", regression_frame(40))
    overrides = {
        "data_dir": str(settings.data_dir),
        "runner": {"image": settings.runner.image},
        "queue": {"max_running": 1},
    }
    slow_task = {
        "user_id": "kim",
        "model_type": "random_forest",
        "dataset_id": slow.dataset_id,
        "target_column": "label",
        "hyperparameters": {"n_estimators": 500, "max_depth": 50},
    }
    quick_task = {"user_id": "lee", "model_type": "linear", "dataset_id": quick.dataset_id, "target_column": "price"}
    service = subprocess.Popen(
        [sys.executable, "-c", SERVICE, *(json.dumps(a) for a in (overrides, slow_task, quick_task))],
        # This checkout's code, as pytest's pythonpath gives it to the tests.
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(repo_root), str(repo_root / "runner-image")])},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        ids = json.loads(service.stdout.readline())
        started = json.loads(service.stdout.readline())
        time.sleep(1)  # well into the training
    finally:
        os.kill(service.pid, signal.SIGKILL)
        service.wait()
    running_id, queued_id = ids["running"], ids["queued"]

    orphan = docker_client.containers.get(started["started"])
    assert orphan.status == "running"
    assert store.get_job(user_id="kim", job_id=running_id).state == JobState.RUNNING
    assert store.get_job(user_id="lee", job_id=queued_id).state == JobState.QUEUED
    slow_model_id = store.get_job(user_id="kim", job_id=running_id).model_id

    async with Controller(settings=settings, store=store) as controller:
        assert not [c for c in job_containers() if c.id == orphan.id]
        interrupted = store.get_job(user_id="kim", job_id=running_id)
        assert interrupted.state == JobState.INTERRUPTED
        assert interrupted.exit_reason == ExitReason.INTERRUPTED and interrupted.user_message
        assert not store.job_dir(running_id, "kim").exists()

        # Only one controller per data directory: a second one would reap the first one's jobs.
        with pytest.raises(ControllerRunning):
            await Controller(settings=settings, store=store).start()

        resumed = controller.handle(job_id=queued_id, user_id="lee")
        assert resumed is not None
        outcome = await resumed.result()

    assert outcome.job.state == JobState.SUCCEEDED and outcome.model.user_id == "lee"
    assert [m.model_id for m in store.list_models(user_id="kim")] == []
    models = store.user_dir("kim") / "models"
    assert not models.exists() or not any(models.iterdir())
    assert not (store.user_dir("kim") / "models" / slow_model_id).exists()
    assert not job_containers()


@pytest.mark.parametrize("settings", [{"queue": {"max_running": 1}}], indirect=True, ids=["cap1"])
async def test_a_clean_stop_interrupts_running_jobs_and_keeps_waiting_ones_for_the_next_start(
    settings, store, upload, regression_frame, heavy_frame, job_containers
) -> None:
    slow = upload("mia", heavy_frame(20_000))
    quick = upload("ned", regression_frame(40))
    async with Controller(settings=settings, store=store) as controller:
        running = await controller.submit(
            TrainRequest(
                user_id="mia",
                model_type="random_forest",
                dataset_id=slow.dataset_id,
                target_column="label",
                hyperparameters={"n_estimators": 500, "max_depth": 50},
            )
        )
        waiting = await controller.submit(
            TrainRequest(user_id="ned", model_type="linear", dataset_id=quick.dataset_id, target_column="price")
        )
        async for event in running.events():
            if isinstance(event, JobStarted):
                break
    with pytest.raises(JobInterrupted):
        await running.result()
    with pytest.raises(JobInterrupted) as kept:
        await waiting.result()
    assert "runs when it is back" in kept.value.user_message
    assert store.get_job(user_id="mia", job_id=running.job_id).state == JobState.INTERRUPTED
    assert store.get_job(user_id="ned", job_id=waiting.job_id).state == JobState.QUEUED
    assert not job_containers()

    async with Controller(settings=settings, store=store) as controller:
        outcome = await controller.handle(job_id=waiting.job_id, user_id="ned").result()
    assert outcome.job.state == JobState.SUCCEEDED


class _SlowStart(DockerBackend):
    """The real backend, whose engine calls to create a container begin a moment late."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.finished = threading.Event(), threading.Event()

    def _start(self, request: ContainerRequest) -> StartedContainer:
        self.entered.set()
        time.sleep(0.5)
        try:
            return super()._start(request)
        finally:
            self.finished.set()


async def test_a_stop_while_a_container_is_being_created_still_removes_it(
    settings, store, upload, regression_frame, job_containers
) -> None:
    dataset = upload("otto", regression_frame(40))
    backend = _SlowStart()
    try:
        controller = Controller(settings=settings, store=store, backend=backend)
        await controller.start()
        handle = await controller.submit(
            TrainRequest(user_id="otto", model_type="linear", dataset_id=dataset.dataset_id, target_column="price")
        )
        assert await asyncio.to_thread(backend.entered.wait, 10)
        await controller.stop()  # while the engine is still creating the job's container
        assert await asyncio.to_thread(backend.finished.wait, 10)
        with pytest.raises(JobInterrupted):
            await handle.result()
        assert not job_containers()
        job = store.get_job(user_id="otto", job_id=handle.job_id)
        assert job.state == JobState.INTERRUPTED and job.container_id
    finally:
        await backend.close()


async def test_an_admin_cancel_while_the_container_is_created_ends_the_job_as_cancelled(
    settings, store, upload, heavy_frame, job_containers
) -> None:
    dataset = upload("olga", heavy_frame(20_000))
    backend = _SlowStart()
    try:
        async with Controller(settings=settings, store=store, backend=backend) as controller:
            handle = await controller.submit(
                TrainRequest(
                    user_id="olga",
                    model_type="random_forest",
                    dataset_id=dataset.dataset_id,
                    target_column="label",
                    hyperparameters={"n_estimators": 500, "max_depth": 50},
                )
            )
            assert await asyncio.to_thread(backend.entered.wait, 10)
            # What `statagent admin kill` writes, before any container exists to kill.
            store.update_job(handle.job_id, **failure_fields(JobCancelled("cancelled by an admin")))
            # The training would take minutes; the controller must stop it as soon as it starts.
            with pytest.raises(JobCancelled):
                await asyncio.wait_for(handle.result(), timeout=20)
        job = store.get_job(user_id="olga", job_id=handle.job_id)
        assert (job.state, job.exit_reason) == (JobState.CANCELLED, ExitReason.CANCELLED)
        assert not job_containers()
    finally:
        await backend.close()


class _SlowRecords(Store):
    """The real store, whose recording of a new job takes a moment."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.entered = threading.Event()

    def create_job(self, **fields: Any) -> JobRecord:
        self.entered.set()
        time.sleep(0.3)
        return super().create_job(**fields)


async def test_a_job_submitted_while_the_controller_stops_is_kept_for_the_next_start(
    settings, upload, regression_frame, job_containers
) -> None:
    dataset = upload("pia", regression_frame(40))
    with _SlowRecords.from_settings(settings) as store:
        controller = Controller(settings=settings, store=store)
        await controller.start()
        submitting = asyncio.create_task(
            controller.submit(
                TrainRequest(user_id="pia", model_type="linear", dataset_id=dataset.dataset_id, target_column="price")
            )
        )
        assert await asyncio.to_thread(store.entered.wait, 10)
        await controller.stop()  # while the job's record is being written
        handle = await submitting
        with pytest.raises(JobInterrupted) as kept:
            await asyncio.wait_for(handle.result(), 5)
        assert "runs when it is back" in kept.value.user_message
        assert store.get_job(user_id="pia", job_id=handle.job_id).state == JobState.QUEUED
    assert not job_containers()


@pytest.mark.parametrize("settings", [{"queue": {"reconcile_interval_seconds": 0.2}}], indirect=True)
async def test_the_periodic_round_removes_job_folders_no_live_job_owns(settings, store) -> None:
    async with Controller(settings=settings, store=store):
        # Left behind after the controller started: a failed job's folder and one with no job at all.
        failed = store.create_job(user_id="pia", kind=JobKind.TRAIN, spec={}, instance_id="ctl-gone")
        store.update_job(failed.job_id, state=JobState.FAILED, exit_reason=ExitReason.CRASHED)
        strays = [store.job_dir(failed.job_id, "pia"), store.job_dir(store.new_job_id(), "pia")]
        for folder in strays:
            (folder / "input").mkdir(parents=True)
        for _ in range(50):
            if not any(folder.exists() for folder in strays):
                break
            await asyncio.sleep(0.1)
        assert not any(folder.exists() for folder in strays)
