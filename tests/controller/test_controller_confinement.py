"""A job container is locked down: proved from inside one, started exactly as a job's would be.

The programs here replace the runner through the request's test-only `entrypoint`; everything
else (image, mounts, limits, labels) is what the controller uses for every job. No traffic
leaves the container: isolation is read from its interfaces and routes.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import docker
import pytest

from config import Settings
from controller import ContainerRequest, DockerBackend
from runner.spec import JobKind

pytestmark = pytest.mark.docker

PROBE = textwrap.dedent(
    """
    import ctypes, json, os, sys
    def writable(path):
        try:
            with open(path, "w") as f:
                f.write("x")
            return True
        except OSError:
            return False
    status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
    routes = open("/proc/net/route").read().splitlines()
    mounts = [line.split()[4] for line in open("/proc/self/mountinfo")]
    print(json.dumps({
        "interfaces": sorted(os.listdir("/sys/class/net")),
        "routes": routes[1:],
        "ipv6_routes": [l for l in open("/proc/net/ipv6_route").read().splitlines() if not l.endswith(" lo")],
        "uid": os.getuid(), "gid": os.getgid(),
        # prctl(PR_GET_NO_NEW_PRIVS): gVisor's /proc/self/status has no NoNewPrivs line.
        "cap_eff": status["CapEff"].strip(), "no_new_privs": ctypes.CDLL(None).prctl(39, 0, 0, 0, 0),
        "write_root": writable("/probe"), "write_etc": writable("/etc/probe"),
        "write_input": writable("/job/input/probe"), "write_output": writable("/job/output/probe"),
        "write_model": writable("/job/model/probe"), "model": sorted(os.listdir("/job/model")),
        "write_tmp": writable("/tmp/probe"),
        "job": sorted(os.listdir("/job")), "input": sorted(os.listdir("/job/input")),
        "mounts": mounts,
        "visible": {p: os.path.exists(p) for p in json.loads(sys.argv[1])},
    }))
    """
)


def _request(settings: Settings, image: str, job_dir: Path, **fields) -> ContainerRequest:
    (job_dir / "input").mkdir(parents=True)
    (job_dir / "output").mkdir()
    (job_dir / "input" / "job.json").write_text("{}")
    (job_dir / "output").chmod(0o777)
    return ContainerRequest(
        job_id="job_00000000c0de",
        user_id="prober",
        kind=JobKind.TRAIN,
        instance_id="test-confinement",
        data_dir=settings.data_dir,
        image_id=image,
        input_dir=job_dir / "input",
        output_dir=job_dir / "output",
        limits=settings.container,
        runner_user=settings.runner.user,
        max_file_bytes=settings.quotas.max_artifacts_mb * 2**20,
        cpu_seconds=120,
        command=("train",),
        **fields,
    )


async def _runtime(settings: Settings) -> str:
    """The runtime job containers run under with these settings (runsc where gVisor is registered)."""
    async with DockerBackend() as backend:
        return await backend.resolve_runtime(settings.container.runtime)


async def _run(request: ContainerRequest, client: docker.DockerClient) -> tuple[int, str, dict]:
    """Run the request's container to its end: exit code, output, and the engine's HostConfig."""
    async with DockerBackend() as backend:
        started = await backend.start(request)
        try:
            ended = await backend.wait(started.container_id, timeout=60)
            assert ended is not None, "the probe did not finish"
            logs = await backend.logs_tail(started.container_id, lines=200)
            host_config = client.api.inspect_container(started.container_id)["HostConfig"]
            return ended.exit_code, logs, host_config
        finally:
            await backend.remove(started.container_id)


async def test_a_job_container_sees_only_its_own_folders_and_no_network(
    settings: Settings, runner_image: str, tmp_path: Path, repo_root: Path, docker_client: docker.DockerClient
) -> None:
    other_user = settings.data_dir / "users" / "someone_else" / "models"
    other_user.mkdir(parents=True)
    (other_user / "secret.txt").write_text("not yours")
    hidden = [str(other_user), str(settings.data_dir), str(repo_root), "/work", str(tmp_path)]
    model = tmp_path / "model"  # as a prediction job has its model: read-only
    model.mkdir()
    (model / "metadata.json").write_text("{}")
    request = _request(
        settings,
        runner_image,
        tmp_path / "job",
        model_dir=model,
        entrypoint=("python", "-c", PROBE, json.dumps(hidden)),
    )
    exit_code, logs, host_config = await _run(request, docker_client)
    assert exit_code == 0, logs
    report = json.loads(logs.strip().splitlines()[-1])

    assert report["interfaces"] == ["lo"]
    assert report["routes"] == [] and report["ipv6_routes"] == []
    assert (report["uid"], report["gid"]) == (10001, 10001)
    assert int(report["cap_eff"], 16) == 0 and report["no_new_privs"] == 1
    assert not report["write_root"] and not report["write_etc"] and not report["write_input"]
    assert not report["write_model"] and report["model"] == ["metadata.json"]
    assert report["write_output"] and report["write_tmp"]
    assert report["job"] == ["input", "model", "output"] and report["input"] == ["job.json"]
    assert not any(report["visible"].values()), report["visible"]
    assert not [m for m in report["mounts"] if m.startswith(str(tmp_path)) or m.startswith("/work")]

    assert host_config["NetworkMode"] == "none"
    assert host_config["ReadonlyRootfs"] is True
    assert host_config["Memory"] == host_config["MemorySwap"] == settings.container.memory_mb * 2**20
    assert host_config["NanoCpus"] == int(settings.container.cpus * 1e9)
    assert host_config["PidsLimit"] == settings.container.pids
    assert host_config["CapDrop"] == ["ALL"] and not host_config["CapAdd"]
    assert host_config["SecurityOpt"] == ["no-new-privileges"]
    assert host_config["Privileged"] is False
    assert host_config["Tmpfs"] == {"/tmp": f"rw,nosuid,nodev,noexec,size={settings.container.tmpfs_mb}m,mode=1777"}
    assert sorted((u["Name"], u["Soft"], u["Hard"]) for u in host_config["Ulimits"]) == [
        ("cpu", 120, 120),
        ("fsize", settings.quotas.max_artifacts_mb * 2**20, settings.quotas.max_artifacts_mb * 2**20),
        ("nofile", settings.container.max_open_files, settings.container.max_open_files),
    ]
    assert host_config["Runtime"] == await _runtime(settings)
    assert sorted((m["Target"], m.get("ReadOnly", False)) for m in host_config["Mounts"]) == [
        ("/job/input", True),
        ("/job/model", True),
        ("/job/output", False),
    ]


FORK_LOOP = textwrap.dedent(
    """
    import os, time
    children = 0
    try:
        while True:
            pid = os.fork()
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            children += 1
    except OSError as error:
        print(children, error.errno, flush=True)
    os._exit(0)
    """
)


async def test_a_fork_loop_is_stopped_by_the_pids_cap(
    make_settings, runner_image: str, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    # 64: gVisor's own sandbox processes count against the cap too, and far lower caps can keep
    # its sandbox from starting at all.
    settings = make_settings(container={"pids": 64})
    request = _request(settings, runner_image, tmp_path / "job", entrypoint=("python", "-c", FORK_LOOP))
    exit_code, logs, _ = await _run(request, docker_client)
    if await _runtime(settings) == "runsc":
        # gVisor does not refuse the fork: past the cap it ends the whole container (exit 2,
        # no output), which the controller reports as a crash since no result.json says
        # "bad input" (test_controller_jobs covers that).
        assert exit_code != 0 and "Traceback" not in logs
    else:
        children, errno = (int(word) for word in logs.split())
        assert exit_code == 0
        assert errno == 11  # EAGAIN: no more processes
        assert children < 64
    assert not docker_client.containers.list(all=True, filters={"label": "statagent.user_id=prober"})


CHATTY = "import json\nfor i in range(5000): print(json.dumps({'stage': 'spam', 'percent': 1, 'message': str(i)}))"


async def test_stdout_past_the_line_cap_is_not_read(
    settings: Settings, runner_image: str, tmp_path: Path
) -> None:
    request = _request(settings, runner_image, tmp_path / "job", entrypoint=("python", "-c", CHATTY))
    async with DockerBackend() as backend:
        started = await backend.start(request)
        try:
            lines = [line async for line in backend.stdout_lines(started.container_id, max_lines=25)]
            assert await backend.wait(started.container_id, timeout=60) is not None
        finally:
            await backend.remove(started.container_id)
    assert len(lines) == 25
    assert json.loads(lines[-1])["message"] == "24"
