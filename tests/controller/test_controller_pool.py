"""The warm pool: pre-started single-use job containers, on a real engine with the real runner image."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
from typing import Any

import docker
import docker.errors
import pytest

from config import Settings
from controller import Controller, DockerBackend, JobStarted, TrainRequest
from controller._backend import LABEL_DATA_DIR, LABEL_POOL
from controller._execute import JobContext, container_request
from controller._pool import POOL_DIR, PoolSlot, WarmPool, pool_size
from controller.explore import ExploreRequest
from controller._commands import _admin_containers, _collect_garbage
from runner.spec import ExploreWhat, PlotKind
from store import JobKind, JobState

pytestmark = pytest.mark.docker

# Waiting for the pool to fill is waiting for containers to start and import: generous, never a measure.
_FILL_SECONDS = 120


def _pool(**queue: Any) -> pytest.MarkDecorator:
    sections = {"pool": {"size": queue.pop("size")}, "queue": {"max_running": queue.pop("max_running", 1)}}
    return pytest.mark.parametrize("settings", [sections], indirect=True, ids=[""])


async def _filled(pool: WarmPool, count: int | None = None) -> list[PoolSlot]:
    """The pool's idle slots once it holds `count` (its size by default) running containers."""
    wanted = pool.size if count is None else count
    for _ in range(int(_FILL_SECONDS / 0.1)):
        if len(pool.idle) >= wanted:
            return pool.idle
        await asyncio.sleep(0.1)
    raise AssertionError(f"the pool did not fill to {wanted} in {_FILL_SECONDS} s")


def _pool_containers(client: docker.DockerClient, settings: Settings) -> list[Any]:
    return client.containers.list(
        all=True, filters={"label": [LABEL_POOL, f"{LABEL_DATA_DIR}={settings.data_dir}"]}
    )


def _gone(client: docker.DockerClient, container_id: str) -> bool:
    try:
        client.containers.get(container_id)
    except docker.errors.NotFound:
        return True
    return False


def _started(events: list) -> str:
    (started,) = [event.container_id for event in events if isinstance(event, JobStarted)]
    return started


def _train(user_id: str, dataset_id: str, **fields: Any) -> TrainRequest:
    return TrainRequest(user_id=user_id, model_type="linear", dataset_id=dataset_id, target_column="price", **fields)


@_pool(size=1)
async def test_a_pool_container_takes_one_job_and_is_removed_after_it(
    settings, store, upload, regression_frame, docker_client, job_containers
) -> None:
    dataset = upload("ann", regression_frame(80))
    async with Controller(settings=settings, store=store) as controller:
        assert controller.pool is not None and controller.pool.size == 1
        (slot,) = await _filled(controller.pool)
        assert slot.folder.parent == settings.data_dir / POOL_DIR and (slot.folder / "output").is_dir()
        for _ in range(int(_FILL_SECONDS / 0.1)):  # its runner has imported everything and waits
            if slot.ready:
                break
            await asyncio.sleep(0.1)
        assert slot.ready
        handle = await controller.submit(_train("ann", dataset.dataset_id))
        events = [event async for event in handle.events()]
        outcome = await handle.result()
        assert _started(events) == slot.container_id == outcome.job.container_id
        await controller.settled()  # the exited container is removed after the outcome
        assert _gone(docker_client, slot.container_id) and not slot.folder.exists()
        # The job's own folder keeps what a cold job keeps; its input was only ever in the slot.
        job_dir = store.job_dir(outcome.job.job_id, "ann")
        assert outcome.plots and all(plot.parent.parent == job_dir / "output" for plot in outcome.plots)
        assert not (job_dir / "input").exists()
        (refill,) = await _filled(controller.pool)
        assert refill.container_id != slot.container_id and refill.folder != slot.folder
    assert outcome.job.state == JobState.SUCCEEDED and outcome.model is not None
    assert not job_containers() and not any((settings.data_dir / POOL_DIR).iterdir())


@_pool(size=1)
async def test_an_explore_job_takes_a_warm_container_too(
    settings, store, upload, regression_frame, docker_client, job_containers
) -> None:
    dataset = upload("eve", regression_frame(60))
    request = ExploreRequest(
        user_id="eve", dataset_id=dataset.dataset_id, what=ExploreWhat.PLOT, plot=PlotKind.HISTOGRAM, columns=["price"]
    )
    async with Controller(settings=settings, store=store) as controller:
        (slot,) = await _filled(controller.pool)
        outcome = await (await controller.submit_explore(request)).result()
        assert outcome.job.container_id == slot.container_id
        await controller.settled()
        assert _gone(docker_client, slot.container_id) and not slot.folder.exists()
    assert outcome.job.state == JobState.SUCCEEDED and outcome.plots
    assert not job_containers()


@_pool(size=2, max_running=2)
async def test_jobs_never_share_a_pool_container_or_folder_and_each_has_its_own_interpreter(
    settings, make_settings, store, upload, regression_frame, docker_client, job_containers
) -> None:
    """A random forest draws from its seeded generator: in its own interpreter each warm job
    gives exactly what a cold one gives, whatever ran in the other containers before."""
    frame = regression_frame(120)
    datasets = {user: upload(user, frame) for user in ("bea", "cal")}
    forest = {"model_type": "random_forest", "hyperparameters": {"n_estimators": 20}}

    def task(user: str) -> TrainRequest:
        return TrainRequest(user_id=user, dataset_id=datasets[user].dataset_id, target_column="price", **forest)

    async with Controller(settings=make_settings(), store=store) as cold:  # no pool
        reference = await (await cold.submit(task("bea"))).result()
    assert reference.job.container_id
    async with Controller(settings=settings, store=store) as controller:
        idle = {slot.container_id: slot.folder for slot in await _filled(controller.pool)}
        handles = [await controller.submit(task(user)) for user in ("bea", "cal")]
        outcomes = [await handle.result() for handle in handles]
        used = [outcome.job.container_id for outcome in outcomes]
        assert len(set(used)) == 2 and set(used) <= set(idle)
        await controller.settled()
        assert all(_gone(docker_client, container_id) and not idle[container_id].exists() for container_id in used)
        again = await (await controller.submit(task("bea"))).result()
        assert again.job.container_id not in used
    for outcome in (*outcomes, again):
        assert outcome.result.train.metrics == reference.result.train.metrics
    assert not job_containers()


@_pool(size=1, max_running=2)
async def test_a_job_that_finds_the_pool_empty_starts_cold(
    settings, store, upload, regression_frame, docker_client, job_containers
) -> None:
    dataset = upload("dan", regression_frame(60))
    async with Controller(settings=settings, store=store) as controller:
        (slot,) = await _filled(controller.pool)
        controller.pool.size = 0  # no refill: the second job finds the pool empty
        first = await (await controller.submit(_train("dan", dataset.dataset_id))).result()
        second = await (await controller.submit(_train("dan", dataset.dataset_id))).result()
    assert first.job.container_id == slot.container_id
    assert second.job.container_id != slot.container_id and second.job.state == JobState.SUCCEEDED
    assert second.job.container_create_seconds and second.job.container_create_seconds > 0
    assert not job_containers()


@_pool(size=1)
async def test_an_idle_pool_container_that_dies_is_replaced(settings, store, docker_client, job_containers) -> None:
    async with Controller(settings=settings, store=store) as controller:
        (dead,) = await _filled(controller.pool)
        docker_client.containers.get(dead.container_id).kill()
        await controller.pool.check()
        (fresh,) = await _filled(controller.pool)
        assert fresh.container_id != dead.container_id
        assert _gone(docker_client, dead.container_id) and not dead.folder.exists()
        assert docker_client.containers.get(fresh.container_id).status == "running"
    assert not job_containers()


@_pool(size=1)
async def test_a_new_runner_image_replaces_the_pool(
    settings, store, runner_image, docker_client, job_containers
) -> None:
    # Another image id for the same runner: a new build, as a change of its code would make.
    newer, _ = docker_client.images.build(
        fileobj=io.BytesIO(f"FROM {runner_image}\nLABEL statagent.test=newer-runner\n".encode()), rm=True
    )
    try:
        async with Controller(settings=settings, store=store) as controller:
            (old,) = await _filled(controller.pool)
            assert await controller.pool.claim(newer.id) is None  # this job starts cold
            assert _gone(docker_client, old.container_id) and not old.folder.exists()
            (fresh,) = await _filled(controller.pool)
            assert docker_client.containers.get(fresh.container_id).image.id == newer.id
        assert not job_containers()
    finally:
        docker_client.images.remove(newer.id, force=True)


async def test_a_pool_container_is_locked_down_as_a_cold_jobs_container(
    make_settings, store, runner_image, docker_client, job_containers
) -> None:
    settings = make_settings(pool={"size": 1}, queue={"max_running": 1})
    async with Controller(settings=settings, store=store) as controller:
        (slot,) = await _filled(controller.pool)
        warm = docker_client.api.inspect_container(slot.container_id)
    # A cold training job's container, from the same request builder, on a folder of its own.
    async with DockerBackend() as backend:
        folder = settings.data_dir / "cold"
        (folder / "input").mkdir(parents=True)
        (folder / "output").mkdir()
        runtime = await backend.resolve_runtime(settings.container.runtime)
        resolved = settings.model_copy(update={"container": settings.container.model_copy(update={"runtime": runtime})})
        ctx = JobContext(resolved, store, backend, "test-lockdown")
        request = container_request(ctx, kind=JobKind.TRAIN, folder=folder, image_id=runner_image)
        request = type(request)(**{**request.__dict__, "job_id": "job_00000000cafe", "entrypoint": ("true",)})
        started = await backend.start(request)
        cold = docker_client.api.inspect_container(started.container_id)
        await backend.remove(started.container_id)

    def mounts(inspected: dict) -> list[tuple[str, bool]]:
        return sorted((m["Target"], m.get("ReadOnly", False)) for m in inspected["HostConfig"]["Mounts"])

    differing = {
        key
        for key in warm["HostConfig"].keys() | cold["HostConfig"].keys()
        if warm["HostConfig"].get(key) != cold["HostConfig"].get(key)
    }
    assert differing == {"Mounts"}  # network, caps, read-only root, runtime, ulimits, limits: all equal
    assert mounts(cold) == [("/job/input", True), ("/job/output", False)]
    assert mounts(warm) == [("/job/input", True), ("/job/model", True), ("/job/output", False)]
    assert warm["Config"]["User"] == cold["Config"]["User"] == settings.runner.user
    assert warm["Config"]["Labels"][LABEL_POOL] == slot.slot_id
    assert warm["Config"]["Cmd"][-1] == "pool" and cold["Config"]["Cmd"][-1] == "train"
    assert warm["Config"]["Cmd"][:2] == cold["Config"]["Cmd"][:2]  # the same outer deadline
    assert not job_containers()


# A service with a warm pool in its own process; it says when its pool is full, then waits to be killed.
SERVICE = textwrap.dedent(
    """
    import asyncio, json, sys
    from config import load_settings
    from config.log import configure_logging
    from controller import Controller
    from store import Store

    async def main():
        settings = load_settings(env={}, overrides=json.loads(sys.argv[1]))
        configure_logging(settings.logging)
        with Store.from_settings(settings) as store:
            async with Controller(settings=settings, store=store) as controller:
                while len(controller.pool.idle) < controller.pool.size:
                    await asyncio.sleep(0.1)
                print(json.dumps([slot.container_id for slot in controller.pool.idle]), flush=True)
                await asyncio.Event().wait()

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("cleaner", ["restart", "admin gc"])
async def test_a_killed_services_idle_pool_containers_are_removed(
    cleaner, settings, store, docker_client, job_containers, capsys, repo_root
) -> None:
    overrides = {
        "data_dir": str(settings.data_dir),
        "runner": {"image": settings.runner.image},
        "container": {"memory_mb": settings.container.memory_mb},
        "queue": {"max_running": 2},
        "pool": {"size": 2},
    }
    service = subprocess.Popen(
        [sys.executable, "-c", SERVICE, json.dumps(overrides)],
        # This checkout's code, as pytest's pythonpath gives it to the tests.
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(repo_root), str(repo_root / "runner-image")])},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        idle = json.loads(service.stdout.readline())
    finally:
        os.kill(service.pid, signal.SIGKILL)
        service.wait()
    assert len(idle) == 2 and {c.id for c in _pool_containers(docker_client, settings)} == set(idle)

    capsys.readouterr()
    await _admin_containers(argparse.Namespace(json=True), settings)
    listed = {row["container_id"]: row for row in json.loads(capsys.readouterr().out)}
    assert all(listed[container_id]["status"] == "idle" for container_id in idle)

    if cleaner == "restart":
        async with Controller(settings=settings, store=store):
            assert not _pool_containers(docker_client, settings)  # this controller has no pool
    else:
        async with DockerBackend() as backend:
            report = await _collect_garbage(settings, store, backend)
        assert set(idle) <= set(report["containers_removed"])
    assert not _pool_containers(docker_client, settings) and not job_containers()
    assert not any((settings.data_dir / POOL_DIR).iterdir())


@_pool(size=1)
async def test_admin_gc_beside_a_live_service_spares_its_pool(settings, store, docker_client, job_containers) -> None:
    async with Controller(settings=settings, store=store) as controller:
        (slot,) = await _filled(controller.pool)
        async with DockerBackend() as backend:
            report = await _collect_garbage(settings, store, backend)
        assert report["containers_removed"] == [] and slot.folder.is_dir()
        assert docker_client.containers.get(slot.container_id).status == "running"
    assert not job_containers() and not _pool_containers(docker_client, settings)


def test_the_pool_size_defaults_to_the_running_cap_and_shrinks_to_the_hosts_memory(make_settings) -> None:
    host_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    assert pool_size(make_settings(pool={"size": None}, queue={"max_running": 2})) == 2
    assert pool_size(make_settings(pool={"size": 0})) == 0
    # Two full-size jobs leave room for exactly one idle container of this size.
    crowded = make_settings(
        pool={"size": 3, "idle_memory_mb": 1000}, queue={"max_running": 2}, container={"memory_mb": (host_mb - 1500) // 2}
    )
    assert pool_size(crowded) == 1
    assert pool_size(make_settings(pool={"size": 3}, queue={"max_running": 1}, container={"memory_mb": host_mb})) == 0
