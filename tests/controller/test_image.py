"""The runner image: its content-hash tag, its selftest, and what is (not) inside it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import docker
import pytest

from errors import RunnerImageMissing
from controller.image import resolve_runner_image, runner_image_tag

# The lock-down every job container gets; selftest needs no mounts and no more than this.
_LOCKED_DOWN = {
    "network_mode": "none",
    "read_only": True,
    "user": "10001:10001",
    "tmpfs": {"/tmp": "size=512m"},
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
}

# Run inside the image as its default user: who it is, and any wheel or pip cache left behind
# (beyond Debian's own pip/setuptools wheels in /usr/share/python-wheels, which `venv` uses).
_INSPECT_SCRIPT = """
import json, os
leftovers = [p for p in ("/wheels", "/root/.cache/pip", "/tmp/.cache/pip") if os.path.exists(p)]
for top, dirs, files in os.walk("/"):
    if top == "/":
        dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
    if top != "/usr/share/python-wheels":
        leftovers += [os.path.join(top, f) for f in files if f.endswith(".whl")]
print(json.dumps({"uid": os.getuid(), "gid": os.getgid(), "leftovers": leftovers}))
"""


def _run(client: docker.DockerClient, image: str, command: list[str], **options: object) -> tuple[int, str]:
    """Run a container to its end; its exit code and output. The container is always removed."""
    container = client.containers.run(image, command, detach=True, **options)
    try:
        status = container.wait(timeout=300)
        return status["StatusCode"], container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)


@pytest.mark.docker
def test_selftest_passes_in_a_locked_down_container(docker_client: docker.DockerClient, runner_image: str) -> None:
    code, logs = _run(docker_client, runner_image, ["selftest"], **_LOCKED_DOWN)
    assert code == 0, f"selftest exited {code}:\n{logs}"


@pytest.mark.docker
def test_image_runs_as_non_root_and_holds_no_wheels(docker_client: docker.DockerClient, runner_image: str) -> None:
    code, logs = _run(
        docker_client,
        runner_image,
        ["-c", _INSPECT_SCRIPT],
        entrypoint=["python"],
        network_mode="none",
        read_only=True,
        tmpfs={"/tmp": "size=64m"},
    )
    assert code == 0, logs
    found = json.loads(logs.strip().splitlines()[-1])
    assert found["uid"] >= 10000 and found["gid"] >= 10000
    assert found["leftovers"] == []


@pytest.mark.docker
def test_image_is_labelled_with_its_content_hash(docker_client: docker.DockerClient, runner_image: str) -> None:
    image = docker_client.images.get(runner_image)
    hashes = {tag.split(":", 1)[1] for tag in image.tags if tag.startswith("statagent-runner:")}
    assert hashes == {image.labels["org.statagent.runner-hash"]}
    assert image.attrs["Config"]["Entrypoint"] == ["python", "-m", "runner"]
    assert image.attrs["Config"]["User"] == "10001:10001"


@pytest.mark.docker
def test_a_missing_image_is_named_in_the_error(docker_client: docker.DockerClient) -> None:
    tag = "statagent-runner:0000000000000000"
    with pytest.raises(RunnerImageMissing) as raised:
        resolve_runner_image(docker_client, tag=tag)
    assert raised.value.expected == tag
    assert tag in str(raised.value)


def _copy_image_inputs(repo_root: Path, target: Path) -> Path:
    shutil.copy(repo_root / "Dockerfile.runner", target)
    shutil.copytree(repo_root / "runner-image", target / "runner-image", ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_tag_follows_every_input_but_not_bytecode(repo_root: Path, tmp_path: Path) -> None:
    root = _copy_image_inputs(repo_root, tmp_path)
    tag = runner_image_tag(root=root)
    assert tag == runner_image_tag(root=repo_root)
    assert tag.startswith("statagent-runner:")

    cache = root / "runner-image" / "runner" / "__pycache__"
    cache.mkdir()
    (cache / "spec.cpython-311.pyc").write_bytes(b"\0")
    assert runner_image_tag(root=root) == tag

    seen = {tag, runner_image_tag(root=root, base="python:3.11-slim")}
    for changed in ("Dockerfile.runner", "runner-image/requirements.lock", "runner-image/runner/spec.py"):
        path = root / changed
        path.write_bytes(path.read_bytes() + b"\n")
        seen.add(runner_image_tag(root=root))
    (root / "runner-image" / "runner" / "new_module.py").write_text("")
    seen.add(runner_image_tag(root=root))
    assert len(seen) == 6
