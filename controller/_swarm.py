"""`SwarmBackend`: each job as one `replicated-job` service on a Docker Swarm cluster.

The controller talks to one manager's engine API. A job is a service named `statagent-<job id>`
with one task, on an `--internal` overlay network of its own (swarm services cannot go without a
network, and any other network has a gateway); the "container id" the controller holds is the
service id. Limits are the service's limits and its reservations, so the scheduler places a job
only where that much CPU and memory is free. Nodes get a job only once a test job proved there
that the node has the exact runner image and sees the data directory (a node label, matched by a
placement constraint). Every engine call runs on the backend's own threads.

What a swarm cannot do on Docker 20.10: choose the runtime or set no-new-privileges per service
(gVisor must be each node's default runtime), report the engine's OOM flag of a task (exit 137
of a task this backend did not stop is read as its memory cap), or tell a task's memory use.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors
import requests.exceptions
from docker.types import (
    ContainerSpec,
    DriverConfig,
    Mount,
    Placement,
    Resources,
    RestartPolicy,
    ServiceMode,
    TaskTemplate,
)

from config import Settings
from errors import BackendUnavailable, ConfigError, RunnerImageMissing
from config.log import get_logger
from controller._backend import (
    LABEL_DATA_DIR,
    LABEL_JOB_ID,
    LABEL_RUNTIME,
    ContainerBackend,
    ContainerExit,
    ContainerInfo,
    ContainerRequest,
    StartedContainer,
)
from controller._docker import LOG_CONFIG, job_ulimits, split_lines

__all__ = ["NodeStatus", "SwarmBackend", "image_label"]

log = get_logger(__name__)

T = TypeVar("T")

_GVISOR = "runsc"
_POLL_SECONDS = 0.25
_LOG_TAIL_CHARS = 8000
# After its task ends, a service's followed log stream stays open: it is closed this long after.
_LOG_GRACE_SECONDS = 1.0
_ENDED = {"complete", "failed", "rejected", "shutdown", "orphaned", "remove"}
# A task in one of these states has (or had) a container that may have run the job.
_RAN = {"starting", "running", "complete"}
_SIGKILL_EXIT = 137
_NETWORK_TRIES = 80  # 20 s
_STOP_GRACE_NANOSECONDS = 10**9
_PROBE_FILE = "probe"
_PROBE_DIR = ".node-check"
# The node check's program: the token it was given (through the data directory) and the runtime.
_PROBE_SCRIPT = (
    f"cat /job/input/{_PROBE_FILE}; echo; "
    f"if dmesg 2>/dev/null | grep -q gVisor; then echo {_GVISOR}; else echo runc; fi"
)


def image_label(image_id: str) -> str:
    """The node label that says a test job ran this exact image on the node."""
    return f"statagent.image.{image_id.removeprefix('sha256:')[:16]}"


@dataclass(frozen=True)
class NodeStatus:
    """One swarm node as `statagent admin nodes` shows it."""

    node_id: str
    hostname: str
    role: str
    state: str  # ready, down, ...
    availability: str  # active, pause, drain
    cpus: float
    memory_mb: int
    free_cpus: float  # minus the reservations of the tasks running there
    free_memory_mb: int
    has_image: bool  # a test job ran the current runner image there
    runtime: str  # what that test job ran under ('' when none ran)


class SwarmBackend(ContainerBackend):
    """Job services on the swarm whose manager `client` talks to (`swarm.manager_url` by default)."""

    # The job runs on another machine: its output folder is on the shared storage, capped there.
    caps_output_on_host = False

    def __init__(
        self, *, settings: Settings, client: docker.DockerClient | None = None, max_threads: int = 64
    ) -> None:
        self._settings = settings
        self._executor = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="swarm")
        self._client = client
        self._client_lock = threading.Lock()
        self._max_threads = max_threads
        self._checked: dict[str, dict[str, str]] = {}  # image id -> node id -> runtime its test job saw
        self._stopped: set[str] = set()  # services this backend killed
        self._ran: set[str] = set()  # services whose task was seen starting or running
        self._tails: dict[str, str] = {}  # log tails of services killed (their logs go with them)
        self._streams: dict[str, socket.socket] = {}  # sockets of followed log streams, by service id

    @property
    def client(self) -> docker.DockerClient:
        """The SDK client of the manager, made on first use (call it in a thread)."""
        with self._client_lock:
            if self._client is None:
                try:
                    url = self._settings.swarm.manager_url
                    self._client = (
                        docker.DockerClient(base_url=url, max_pool_size=self._max_threads)
                        if url
                        else docker.from_env(max_pool_size=self._max_threads)
                    )
                except docker.errors.DockerException as error:
                    raise BackendUnavailable(f"cannot reach the swarm manager: {error}") from error
            return self._client

    async def _call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, partial(fn, *args, **kwargs))
        except docker.errors.NotFound:
            raise
        except (requests.exceptions.RequestException, docker.errors.DockerException) as error:
            raise BackendUnavailable(f"swarm manager call failed: {error}") from error

    # ------------------------------------------------------------ image, runtime, nodes

    async def resolve_image(self, reference: str) -> str:
        """The image id of `reference` on the manager, once a test job proved it on some node.

        The first call per image runs the node check (see `check_nodes`).
        """
        from controller.image import resolve_runner_image

        image_id = await self._call(lambda: resolve_runner_image(self.client, tag=reference))
        if image_id not in self._checked:
            await self.check_nodes(image_id)
            if not self._checked[image_id]:
                raise RunnerImageMissing(f"{reference} (on no node of the swarm)")
        return image_id

    async def resolve_runtime(self, wanted: str) -> str:
        """What the nodes run jobs under; a runtime cannot be chosen per service on a swarm."""
        seen = {runtime for checked in self._checked.values() for runtime in checked.values()}
        if wanted == "auto":
            if seen != {_GVISOR}:
                log.warning(
                    "not every swarm node runs jobs under gVisor (its default runtime): those "
                    "share their kernel with the jobs",
                    runtimes=sorted(seen),
                )
            return _GVISOR if seen == {_GVISOR} else "runc"
        if seen and seen != {wanted}:
            others = sorted(
                node for checked in self._checked.values() for node, runtime in checked.items() if runtime != wanted
            )
            raise ConfigError(
                f"container.runtime is {wanted!r}, but swarm node(s) {', '.join(others)} run jobs under "
                "another one; on a swarm the runtime is each node's default runtime (README)"
            )
        return wanted

    async def check_nodes(self, image_id: str) -> dict[str, str]:
        """Run a test job on every ready, active node; label those that ran it; node id -> runtime.

        A node without the image is left unlabelled (no job goes there). A node that has it but
        does not see the data directory is a ConfigError naming it: its jobs would all fail.
        """
        return await self._call(self._check_nodes, image_id)

    def _check_nodes(self, image_id: str) -> dict[str, str]:
        api = self.client.api
        data_dir = self._settings.data_dir
        token = secrets.token_hex(8)
        folder = data_dir / _PROBE_DIR / token
        folder.mkdir(parents=True)
        try:
            (folder / _PROBE_FILE).write_text(token)
            folder.chmod(0o755)
            (folder / _PROBE_FILE).chmod(0o644)
            nodes = [node for node in api.nodes() if _ready(node)]
            services = {node["ID"]: self._start_probe(node, image_id, folder) for node in nodes}
            try:
                outcome = self._await_probes(services)
            finally:
                for service_id in services.values():
                    self._remove(service_id)
        finally:
            for path in (folder / _PROBE_FILE, folder):
                path.unlink() if path.is_file() else path.rmdir()
        label = image_label(image_id)
        checked: dict[str, str] = {}
        blind: list[str] = []
        for node in nodes:
            state, error, output = outcome[node["ID"]]
            name = _node_name(node)
            lines = output.split()
            if state == "complete" and lines[:1] == [token]:
                checked[node["ID"]] = lines[1] if len(lines) > 1 else ""
            elif "bind source path does not exist" in error or state == "complete":
                blind.append(f"{name} ({error or 'it read another file'})")
            else:
                log.warning("swarm node cannot run the runner image", node=name, state=state, error=error)
            self._set_label(node["ID"], label, node["ID"] in checked)
        if blind:
            raise ConfigError(
                f"swarm node(s) {', '.join(blind)} do not see the data directory {data_dir}: every "
                "node must mount the shared storage at that same path (README, More than one machine)"
            )
        self._checked[image_id] = checked
        log.info("swarm nodes checked", image=image_id, nodes=len(nodes), usable=len(checked))
        return checked

    def _start_probe(self, node: dict[str, Any], image_id: str, folder: Path) -> str:
        spec = ContainerSpec(
            image=image_id,
            command=["sh", "-c", _PROBE_SCRIPT],
            user=self._settings.runner.user,
            read_only=True,
            cap_drop=["ALL"],
            mounts=[Mount(target="/job/input", source=str(folder), type="bind", read_only=True)],
            labels={LABEL_DATA_DIR: str(self._settings.data_dir)},
        )
        template = TaskTemplate(
            spec,
            restart_policy=RestartPolicy(condition="none"),
            placement=Placement(constraints=[f"node.id=={node['ID']}"]),
            log_driver=DriverConfig("json-file", LOG_CONFIG),
        )
        created = self.client.api.create_service(
            template,
            name=f"statagent-node-check-{node['ID'][:12]}-{secrets.token_hex(3)}",
            mode=ServiceMode("replicated-job"),
            labels={LABEL_DATA_DIR: str(self._settings.data_dir), "statagent.node_check": "1"},
        )
        return created["ID"]

    def _await_probes(self, services: dict[str, str]) -> dict[str, tuple[str, str, str]]:
        """node id -> (task state, task error, output) of each test job, once all have ended."""
        deadline = time.monotonic() + self._settings.swarm.node_check_timeout_seconds
        outcome: dict[str, tuple[str, str, str]] = {}
        while len(outcome) < len(services) and time.monotonic() < deadline:
            for node_id, service_id in services.items():
                if node_id in outcome:
                    continue
                task = self._task(service_id)
                if task is not None and _state(task) in _ENDED:
                    output = self._logs(service_id, tail=10) if _state(task) == "complete" else ""
                    outcome[node_id] = (_state(task), task["Status"].get("Err", ""), output)
            time.sleep(_POLL_SECONDS)
        for node_id in services:
            outcome.setdefault(node_id, ("timeout", "the test job did not finish in time", ""))
        return outcome

    def _set_label(self, node_id: str, label: str, present: bool) -> None:
        node = self.client.api.inspect_node(node_id)
        spec = node["Spec"]
        labels = dict(spec.get("Labels") or {})
        if (label in labels) == present:
            return
        if present:
            labels[label] = "true"
        else:
            labels.pop(label)
        self.client.api.update_node(node_id, node["Version"]["Index"], {**spec, "Labels": labels})

    async def nodes(self) -> list[NodeStatus]:
        """Every node with its free CPU and memory and whether it may run the current image."""
        return await self._call(self._nodes)

    def _nodes(self) -> list[NodeStatus]:
        api = self.client.api
        reserved: dict[str, list[int]] = {}
        for task in api.tasks(filters={"desired-state": "running"}):
            resources = (task["Spec"].get("Resources") or {}).get("Reservations") or {}
            used = reserved.setdefault(task.get("NodeID", ""), [0, 0])
            used[0] += int(resources.get("NanoCPUs", 0))
            used[1] += int(resources.get("MemoryBytes", 0))
        current = {image_label(image_id): checked for image_id, checked in self._checked.items()}
        statuses = []
        for node in api.nodes():
            total = node["Description"]["Resources"]
            used = reserved.get(node["ID"], [0, 0])
            labels = node["Spec"].get("Labels") or {}
            runtime = next((c[node["ID"]] for c in current.values() if node["ID"] in c), "")
            statuses.append(
                NodeStatus(
                    node_id=node["ID"],
                    hostname=_node_name(node),
                    role=node["Spec"].get("Role", ""),
                    state=node["Status"].get("State", ""),
                    availability=node["Spec"].get("Availability", ""),
                    cpus=total["NanoCPUs"] / 1e9,
                    memory_mb=total["MemoryBytes"] // 2**20,
                    free_cpus=(total["NanoCPUs"] - used[0]) / 1e9,
                    free_memory_mb=(total["MemoryBytes"] - used[1]) // 2**20,
                    has_image=any(labels.get(label) == "true" for label in current),
                    runtime=runtime,
                )
            )
        return statuses

    # ------------------------------------------------------------ jobs

    async def start(self, request: ContainerRequest) -> StartedContainer:
        return await self._call(self._start, request)

    def _start(self, request: ContainerRequest) -> StartedContainer:
        api = self.client.api
        limits = request.limits
        runtime = self._resolve_recorded_runtime()
        labels = {**request.labels(), LABEL_RUNTIME: runtime}
        spec = ContainerSpec(
            image=request.image_id,
            command=list(request.entrypoint) if request.entrypoint is not None else None,
            args=list(request.command),
            user=request.runner_user,
            labels=labels,
            read_only=True,
            # The runner is its own init (PID 1, with the job's deadline): no init of Docker's before it.
            init=False,
            cap_drop=["ALL"],
            mounts=[
                Mount(target=target, source=str(source), type="bind", read_only=read_only)
                for source, target, read_only in request.mounts()
            ]
            + [_tmp_mount(request)],
        )
        spec["Ulimits"] = [dict(ulimit) for ulimit in job_ulimits(request)]
        # A kill is a service removal: its task gets SIGTERM, which the runner (PID 1) ignores.
        spec["StopGracePeriod"] = _STOP_GRACE_NANOSECONDS
        memory, cpus = limits.memory_mb * 2**20, int(limits.cpus * 1e9)
        # Docker's constraint enforcer counts finished job tasks' reservations against their node
        # (moby/moby#52652), which soon rejects new tasks when a job reserves whole cores.
        reserved_cpus = cpus if self._settings.swarm.reserve_cpus else None
        resources = Resources(cpu_limit=cpus, mem_limit=memory, cpu_reservation=reserved_cpus, mem_reservation=memory)
        resources["Limits"]["Pids"] = limits.pids
        name = request.name  # a resubmitted job's is new: a service and a network of its own
        began = time.perf_counter()
        network = api.create_network(name, driver="overlay", internal=True, labels=labels)["Id"]
        template = TaskTemplate(
            spec,
            resources=resources,
            restart_policy=RestartPolicy(condition="none"),
            placement=Placement(constraints=[f"node.labels.{image_label(request.image_id)}==true"]),
            log_driver=DriverConfig("json-file", LOG_CONFIG),
            networks=[network],
        )
        try:
            created = api.create_service(template, name=name, labels=labels, mode=ServiceMode("replicated-job"))
        except BaseException:
            self._remove_network(network)
            raise
        create_seconds = time.perf_counter() - began
        return StartedContainer(created["ID"], create_seconds, 0.0)

    def _resolve_recorded_runtime(self) -> str:
        seen = {runtime for checked in self._checked.values() for runtime in checked.values()}
        return _GVISOR if seen == {_GVISOR} else ",".join(sorted(seen)) or "unknown"

    async def stdout_lines(self, container_id: str, *, max_lines: int) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        done = threading.Event()

        def deliver(line: str | None) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, line)
            except RuntimeError:
                done.set()

        def pump() -> None:
            try:
                api = self.client.api
                response = api._get(
                    api._url("/services/{0}/logs", container_id),
                    params={"stdout": 1, "stderr": 0, "follow": 1},
                    stream=True,
                )
                api._raise_for_status(response)
                raw = api._get_raw_response_socket(response)
                self._streams[container_id] = getattr(raw, "_sock", raw)  # unix sockets come wrapped
                for line in split_lines(api._multiplexed_response_stream_helper(response)):
                    if done.is_set():
                        break
                    deliver(line)
                response.close()
            except (docker.errors.DockerException, requests.exceptions.RequestException, OSError, ValueError):
                pass  # the service is gone, or its stream was closed: it simply ends
            finally:
                self._streams.pop(container_id, None)
                deliver(None)

        self._executor.submit(pump)
        try:
            for _ in range(max_lines):
                line = await queue.get()
                if line is None:
                    break
                yield line
        finally:
            done.set()
            self._close_stream(container_id)

    def _close_stream(self, service_id: str) -> None:
        """End a followed log stream: shutting its socket down wakes the thread that reads it."""
        sock = self._streams.pop(service_id, None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    async def wait(self, container_id: str, *, timeout: float) -> ContainerExit | None:
        return await self._call(self._wait, container_id, timeout)

    def _wait(self, service_id: str, timeout: float) -> ContainerExit | None:
        deadline = time.monotonic() + timeout
        while True:
            tasks = self._tasks(service_id)
            task = max(tasks, key=lambda one: one["CreatedAt"], default=None)
            if any(_state(one) in _RAN for one in tasks):
                self._ran.add(service_id)
            killed = service_id in self._stopped
            taken = None if killed else next(filter(_taken_away, tasks), None)
            state = _state(task) if task is not None else self._no_task_yet(service_id)
            if taken is not None or state in _ENDED:
                threading.Timer(_LOG_GRACE_SECONDS, self._close_stream, (service_id,)).start()
                unstarted = "" if killed or service_id in self._ran else _unstarted(taken or task)
                if taken is not None:  # no rerun elsewhere: the user is told, and may start it again
                    code = (taken["Status"].get("ContainerStatus") or {}).get("ExitCode")
                    return ContainerExit(
                        exit_code=-1 if code is None else int(code),
                        oom_killed=False,
                        lost=self._why_lost(taken),
                        unstarted=unstarted,
                    )
                return dataclasses.replace(_exit_of(task, killed=killed), unstarted=unstarted)
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(_POLL_SECONDS, max(deadline - time.monotonic(), 0.001)))

    def _no_task_yet(self, service_id: str) -> str:
        """The state of a service without a task: 'new' until the swarm made its task, or 'remove'."""
        try:
            self.client.api.inspect_service(service_id)
        except docker.errors.NotFound:
            return "remove"
        return "new"

    def _why_lost(self, task: dict[str, Any]) -> str:
        try:
            node = self.client.api.inspect_node(task.get("NodeID", ""))
        except docker.errors.APIError:
            return f"the swarm stopped its task: its node {task.get('NodeID', '')[:12]} is gone"
        name = _node_name(node)
        if node["Spec"].get("Availability") != "active":
            return f"its node {name} was set to {node['Spec'].get('Availability')}"
        if node["Status"].get("State") != "ready":
            return f"its node {name} is {node['Status'].get('State')}"
        return f"the swarm stopped its task on node {name}: {task['Status'].get('Err') or task['Status'].get('Message')}"

    async def memory_use(self, container_id: str) -> int | None:
        return None  # a task's memory is known to its node's engine only

    async def kill(self, container_id: str) -> None:
        await self._call(self._kill, container_id)

    def _kill(self, service_id: str) -> None:
        """Keep the log tail, then remove the service: a swarm has no kill of one task."""
        task = self._task(service_id)
        if task is None or _state(task) in _ENDED:
            return
        self._tails[service_id] = self._logs(service_id, tail=60)
        self._stopped.add(service_id)
        self._remove(service_id)

    async def remove(self, container_id: str) -> None:
        await self._call(self._remove, container_id)

    def _remove(self, service_id: str) -> None:
        """Remove the service and its network, or a job network listed alone (no error when gone)."""
        api = self.client.api
        try:
            networks = [
                attachment["Target"]
                for attachment in api.inspect_service(service_id)["Spec"]["TaskTemplate"].get("Networks") or []
            ]
            api.remove_service(service_id)
        except docker.errors.NotFound:
            networks = [service_id]
        self._close_stream(service_id)
        self._ran.discard(service_id)
        for network in networks:
            self._remove_network(network)

    def _remove_network(self, network_id: str) -> None:
        """Remove a job network. While the task's endpoint is still on it (it goes with the task's
        container, a moment after the service) the manager may accept the removal and keep the
        network, so this asks again until the network is gone."""
        api = self.client.api
        for _ in range(_NETWORK_TRIES):
            try:
                api.remove_network(network_id)
                api.inspect_network(network_id)
            except docker.errors.NotFound:
                return
            except docker.errors.APIError as error:
                if error.status_code not in (403, 409, 500):
                    raise
            time.sleep(_POLL_SECONDS)
        log.warning("job network still in use; the next reconcile removes it", network=network_id)

    async def list_jobs(self, *, labels: dict[str, str] | None = None) -> list[ContainerInfo]:
        return await self._call(self._list_jobs, labels or {})

    def _list_jobs(self, labels: dict[str, str]) -> list[ContainerInfo]:
        api = self.client.api
        filters = [LABEL_JOB_ID] + [f"{key}={value}" for key, value in labels.items()]
        infos = [self._info(service) for service in api.services(filters={"label": filters})]
        # A job network whose service is gone (a crash between the two): listed so it is reaped.
        served = {info.name for info in infos}
        for network in api.networks(filters={"label": filters}):
            if network["Name"] not in served:
                infos.append(
                    ContainerInfo(network["Id"], network["Name"], "network", False, "", network.get("Labels") or {})
                )
        return infos

    async def logs_tail(self, container_id: str, *, lines: int = 50) -> str:
        if container_id in self._tails:
            return self._tails.pop(container_id)
        try:
            return await self._call(self._logs, container_id, tail=lines)
        except docker.errors.NotFound:
            return ""

    def _logs(self, service_id: str, *, tail: int) -> str:
        try:
            raw = b"".join(
                self.client.api.service_logs(service_id, stdout=True, stderr=True, tail=tail, follow=False)
            )
        except docker.errors.NotFound:
            return ""
        text = raw.decode("utf-8", errors="replace")
        task = self._task(service_id)
        if task is not None:  # where it ran and how it ended: the job's record keeps this line
            error = task["Status"].get("Err")
            text += f"\n[swarm] task {_state(task)} on node {self._node_name(task.get('NodeID', ''))}"
            text += f": {error}\n" if error else "\n"
        return text[-_LOG_TAIL_CHARS:]

    def _node_name(self, node_id: str) -> str:
        if not node_id:
            return "(none yet)"
        try:
            return _node_name(self.client.api.inspect_node(node_id))
        except docker.errors.NotFound:
            return node_id

    async def inspect(self, container_id: str) -> ContainerInfo | None:
        try:
            service = await self._call(self.client.api.inspect_service, container_id)
        except docker.errors.NotFound:
            return None
        return await self._call(self._info, service)

    def _info(self, service: dict[str, Any]) -> ContainerInfo:
        task = self._task(service["ID"])
        state = _state(task) if task is not None else "pending"
        spec = service["Spec"]
        node = self._node_name(task.get("NodeID", "")) if task is not None else ""
        return ContainerInfo(
            service["ID"],
            spec["Name"],
            state,
            state not in _ENDED,
            spec["TaskTemplate"]["ContainerSpec"]["Image"],
            dict(spec.get("Labels") or {}),
            node=node,
        )

    def _task(self, service_id: str) -> dict[str, Any] | None:
        """The service's newest task (a drained node's task is followed by the swarm's replacement)."""
        return max(self._tasks(service_id), key=lambda task: task["CreatedAt"], default=None)

    def _tasks(self, service_id: str) -> list[dict[str, Any]]:
        try:
            return self.client.api.tasks(filters={"service": service_id})
        except docker.errors.NotFound:
            return []

    async def close(self) -> None:
        for service_id in list(self._streams):
            self._close_stream(service_id)
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._client is not None:
            self._client.close()


def _tmp_mount(request: ContainerRequest) -> Mount:
    """The job's size-capped /tmp; a service tmpfs takes only a size and a mode (no noexec)."""
    return Mount(target="/tmp", source=None, type="tmpfs", tmpfs_size=request.limits.tmpfs_mb * 2**20, tmpfs_mode=0o1777)


def _exit_of(task: dict[str, Any] | None, *, killed: bool) -> ContainerExit:
    """How a task ended. Exit 137 that nobody here caused is the memory cap's OOM kill."""
    status = (task or {}).get("Status") or {}
    code = (status.get("ContainerStatus") or {}).get("ExitCode")
    if code is None or _state(task) in ("rejected", "orphaned", "remove") and not code:
        code = _SIGKILL_EXIT if killed else -1  # it never ran, or its node went away
    return ContainerExit(exit_code=int(code), oom_killed=int(code) == _SIGKILL_EXIT and not killed)


def _unstarted(task: dict[str, Any] | None) -> str:
    """Why `task` ended before any container ran the job ('' when one may have: it left a process
    id or an exit code, or it completed). The swarm's error for it, e.g. Docker 20.10's constraint
    enforcer's "assigned node no longer meets constraints" for a task that never started."""
    if task is None or _state(task) in _RAN:
        return ""
    status = task.get("Status") or {}
    container = status.get("ContainerStatus") or {}
    if container.get("PID") or container.get("ExitCode"):
        return ""
    return status.get("Err") or status.get("Message") or f"its task was {_state(task)}"


def _taken_away(task: dict[str, Any]) -> bool:
    """The swarm itself stopped this task before it ended: its node was drained, paused or lost."""
    return task.get("DesiredState") in ("shutdown", "orphaned") and _state(task) not in ("complete", "failed", "rejected")


def _state(task: dict[str, Any] | None) -> str:
    return ((task or {}).get("Status") or {}).get("State", "")


def _ready(node: dict[str, Any]) -> bool:
    return node["Status"].get("State") == "ready" and node["Spec"].get("Availability") == "active"


def _node_name(node: dict[str, Any]) -> str:
    return (node.get("Description") or {}).get("Hostname") or node["ID"][:12]
