"""Which runner image this checkout expects, and finding it on the Docker engine.

The tag is a content hash of everything that goes into the image, so the build script
(`make runner-image`) and the controller compute the same name from the same files:

    tag = runner_image_tag(root=repo_root)          # statagent-runner:3f9c0a1b2d4e5f60
    image_id = resolve_runner_image(client, tag=tag)  # sha256:... or RunnerImageMissing
    removed = prune_runner_images(client, repository="statagent-runner", current=tag)

`python -m controller.image` prints the tag.
"""

from __future__ import annotations

import argparse
import hashlib
from datetime import datetime
from pathlib import Path

import docker
import docker.errors
from docker.models.images import Image

from errors import RunnerImageMissing
from config.log import get_logger

__all__ = [
    "DEFAULT_REPOSITORY",
    "LOCAL_BASE",
    "copy_image",
    "prune_runner_images",
    "resolve_runner_image",
    "runner_image_tag",
]

DEFAULT_REPOSITORY = "statagent-runner"
# The base image made from Debian's packages where no registry is reachable (scripts/).
LOCAL_BASE = "statagent-base:bookworm"

log = get_logger(__name__)

_DOCKERFILE = "Dockerfile.runner"
_LOCK = "runner-image/requirements.lock"
_RUNNER_DIR = "runner-image/runner"


def _runner_files(root: Path) -> list[Path]:
    """The runner package's files that go into the image, sorted by relative path."""
    runner_dir = root / _RUNNER_DIR
    files = [
        path
        for path in runner_dir.rglob("*")
        if path.is_file() and "__pycache__" not in path.relative_to(runner_dir).parts and path.suffix != ".pyc"
    ]
    return sorted(files, key=lambda path: path.relative_to(root).as_posix())


def runner_image_tag(*, root: Path, repository: str = DEFAULT_REPOSITORY, base: str = LOCAL_BASE) -> str:
    """The tag `repository:<hash>` of the runner image built from the files under `root`.

    The hash covers Dockerfile.runner, the lock file, every file of the runner package
    (relative path and content) and the base image the build starts from.
    """
    digest = hashlib.sha256()

    def add(name: str, content: bytes) -> None:
        # Length-prefixed, so no two different inputs give the same byte stream.
        for part in (name.encode(), content):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)

    add("BASE", base.encode())
    add(_DOCKERFILE, (root / _DOCKERFILE).read_bytes())
    add(_LOCK, (root / _LOCK).read_bytes())
    for path in _runner_files(root):
        add(path.relative_to(root).as_posix(), path.read_bytes())
    return f"{repository}:{digest.hexdigest()[:16]}"


def resolve_runner_image(client: docker.DockerClient, *, tag: str) -> str:
    """The image ID (`sha256:...`) of `tag` on the engine; RunnerImageMissing when it is not there."""
    try:
        return client.images.get(tag).id
    except docker.errors.ImageNotFound as error:
        raise RunnerImageMissing(tag) from error


def copy_image(source: docker.DockerClient, target: docker.DockerClient, *, image: str) -> bool:
    """Stream `docker save` of `image` from `source` into `docker load` on `target` (another
    engine, e.g. a swarm node) unless it has that exact image ID already; True when copied.
    Layers the target has are kept, so an image that shares its base loads quickly."""
    image_id = source.images.get(image).id
    try:
        target.images.get(image_id)
        return False
    except docker.errors.ImageNotFound:
        target.images.load(source.images.get(image_id).save(chunk_size=4 * 2**20, named=True))
    return True


def prune_runner_images(client: docker.DockerClient, *, repository: str, current: str) -> list[str]:
    """Remove the `repository:*` tags of old runner images; returns the removed tags, oldest first.

    Kept: every tag of the image `current` names, the newest tag of any other image (the
    previous build, to go back to) and the tags of images a container uses, running or not.
    Removing an image's last tag removes the image and its untagged parents nothing else uses.
    """
    kept_ids = {found.id} if (found := _image_or_none(client, current)) else set()
    in_use = {c.attrs["Image"] for c in client.containers.list(all=True, ignore_removed=True)}
    tagged = sorted(
        (
            (datetime.fromisoformat(image.attrs["Created"]), tag, image.id)
            for image in client.images.list(name=repository)
            for tag in image.tags
            if tag.rpartition(":")[0] == repository and tag != current
        ),
        reverse=True,
    )
    previous = next((tag for _, tag, image_id in tagged if image_id not in kept_ids), None)
    removed = []
    for _, tag, image_id in reversed(tagged):
        if tag == previous or image_id in kept_ids or image_id in in_use:
            continue
        try:
            client.images.remove(tag, noprune=False)
        except docker.errors.APIError as error:  # used since, or gone: the next gc looks again
            log.warning("runner image tag not removed", tag=tag, error=str(error))
            continue
        removed.append(tag)
    return removed


def _image_or_none(client: docker.DockerClient, name: str) -> Image | None:
    try:
        return client.images.get(name)
    except docker.errors.ImageNotFound:
        return None


def main() -> None:
    """Print the runner image tag of this checkout."""
    parser = argparse.ArgumentParser(prog="python -m controller.image", description=main.__doc__)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--repository", default=DEFAULT_REPOSITORY)
    parser.add_argument("--base", default=LOCAL_BASE, help="the BASE build argument (default: %(default)s)")
    args = parser.parse_args()
    print(runner_image_tag(root=args.root, repository=args.repository, base=args.base))


if __name__ == "__main__":
    main()
