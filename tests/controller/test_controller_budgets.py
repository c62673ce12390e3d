"""Budgets that hold while a job runs: its output size and file count, its own deadline, a kill
from outside, and jobs that end by themselves when the controller is gone."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import docker
import pytest
import yaml

from errors import JobKilled
from controller import Controller, DockerBackend, TrainRequest
from controller._execute import JobContext, _prepare, release_job_dir
from runner.spec import IngestSpec
from store import ExitReason, JobKind, JobState, Store

pytestmark = pytest.mark.docker

WRITE_WITHOUT_END = textwrap.dedent(
    """
    import json, os
    written, files, error = 0, 0, None
    try:
        with open("/job/output/big", "wb") as out:
            while True:
                out.write(b"x" * 2**20)
                out.flush()
                written += 2**20
    except OSError as exc:
        error = exc.errno
    os.remove("/job/output/big")  # room again, so only the file count can stop what follows
    try:
        while True:
            open(f"/job/output/f{files}", "w").close()
            files += 1
    except OSError as exc:
        file_error = exc.errno
    print(json.dumps({"written": written, "error": error, "files": files, "file_error": file_error}))
    """
)


def _folder_bytes(folder: Path) -> int:
    return sum(os.lstat(os.path.join(root, name)).st_size for root, _, names in os.walk(folder) for name in names)


async def test_a_job_writing_without_end_is_stopped_at_its_output_cap(make_settings, store, runner_image) -> None:
    settings = make_settings(quotas={"max_artifacts_mb": 8, "max_artifacts": 20})
    job_id = store.new_job_id()
    record = store.create_job(
        user_id="writer",
        kind=JobKind.INGEST,
        spec={},
        instance_id="test",
        job_id=job_id,
    )
    job_dir = store.job_dir(job_id, "writer")
    job_dir.mkdir(parents=True)
    (job_dir / "upload").write_bytes(b"a\n1\n")
    backend = DockerBackend()
    ctx = JobContext(settings, store, backend, "test")
    spec = IngestSpec(job_id=job_id, user_id="writer", filename="x.csv")
    # The very request the controller makes for this job; only the program is a test's.
    request = dataclasses.replace(
        await asyncio.to_thread(_prepare, ctx, record, spec, job_dir, runner_image),
        entrypoint=("python", "-c", WRITE_WITHOUT_END),
        command=(),
    )
    try:
        started = await backend.start(request)
        try:
            ended = await backend.wait(started.container_id, timeout=120)
            logs = await backend.logs_tail(started.container_id)
        finally:
            await backend.remove(started.container_id)
        assert ended is not None and ended.exit_code == 0, logs
        report = json.loads(logs.strip().splitlines()[-1])
        # ENOSPC from the tmpfs, or EFBIG from RLIMIT_FSIZE: the write itself fails.
        assert report["error"] in (27, 28) and report["written"] <= 8 * 2**20
        assert report["file_error"] == 28 and report["files"] <= 20 + 32
        assert _folder_bytes(job_dir) <= 8 * 2**20 + 2**20
    finally:
        await asyncio.to_thread(release_job_dir, job_dir)
        await backend.close()
    assert _folder_bytes(job_dir) < 2**20  # the tmpfs is gone: nothing of the output stays on the host


async def test_a_job_killed_from_outside_is_not_called_out_of_memory(
    settings, store, upload, regression_frame, docker_client: docker.DockerClient
) -> None:
    dataset = upload("gina", regression_frame(5000))
    async with Controller(settings=settings, store=store) as controller:
        handle = await controller.submit(
            TrainRequest(
                user_id="gina",
                model_type="random_forest",
                dataset_id=dataset.dataset_id,
                target_column="price",
                hyperparameters={"n_estimators": 500},
            )
        )
        async for event in handle.events():
            if type(event).__name__ == "JobStarted":
                docker_client.api.kill(event.container_id)  # an operator's `docker kill`
        with pytest.raises(JobKilled) as killed:
            await handle.result()
    job = store.get_job(user_id="gina", job_id=handle.job_id)
    assert job.exit_reason == ExitReason.KILLED and job.exit_code == 137
    assert killed.value.user_message == "The job was stopped from outside the service before it finished. Try again."


def _write_config(path: Path, settings, *, pool_size: int = 0, **container) -> None:
    raw = {
        "data_dir": str(settings.data_dir),
        "runner": {"image": settings.runner.image},
        "container": {"memory_mb": 1024, "cpus": 0.5, **container},
        "pool": {"size": pool_size},
        # These jobs are made to pass their deadline: the estimate must not refuse them first.
        "ml_engine": {"check_time_estimate": False},
        "logging": {"level": "WARNING", "format": "json"},
    }
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")


@pytest.mark.parametrize("pool_size", [0, 1], ids=["cold", "warm"])
async def test_jobs_end_by_themselves_when_the_controller_is_killed(
    make_settings, tmp_path: Path, regression_frame, docker_client: docker.DockerClient, pool_size: int
) -> None:
    settings = make_settings()
    config = tmp_path / "config.yaml"
    timeout, margin = 8, 3
    _write_config(
        config, settings, pool_size=pool_size, train_timeout_seconds=timeout, deadline_margin_seconds=margin
    )
    table = tmp_path / "big.csv"
    regression_frame(20_000).to_csv(table, index=False)
    command = [
        str(Path(sys.executable).with_name("statagent")), "job", "train", "--data", str(table), "--user", "orphan",
        "--target", "price", "--model", "random_forest", "--param", "n_estimators=500",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        env={**os.environ, "STATAGENT_CONFIG": str(config)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # A warm container's labels were set before its job existed: the job's record names it.
        container = None
        deadline = time.monotonic() + 120
        while container is None and time.monotonic() < deadline and process.poll() is None:
            if (settings.data_dir / "statagent.db").exists():
                with Store.from_settings(settings) as store:
                    trains = [j for j in store.list_jobs(user_id="orphan") if j.kind == JobKind.TRAIN]
                if trains and trains[0].state == JobState.RUNNING and trains[0].container_id:
                    container = docker_client.containers.get(trains[0].container_id)
            await asyncio.sleep(0.2)
        assert container is not None, process.stderr.read() if process.poll() is not None else "no job container"
        process.send_signal(signal.SIGKILL)  # the controller dies mid-job and never restarts
        process.wait()
        started = time.monotonic()
        while time.monotonic() - started < timeout + margin + 30:
            container.reload()
            if container.status != "running":
                break
            await asyncio.sleep(0.5)
        state = container.attrs["State"]
        assert state["Status"] == "exited", "the job container outlived its deadline with no controller"
        # A warm container was started before its job: its deadline runs from when its runner took
        # the job (after its warm-up, if the job came sooner), and the job's first line follows that.
        began = _first_line_time(container) if pool_size else _seconds(state["StartedAt"])
        ran = _seconds(state["FinishedAt"]) - began
        assert timeout + margin - 1 <= ran <= timeout + margin + 5
        assert state["ExitCode"] == 124 and not state["OOMKilled"]
    finally:
        if process.poll() is None:
            process.kill()
    # The next controller on this data directory removes the stopped container and marks its job.
    with Store.from_settings(settings) as store:
        async with Controller(settings=settings, store=store):
            pass
        (job,) = store.list_jobs(user_id="orphan", state=None)[:1]
        assert job.kind == JobKind.TRAIN and job.state == JobState.INTERRUPTED
    assert not docker_client.containers.list(all=True, filters={"label": f"statagent.data_dir={settings.data_dir}"})


def _first_line_time(container) -> float:
    """When the container wrote its first line to stdout, as seconds since the epoch."""
    first = container.logs(stdout=True, stderr=False, timestamps=True).decode().splitlines()[0]
    return _seconds(first.split(" ", 1)[0])


def _seconds(stamp: str) -> float:
    """Docker's RFC 3339 time with nanoseconds, as seconds since the epoch."""
    from datetime import datetime

    whole, _, fraction = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float(f"0.{fraction or 0}")


async def test_a_model_too_large_for_the_output_cap_is_reported_as_such(
    make_settings, regression_frame, job_containers
) -> None:
    from store import Store
    from tables import store_table

    from errors import JobOutputTooLarge

    settings = make_settings(quotas={"max_artifacts_mb": 2})
    with Store.from_settings(settings) as store:
        dataset = store_table(store, user_id="hank", frame=regression_frame(3000))
        async with Controller(settings=settings, store=store) as controller:
            handle = await controller.submit(
                TrainRequest(
                    user_id="hank",
                    model_type="random_forest",
                    dataset_id=dataset.dataset_id,
                    target_column="price",
                    hyperparameters={"n_estimators": 300, "max_depth": 30},
                )
            )
            with pytest.raises(JobOutputTooLarge) as too_large:
                await handle.result()
        job = store.get_job(user_id="hank", job_id=handle.job_id)
        assert job.exit_reason == ExitReason.OUTPUT_OVER_QUOTA
        assert too_large.value.user_message.startswith("The job's output passed its limit of 2 MB")
        assert not store.list_models(user_id="hank")
        assert not store.job_dir(handle.job_id, "hank").exists()
    assert not job_containers()
