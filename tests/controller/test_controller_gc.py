"""`statagent admin gc`: old runner images and expired job output go; what is current or used stays."""

from __future__ import annotations

import argparse
import io
import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
import docker.errors
import pytest

from config import Settings
from controller.cli import register
from controller.image import runner_image_tag
from store import JobKind, JobState, Store

pytestmark = pytest.mark.docker


async def _run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="statagent")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return await args.func(args, settings)


def _build(client: docker.DockerClient, base: str, tag: str) -> None:
    """A new image on top of `base` (only a label differs), so it is created after the ones before."""
    dockerfile = f"FROM {base}\nLABEL statagent.test.build={tag}\n".encode()
    client.images.build(fileobj=io.BytesIO(dockerfile), tag=tag, rm=True)


def _tags(client: docker.DockerClient, repository: str) -> set[str]:
    return {tag for image in client.images.list(name=repository) for tag in image.tags if tag.startswith(f"{repository}:")}


async def test_gc_keeps_the_current_and_previous_runner_images_and_removes_older_ones(
    make_settings, docker_client: docker.DockerClient, runner_image: str, repo_root: Path, capsys
) -> None:
    # A repository of this test's own, so the engine's real runner images are left alone.
    repository = f"statagent-gc-test-{secrets.token_hex(4)}"
    settings = make_settings(runner={"image": None, "image_repository": repository})
    current = runner_image_tag(root=repo_root, repository=repository)
    alias = f"{repository}:{'a' * 16}"  # another tag of the current image
    oldest, older, used, previous = (f"{repository}:{n:016x}" for n in range(1, 5))
    runner = docker_client.images.get(runner_image)
    container = None
    try:
        for tag in (current, alias):
            runner.tag(*tag.split(":"))
        for tag in (oldest, older, used, previous):  # built in this order: `previous` is the newest
            _build(docker_client, current, tag)
        container = docker_client.containers.create(used, command=["true"])  # never started

        with Store.from_settings(settings) as store:
            job = store.create_job(user_id="gc", kind=JobKind.PREDICT, spec={}, instance_id="ctl-test")
            output = store.job_dir(job.job_id, "gc") / "output"
            output.mkdir(parents=True)
            (output / "predictions.csv").write_text("prediction\n1\n")
            finished = datetime.now(UTC) - timedelta(days=settings.retention.output_days + 1)
            store.update_job(job.job_id, state=JobState.SUCCEEDED, finished_at=finished, output_bytes=13)

        assert await _run(settings, "admin", "gc", "--json") == 0
        report = json.loads(capsys.readouterr().out)
        assert report["images_removed"] == [oldest, older]
        assert report["outputs_expired"] == [job.job_id]
        assert not output.exists()

        assert _tags(docker_client, repository) == {current, alias, used, previous}
        for gone in (oldest, older):
            with pytest.raises(docker.errors.ImageNotFound):
                docker_client.images.get(gone)
        # Removing the builds on top of it left the current image (and so its parents) as it was.
        assert docker_client.images.get(current).id == docker_client.images.get(runner_image).id == runner.id

        assert await _run(settings, "admin", "gc") == 0
        text = capsys.readouterr().out
        assert "runner images removed: none" in text and "job outputs expired: 0" in text
    finally:
        if container is not None:
            container.remove(force=True)
        for image in docker_client.images.list(name=repository):
            ours = [tag for tag in image.tags if tag.startswith(f"{repository}:")]
            if image.id == runner.id and len(ours) == len(image.tags):
                continue  # untagging it entirely would delete the runner image itself
            for tag in ours:
                docker_client.images.remove(tag, noprune=True)


async def test_gc_leaves_runner_images_alone_when_the_image_is_pinned(
    make_settings, docker_client: docker.DockerClient, runner_image: str, capsys
) -> None:
    repository = f"statagent-gc-test-{secrets.token_hex(4)}"
    settings = make_settings(runner={"image": runner_image, "image_repository": repository})
    old = f"{repository}:{1:016x}"
    runner = docker_client.images.get(runner_image)
    runner.tag(*old.split(":"))
    try:
        assert await _run(settings, "admin", "gc", "--json") == 0
        assert json.loads(capsys.readouterr().out)["images_removed"] == []
        assert _tags(docker_client, repository) == {old}
    finally:
        if len(docker_client.images.get(old).tags) > 1:
            docker_client.images.remove(old, noprune=True)
