"""The swarm backend on a real multi-node Docker Swarm: two engines in network namespaces of their
own (tests/controller/swarm_cluster.py), the same jobs and lockdown as on one engine.

The host's engine is never put into swarm mode: the nodes are engines these tests start.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import docker
import pytest
from swarm_cluster import BLIND, Node, swarm_cluster, unavailable
from test_controller_cli import _run
from test_controller_confinement import PROBE, _request

from config import Settings
from errors import ConfigError, JobCancelled, JobInterrupted, JobTimeout
from controller import Controller, JobProgress, JobStarted, SwarmBackend, TrainRequest
from controller._backend import LABEL_INSTANCE, LABEL_JOB_ID, ContainerRequest, StartedContainer
from controller._reconcile import reap_containers
from controller._swarm import image_label
from store import ExitReason, JobState, Store

_WHY_NOT = unavailable()
pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(_WHY_NOT is not None, reason=f"no multi-node swarm on this machine: {_WHY_NOT}"),
]

NODES = 2


# A fresh swarm per test (a few seconds: the engines keep their images): Docker 20.10's
# constraint enforcer counts the reservations of completed job tasks that linger after their
# service is gone, and rejects later tasks on that node when it next sees the node change.
@pytest.fixture
def cluster(runner_image: str, docker_client: docker.DockerClient) -> Iterator[list[Node]]:
    with swarm_cluster(nodes=NODES, image_id=runner_image, source=docker_client) as nodes:
        yield nodes


@pytest.fixture
def swarm_settings(make_settings: Callable[..., Settings], cluster: list[Node]) -> Settings:
    return make_settings(
        backend="swarm",
        swarm={"manager_url": cluster[0].url, "node_check_timeout_seconds": 120},
        container={"memory_mb": 512, "cpus": 1.0, "train_timeout_seconds": 120},
        queue={"max_running": 4, "per_user_running": 1},
        # The deadline and the drained node need jobs that run a while; the estimate would refuse them.
        ml_engine={"check_time_estimate": False},
    )


@pytest.fixture
async def backend(swarm_settings: Settings) -> AsyncIterator[SwarmBackend]:
    opened = SwarmBackend(settings=swarm_settings)
    yield opened
    await opened.close()


def _services(cluster: list[Node]) -> list[dict]:
    assert cluster[0].client is not None
    return cluster[0].client.api.services(filters={"label": LABEL_JOB_ID})


def _job_networks(cluster: list[Node]) -> list[dict]:
    assert cluster[0].client is not None
    return cluster[0].client.api.networks(filters={"label": LABEL_JOB_ID})


async def _all_removed(cluster: list[Node], settings: Settings, backend: SwarmBackend) -> None:
    """No job service is left; a job network only where the manager still holds it, and then the
    reconcile still lists it, so it keeps trying (README: a Docker 20.10 limit).

    A network outlives its service until the task's endpoint leaves it; on these nested engines
    that can take longer than a job's clean-up waits, and on 20.10 a removed job's network can
    stay in use long after (with its ended task listed or not).
    """
    assert not _services(cluster)
    for attempt in range(2):
        for _ in range(40):
            if not _job_networks(cluster):
                return
            await asyncio.sleep(0.25)
        if attempt == 0:
            with Store.from_settings(settings) as store:
                await reap_containers(settings=settings, store=store, backend=backend, spare=lambda c: False)
    left = {network["Id"] for network in _job_networks(cluster)}
    listed = {info.container_id: info for info in await backend.list_jobs()}
    assert left <= set(listed), (left, listed)
    assert all(listed[network].status == "network" for network in left)


async def test_the_node_check_labels_every_node_that_has_the_image(
    backend: SwarmBackend, runner_image: str, cluster: list[Node]
) -> None:
    checked = await backend.check_nodes(runner_image)
    assert len(checked) == NODES
    nodes = await backend.nodes()
    assert {node.hostname for node in nodes} == {node.hostname for node in cluster}
    assert all(node.has_image and node.state == "ready" and node.free_memory_mb > 0 for node in nodes)
    runtime = await backend.resolve_runtime("auto")
    assert {node.runtime for node in nodes} == {runtime}
    assert cluster[0].client is not None
    labelled = [n for n in cluster[0].client.api.nodes() if n["Spec"]["Labels"].get(image_label(runner_image))]
    assert len(labelled) == NODES


async def test_admin_nodes_lists_each_node_with_its_free_capacity_and_the_image(
    swarm_settings: Settings, cluster: list[Node], runner_image: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await _run(swarm_settings, "admin", "nodes", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["image"] == runner_image
    by_name = {node["hostname"]: node for node in listed["nodes"]}
    assert set(by_name) == {node.hostname for node in cluster}
    assert all(node["has_image"] and 0 < node["free_cpus"] <= node["cpus"] for node in by_name.values())
    assert by_name[cluster[0].hostname]["role"] == "manager" and by_name[cluster[1].hostname]["role"] == "worker"
    assert await _run(swarm_settings, "admin", "nodes") == 0
    table = capsys.readouterr().out
    assert all(node.hostname in table for node in cluster) and "FREE CPUS" in table


async def test_a_node_that_cannot_see_the_data_directory_is_named_at_start(
    make_settings: Callable[..., Settings], cluster: list[Node], runner_image: str, tmp_path: Path
) -> None:
    blind_dir = BLIND / tmp_path.name
    settings = make_settings(
        data_dir=str(blind_dir / "data"), backend="swarm", swarm={"manager_url": cluster[0].url}
    )
    blind_dir.mkdir(exist_ok=True)
    try:
        with Store.from_settings(settings) as store:
            with pytest.raises(ConfigError, match=f"{cluster[1].hostname} .*do not see the data directory"):
                async with Controller(settings=settings, store=store):
                    pass
    finally:
        shutil.rmtree(blind_dir, ignore_errors=True)
    assert not _services(cluster)


async def test_jobs_from_several_users_run_on_more_than_one_node(
    swarm_settings: Settings, backend: SwarmBackend, upload, regression_frame, cluster: list[Node]
) -> None:
    with Store.from_settings(swarm_settings) as store:
        async with Controller(settings=swarm_settings, store=store) as controller:
            users = [f"user{i}" for i in range(4)]
            datasets = {user: upload(user, regression_frame(80, seed=i)) for i, user in enumerate(users)}
            handles = [
                await controller.submit(
                    TrainRequest(
                        user_id=user,
                        model_type="linear",
                        dataset_id=datasets[user].dataset_id,
                        target_column="price",
                    )
                )
                for user in users
            ]
            progress = {handle.job_id: [] for handle in handles}

            async def follow(handle) -> None:
                async for event in handle.events():
                    if isinstance(event, JobProgress):
                        progress[handle.job_id].append(event.percent)

            await asyncio.gather(*(follow(handle) for handle in handles))
            outcomes = [await handle.result() for handle in handles]
        jobs = [store.get_job_admin(outcome.job.job_id) for outcome in outcomes]
    assert all(job.state == JobState.SUCCEEDED for job in jobs)
    assert all(outcome.result.train.metrics["test"]["r2"] > 0.9 for outcome in outcomes)
    assert all(progress.values()), progress
    nodes = {_ran_on(job.log_tail) for job in jobs}
    assert nodes == {node.hostname for node in cluster}, [job.log_tail for job in jobs]
    await _all_removed(cluster, swarm_settings, backend)


def _ran_on(log_tail: str | None) -> str:
    line = [line for line in (log_tail or "").splitlines() if line.startswith("[swarm]")][-1]
    return line.split(" on node ")[1].split(":")[0].strip()


async def test_a_job_service_is_locked_down_and_its_network_is_internal(
    backend: SwarmBackend, swarm_settings: Settings, runner_image: str, tmp_path: Path, cluster: list[Node]
) -> None:
    await backend.resolve_image(runner_image)
    other_user = swarm_settings.data_dir / "users" / "someone_else"
    other_user.mkdir(parents=True)
    hidden = [str(other_user), str(swarm_settings.data_dir), "/work", str(tmp_path)]
    model = swarm_settings.data_dir / "model"  # as a prediction job has its model: read-only
    model.mkdir()
    (model / "metadata.json").write_text("{}")
    request = _request(
        swarm_settings,
        runner_image,
        swarm_settings.data_dir / "job",
        model_dir=model,
        entrypoint=("python", "-c", PROBE, json.dumps(hidden)),
    )
    started = await backend.start(request)
    try:
        api = cluster[0].client.api
        service = api.inspect_service(started.container_id)
        [attachment] = service["Spec"]["TaskTemplate"]["Networks"]
        network = api.inspect_network(attachment["Target"])
        ended = await backend.wait(started.container_id, timeout=120)
        assert ended is not None and ended.exit_code == 0, await backend.logs_tail(started.container_id)
        logs = await backend.logs_tail(started.container_id, lines=200)
    finally:
        await backend.remove(started.container_id)
    report = json.loads([line for line in logs.splitlines() if line.startswith("{")][-1])

    assert network["Internal"] is True and network["Driver"] == "overlay"
    assert not [route for route in report["routes"] if route.split()[1] == "00000000"], report["routes"]
    assert (report["uid"], report["gid"]) == (10001, 10001)
    assert int(report["cap_eff"], 16) == 0
    assert not report["write_root"] and not report["write_etc"] and not report["write_input"]
    assert report["write_output"] and report["write_tmp"]
    assert not report["write_model"] and report["model"] == ["metadata.json"]
    assert report["job"] == ["input", "model", "output"] and report["input"] == ["job.json"]
    assert not any(report["visible"].values()), report["visible"]

    template = service["Spec"]["TaskTemplate"]
    spec, resources = template["ContainerSpec"], template["Resources"]
    limits = swarm_settings.container
    assert service["Spec"]["Mode"] == {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}}
    assert spec["Image"] == runner_image and spec["ReadOnly"] is True and spec["User"] == "10001:10001"
    assert spec["CapabilityDrop"] == ["ALL"] and not spec.get("CapabilityAdd")
    assert resources["Limits"] == {
        "NanoCPUs": int(limits.cpus * 1e9),
        "MemoryBytes": limits.memory_mb * 2**20,
        "Pids": limits.pids,
    }
    # Memory is reserved, so the scheduler places jobs where it is free; CPUs only with swarm.reserve_cpus.
    assert resources["Reservations"] == {"MemoryBytes": limits.memory_mb * 2**20}
    assert {u["Name"] for u in spec["Ulimits"]} == {"fsize", "nofile", "cpu"}
    assert template["Placement"]["Constraints"] == [f"node.labels.{image_label(runner_image)}==true"]
    assert spec["Labels"][LABEL_JOB_ID] == request.job_id and service["Spec"]["Labels"][LABEL_JOB_ID] == request.job_id
    await _all_removed(cluster, swarm_settings, backend)


async def test_memory_cap_cancel_and_timeout_are_reported_as_on_one_engine(
    backend: SwarmBackend, swarm_settings: Settings, runner_image: str, cluster: list[Node]
) -> None:
    await backend.resolve_image(runner_image)
    settings = swarm_settings.model_copy(
        update={"container": swarm_settings.container.model_copy(update={"memory_mb": 128})}
    )
    hog = _request(
        settings,
        runner_image,
        settings.data_dir / "hog",
        entrypoint=("python", "-c", "x = bytearray(600 * 2**20); print(len(x))"),
    )
    hog = dataclasses.replace(hog, job_id="job_00000000f00d")
    sleeper = _request(
        settings, runner_image, settings.data_dir / "sleeper", entrypoint=("sh", "-c", "echo waiting; sleep 120")
    )
    sleeper = dataclasses.replace(sleeper, job_id="job_00000000beef")
    started = [await backend.start(hog), await backend.start(sleeper)]
    try:
        oom = await backend.wait(started[0].container_id, timeout=120)
        assert oom is not None and oom.oom_killed and oom.exit_code == 137, await backend.logs_tail(
            started[0].container_id
        )
        still = await backend.wait(started[1].container_id, timeout=0.5)
        assert still is None, await backend.logs_tail(started[1].container_id)  # still running
        async for line in backend.stdout_lines(started[1].container_id, max_lines=1):
            assert line == "waiting"
        await backend.kill(started[1].container_id)
        killed = await backend.wait(started[1].container_id, timeout=60)
        assert killed is not None and not killed.oom_killed
        assert "waiting" in await backend.logs_tail(started[1].container_id)
    finally:
        for one in started:
            await backend.remove(one.container_id)
    await _all_removed(cluster, swarm_settings, backend)


async def test_timeout_and_cancel_through_the_controller(
    swarm_settings: Settings, backend: SwarmBackend, upload, heavy_frame, cluster: list[Node]
) -> None:
    settings = swarm_settings.model_copy(
        update={"container": swarm_settings.container.model_copy(update={"train_timeout_seconds": 3})}
    )
    with Store.from_settings(settings) as store:
        async with Controller(settings=settings, store=store) as controller:
            slow = upload("slow", heavy_frame(20_000))
            task = TrainRequest(
                user_id="slow",
                model_type="random_forest",
                dataset_id=slow.dataset_id,
                target_column="label",
                hyperparameters={"n_estimators": 500, "max_depth": 50},
            )
            timed_out = await controller.submit(task)
            with pytest.raises(JobTimeout):
                await timed_out.result()
        job = store.get_job_admin(timed_out.job_id)
        assert job.exit_reason == ExitReason.TIMEOUT
        settings = swarm_settings
        async with Controller(settings=settings, store=store) as controller:
            cancelled = await controller.submit(task)
            async for event in cancelled.events():
                if isinstance(event, JobStarted):
                    await controller.cancel(job_id=cancelled.job_id, user_id=None)
            with pytest.raises(JobCancelled):
                await cancelled.result()
        assert store.get_job_admin(cancelled.job_id).state == JobState.CANCELLED
    await _all_removed(cluster, swarm_settings, backend)


async def test_reconcile_removes_services_and_networks_of_a_dead_controller(
    backend: SwarmBackend, swarm_settings: Settings, runner_image: str, cluster: list[Node]
) -> None:
    await backend.resolve_image(runner_image)
    request = _request(
        swarm_settings, runner_image, swarm_settings.data_dir / "orphan", entrypoint=("sleep", "120")
    )
    request = dataclasses.replace(request, instance_id="ctl-dead")
    started = await backend.start(request)
    # A network whose service never came (a crash between the two calls).
    cluster[0].client.api.create_network(
        "statagent-job_00000000dead",
        driver="overlay",
        internal=True,
        labels={**request.labels(), LABEL_INSTANCE: "ctl-dead", LABEL_JOB_ID: "job_00000000dead"},
    )
    listed = await backend.list_jobs()
    assert {info.status for info in listed} >= {"network"}
    with Store.from_settings(swarm_settings) as store:
        reaped = await reap_containers(settings=swarm_settings, store=store, backend=backend, spare=lambda c: False)
    assert started.container_id in {info.container_id for info in reaped}
    assert not _services(cluster)
    for _ in range(40):
        if not _job_networks(cluster):
            break
        await asyncio.sleep(0.25)
    assert not _job_networks(cluster)


class _InputMissing(SwarmBackend):
    """A job's first `rejections` services bind an input folder no node has: the swarm rejects
    their task before any container starts (the bind source does not exist)."""

    rejections = 0
    names: list[str]

    async def start(self, request: ContainerRequest) -> StartedContainer:
        self.names.append(request.name)
        if request.attempt < self.rejections:
            request = dataclasses.replace(request, input_dir=request.input_dir.with_name("missing"))
        return await super().start(request)


async def test_a_job_whose_task_never_ran_is_resubmitted_as_a_new_service(
    swarm_settings: Settings, upload, regression_frame, cluster: list[Node]
) -> None:
    dataset = upload("user", regression_frame(80))
    task = TrainRequest(user_id="user", model_type="linear", dataset_id=dataset.dataset_id, target_column="price")
    async with _InputMissing(settings=swarm_settings) as backend:
        with Store.from_settings(swarm_settings) as store:
            async with Controller(settings=swarm_settings, store=store, backend=backend) as controller:
                backend.rejections, backend.names = 1, []
                outcome = await (await controller.submit(task)).result()
                assert outcome.job.state == JobState.SUCCEEDED
                job_id = outcome.job.job_id
                assert backend.names == [f"statagent-{job_id}", f"statagent-{job_id}-1"]

                backend.rejections, backend.names = 99, []
                handle = await controller.submit(task)
                tries = swarm_settings.swarm.resubmit_unstarted + 1
                with pytest.raises(JobInterrupted, match=f"not started .{tries} tries.: .*bind source path does not"):
                    await handle.result()
                assert backend.names == [f"statagent-{handle.job_id}"] + [
                    f"statagent-{handle.job_id}-{n}" for n in range(1, tries)
                ]
            failed = store.get_job_admin(handle.job_id)
        assert failed.exit_reason == ExitReason.INTERRUPTED and "did not start" in (failed.user_message or "")
        await _all_removed(cluster, swarm_settings, backend)


async def test_draining_a_node_mid_run_loses_no_job(
    swarm_settings: Settings,
    backend: SwarmBackend,
    upload,
    heavy_frame,
    cluster: list[Node],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Three jobs of a CPU each on two nodes of two CPUs: both nodes get one. Node 2 is drained
    while they run. On Docker 20.10 the swarm lets a job's task on a drained node run to its end
    (it does not stop and rerun it): every job finishes, none is lost."""
    api = cluster[0].client.api
    drained = cluster[1].hostname
    users = [f"user{i}" for i in range(3)]
    datasets = {user: upload(user, heavy_frame(6000, seed=i)) for i, user in enumerate(users)}

    def task(user: str) -> TrainRequest:
        return TrainRequest(
            user_id=user,
            model_type="random_forest",
            dataset_id=datasets[user].dataset_id,
            target_column="label",
            hyperparameters={"n_estimators": 300},
        )

    with Store.from_settings(swarm_settings) as store:
        async with Controller(settings=swarm_settings, store=store, backend=backend) as controller:
            handles = [await controller.submit(task(user)) for user in users]
            nodes = await _running_nodes(backend, store, handles)
            assert set(nodes.values()) == {node.hostname for node in cluster}, nodes
            assert await _run(swarm_settings, "admin", "containers", "--json") == 0
            listed = json.loads(capsys.readouterr().out)
            assert {row["labels"][LABEL_JOB_ID]: row["node"] for row in listed} == nodes

            _set_availability(api, drained, "drain")
            try:
                assert await _run(swarm_settings, "admin", "nodes", "--json") == 0
                listed = json.loads(capsys.readouterr().out)["nodes"]
                assert {n["hostname"]: n["availability"] for n in listed}[drained] == "drain"
                ended = await asyncio.wait_for(asyncio.gather(*(handle.result() for handle in handles)), 240)
            finally:
                _set_availability(api, drained, "active")
        assert all(outcome.job.state == JobState.SUCCEEDED for outcome in ended)
        assert all(store.get_job_admin(job_id).state == JobState.SUCCEEDED for job_id in nodes)
    await _all_removed(cluster, swarm_settings, backend)


async def _running_nodes(backend: SwarmBackend, store: Store, handles: list) -> dict[str, str]:
    """job id -> the node its task runs on, once every job's task runs (or has run)."""
    nodes: dict[str, str] = {}
    seen: dict[str, str] = {}
    for _ in range(600):
        for handle in handles:
            record = store.get_job_admin(handle.job_id)
            info = await backend.inspect(record.container_id) if record.container_id else None
            seen[handle.job_id] = f"{record.state.value}/{info.status if info else '-'}"
            if record.state.finished and handle.job_id not in nodes:
                seen[handle.job_id] += f" {record.exit_reason} {record.error_code}: {record.user_message} {record.log_tail}"
                raise AssertionError(f"a job ended before it was seen running: {seen}")
            if info is not None and info.status in ("running", "complete"):
                nodes[handle.job_id] = info.node
        if len(nodes) == len(handles):
            return nodes
        await asyncio.sleep(0.2)
    raise AssertionError(f"not every job ran: {seen}")


def _set_availability(api: docker.APIClient, hostname: str, availability: str) -> None:
    [node] = [n for n in api.nodes() if n["Description"]["Hostname"] == hostname]
    api.update_node(node["ID"], node["Version"]["Index"], {**node["Spec"], "Availability": availability})
