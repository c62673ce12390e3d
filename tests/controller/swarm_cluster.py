"""A real Docker Swarm of several engines on this one machine, for the swarm backend's tests.

Each node is a `dockerd` of its own (data root, exec root, pid file, unix socket, managed
containerd) in a network namespace and a mount namespace of its own, joined to the others by
veth links on a private range into a bridge in one more namespace. Nothing of it is reachable
from outside these namespaces: the swarm's traffic stays between them, the tests talk to the
engines over their unix sockets. The data roots stay under BASE between sessions, so the runner
image is loaded onto each node once (`docker save` streamed into `docker load` over the API).

Every node sees the host's files at the same paths (the tests' "shared storage"), except that
node 2 has an empty tmpfs over BLIND: a data directory under it is one that node cannot see.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from controller.image import copy_image

BASE = Path("/var/tmp/statagent-swarm")
BLIND = BASE / "blind"
_PREFIX = "statagent-sw"  # network namespaces: statagent-sw-hub, statagent-sw-1, ...
_SUBNET = "10.213.7"  # a private /24 that exists only inside these namespaces
_RUNSC = Path("/usr/bin/runsc")
_START_SECONDS = 60


@dataclass
class Node:
    index: int
    netns: str
    address: str
    root: Path
    client: docker.DockerClient | None = None
    process: subprocess.Popen[bytes] | None = None  # dockerd (sh and the namespace tools exec it)

    @property
    def hostname(self) -> str:
        return f"statagent-node-{self.index}"

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"


def unavailable() -> str | None:
    """Why this machine cannot run the cluster (None when it can)."""
    if os.geteuid() != 0:
        return "making network namespaces and engines needs root"
    for tool in ("ip", "nsenter", "unshare", "dockerd"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = f"{_PREFIX}-probe"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        return f"`ip netns add` fails here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return None


@contextlib.contextmanager
def swarm_cluster(*, nodes: int, image_id: str, source: docker.DockerClient) -> Iterator[list[Node]]:
    """`nodes` engines joined into one swarm (node 1 the manager), each with `image_id` loaded.

    Everything is undone on the way out, also after a failure: engines stopped, namespaces,
    links and mounts removed. One session at a time holds the cluster (a lock file).
    """
    BASE.mkdir(parents=True, exist_ok=True)
    with open(BASE / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        members = [
            Node(index, f"{_PREFIX}-{index}", f"{_SUBNET}.{index}", BASE / f"node{index}")
            for index in range(1, nodes + 1)
        ]
        _tear_down(members)  # whatever a killed session left
        try:
            _network(members)
            for node in members:
                _start_engine(node)
            for node in members:
                _wait_for(node)
                _load_image(node, image_id, source)
            _join(members)
            yield members
        finally:
            _tear_down(members)


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True)


def _network(members: list[Node]) -> None:
    hub = f"{_PREFIX}-hub"
    _run("ip", "netns", "add", hub)
    _run("ip", "-n", hub, "link", "add", "br0", "type", "bridge")
    _run("ip", "-n", hub, "link", "set", "br0", "up")
    for node in members:
        _run("ip", "netns", "add", node.netns)
        inner, outer = f"sw{node.index}", f"sw{node.index}h"
        _run("ip", "link", "add", inner, "netns", node.netns, "type", "veth", "peer", "name", outer, "netns", hub)
        _run("ip", "-n", hub, "link", "set", outer, "master", "br0", "up")
        _run("ip", "-n", node.netns, "addr", "add", f"{node.address}/24", "dev", inner)
        _run("ip", "-n", node.netns, "link", "set", inner, "up")
        _run("ip", "-n", node.netns, "link", "set", "lo", "up")


def _start_engine(node: Node) -> None:
    data_root = node.root / "data"
    data_root.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(data_root / "swarm", ignore_errors=True)  # a fresh swarm every session
    shutil.rmtree(node.root / "exec", ignore_errors=True)
    runtime = []
    if _RUNSC.exists():  # gVisor as the node's default runtime, as the README asks of nodes
        wrapper = BASE / "runsc-no-network"
        wrapper.write_text(f'#!/bin/sh\nexec {_RUNSC} --network=none "$@"\n')
        wrapper.chmod(0o755)
        runtime = ["--add-runtime", f"runsc={wrapper}", "--default-runtime", "runsc"]
    blind = f"mount -t tmpfs -o size=1m statagent-blind {BLIND} && " if node.index == 2 else ""
    BLIND.mkdir(exist_ok=True)
    dockerd = " ".join(
        [
            "exec dockerd",
            f"--data-root {data_root}",
            f"--exec-root {node.root / 'exec'}",
            f"--pidfile {node.root / 'docker.pid'}",
            f"-H {node.url}",
            *runtime,
        ]
    )
    script = f"hostname {node.hostname} && {blind}{dockerd}"
    with open(node.root / "dockerd.log", "wb") as log:
        node.process = subprocess.Popen(
            [
                "nsenter", f"--net=/run/netns/{node.netns}",
                "unshare", "--uts", "--mount", "--propagation", "slave",
                "sh", "-c", script,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_for(node: Node) -> None:
    deadline = time.monotonic() + _START_SECONDS
    while time.monotonic() < deadline:
        if node.socket.exists():
            try:
                client = docker.DockerClient(base_url=node.url, timeout=600)
                client.ping()
                node.client = client
                break
            except (docker.errors.DockerException, OSError):
                pass
        time.sleep(0.3)
    else:
        tail = (node.root / "dockerd.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"node {node.index}'s engine did not start:\n{tail}")
    for container in node.client.containers.list(all=True):  # left by a killed session
        container.remove(force=True)


def _load_image(node: Node, image_id: str, source: docker.DockerClient) -> None:
    """The runner image on the node, streamed from the host's engine when missing; others removed
    after it is in (an older runner image shares most layers: the load keeps those it has)."""
    assert node.client is not None
    copy_image(source, node.client, image=image_id)
    for image in node.client.images.list():
        if image.id != image_id:
            with contextlib.suppress(docker.errors.APIError):
                node.client.images.remove(image.id, force=True)


def _join(members: list[Node]) -> None:
    manager = members[0]
    assert manager.client is not None
    manager.client.swarm.init(advertise_addr=manager.address, listen_addr=f"{manager.address}:2377")
    token = manager.client.swarm.attrs["JoinTokens"]["Worker"]
    for node in members[1:]:
        assert node.client is not None
        node.client.swarm.join(
            remote_addrs=[f"{manager.address}:2377"],
            join_token=token,
            advertise_addr=node.address,
            listen_addr=f"{node.address}:2377",
        )
    deadline = time.monotonic() + _START_SECONDS
    while time.monotonic() < deadline:
        ready = [n for n in manager.client.nodes.list() if n.attrs["Status"]["State"] == "ready"]
        if len(ready) == len(members):
            return
        time.sleep(0.3)
    raise RuntimeError("the nodes did not all become ready in the swarm")


def _tear_down(members: list[Node]) -> None:
    """Stop the engines, remove the namespaces (their links go with them) and stray mounts."""
    for node in reversed(members):
        if node.client is not None:
            with contextlib.suppress(docker.errors.APIError):
                node.client.swarm.leave(force=True)
            node.client.close()
            node.client = None
        _stop_engine(node)
    for name in [node.netns for node in members] + [f"{_PREFIX}-hub"]:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    _unmount_under(BASE)


def _stop_engine(node: Node) -> None:
    """Stop the node's dockerd: ours by its process, one a killed session left by its pid file."""
    pidfile = node.root / "docker.pid"
    if node.process is not None:
        node.process.terminate()
        try:
            node.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()
        node.process = None
    else:
        try:
            pid = int(pidfile.read_text())
        except (OSError, ValueError):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                time.sleep(0.2)
            os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)


def _unmount_under(folder: Path) -> None:
    prefix = str(folder) + "/"
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
