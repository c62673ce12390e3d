"""Fixtures shared by the whole suite: the checkout, the Docker engine and the runner image."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from errors import RunnerImageMissing
from controller.image import LOCAL_BASE, resolve_runner_image, runner_image_tag

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The root of this checkout."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """A client of the local engine (API version negotiated)."""
    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture(scope="session")
def runner_image(repo_root: Path, docker_client: docker.DockerClient) -> str:
    """The ID of this checkout's runner image, built first if the engine lacks it.

    RUNNER_BASE names another base image, as for scripts/build-runner-image.sh.
    """
    tag = runner_image_tag(root=repo_root, base=os.environ.get("RUNNER_BASE", LOCAL_BASE))
    try:
        return resolve_runner_image(docker_client, tag=tag)
    except RunnerImageMissing:
        pass
    build = subprocess.run(
        [str(repo_root / "scripts" / "build-runner-image.sh")],
        cwd=repo_root,
        env={**os.environ, "PYTHON": sys.executable},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if build.returncode != 0:
        pytest.fail(f"building the runner image failed:\n{build.stderr[-4000:]}", pytrace=False)
    return resolve_runner_image(docker_client, tag=tag)
