"""`DockerBackend`: job containers on one Docker engine through the docker SDK.

The SDK blocks, so every call runs on the backend's own thread pool (a job holds two threads
while it runs: its wait and its stdout stream), never on the event loop.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import docker
import docker.errors
import requests.exceptions
from docker.types import LogConfig, Mount, Ulimit

from errors import BackendUnavailable, ConfigError
from config.log import get_logger
from controller._backend import (
    LABEL_JOB_ID,
    LABEL_RUNTIME,
    ContainerBackend,
    ContainerExit,
    ContainerInfo,
    ContainerRequest,
    StartedContainer,
)

__all__ = ["DockerBackend", "LOG_CONFIG", "job_ulimits", "split_lines"]

log = get_logger(__name__)

T = TypeVar("T")

# The engine keeps each job's stdout/stderr in its log file: capped, so a chatty job cannot fill the disk.
_LOG_MAX_SIZE = "10m"
# One stdout line longer than this is cut (the rest of it is dropped).
_MAX_LINE_BYTES = 64 * 1024
_LOG_TAIL_CHARS = 8000
_GVISOR = "runsc"
LOG_CONFIG = {"max-size": _LOG_MAX_SIZE, "max-file": "1"}


def job_ulimits(request: ContainerRequest) -> list[Ulimit]:
    """RLIMIT_FSIZE, RLIMIT_NOFILE and RLIMIT_CPU of every process in a job's container."""
    cpu = math.ceil(request.cpu_seconds)
    return [
        Ulimit(name="fsize", soft=request.max_file_bytes, hard=request.max_file_bytes),
        Ulimit(name="nofile", soft=request.limits.max_open_files, hard=request.limits.max_open_files),
        Ulimit(name="cpu", soft=cpu, hard=cpu),
    ]


class DockerBackend(ContainerBackend):
    """Job containers on the engine `client` talks to (`docker.from_env()` by default)."""

    # The controller caps each job's output with a tmpfs it mounts on this (the engine's) host.
    caps_output_on_host = True

    def __init__(self, client: docker.DockerClient | None = None, *, max_threads: int = 64) -> None:
        self._executor = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="docker")
        self._client = client
        self._client_lock = threading.Lock()
        self._max_threads = max_threads
        self._runtimes: dict[str, str] = {}  # configured -> resolved, asked of the engine once

    @property
    def client(self) -> docker.DockerClient:
        """The SDK client, made on first use (this talks to the engine: call it in a thread)."""
        with self._client_lock:
            if self._client is None:
                try:
                    # Pool as many connections as threads: a wait or a stream holds one each.
                    self._client = docker.from_env(max_pool_size=self._max_threads)
                except docker.errors.DockerException as error:
                    raise BackendUnavailable(f"cannot reach the Docker engine: {error}") from error
            return self._client

    async def _call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run `fn` on the backend's threads; engine failures become BackendUnavailable."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, partial(fn, *args, **kwargs))
        except docker.errors.NotFound:
            raise
        except (requests.exceptions.RequestException, docker.errors.DockerException) as error:
            raise BackendUnavailable(f"Docker engine call failed: {error}") from error

    def _api(self, method: str, /, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.client.api, method)(*args, **kwargs)

    async def resolve_image(self, reference: str) -> str:
        # Imported here: `python -m controller.image` must not find it imported by the package.
        from controller.image import resolve_runner_image

        return await self._call(lambda: resolve_runner_image(self.client, tag=reference))

    async def resolve_runtime(self, wanted: str) -> str:
        return await self._call(self._resolve_runtime, wanted)

    def _resolve_runtime(self, wanted: str) -> str:
        with self._client_lock:
            if wanted in self._runtimes:
                return self._runtimes[wanted]
        offered = sorted(self._api("info").get("Runtimes") or {})
        if wanted == "auto":
            resolved = _GVISOR if _GVISOR in offered else "runc"
            if resolved != _GVISOR:
                log.warning(
                    "gVisor (runsc) is not registered with the Docker engine: job containers run "
                    "under runc, which shares the host's kernel with them",
                    offered=offered,
                )
        elif wanted in offered:
            resolved = wanted
        else:
            raise ConfigError(
                f"container.runtime is {wanted!r}, which the Docker engine does not offer "
                f"(it offers {', '.join(offered)})"
            )
        with self._client_lock:
            self._runtimes[wanted] = resolved
        return resolved

    async def start(self, request: ContainerRequest) -> StartedContainer:
        return await self._call(self._start, request)

    def _start(self, request: ContainerRequest) -> StartedContainer:
        api = self.client.api
        limits = request.limits
        runtime = self._resolve_runtime(limits.runtime)
        memory = f"{limits.memory_mb}m"
        host_config = api.create_host_config(
            network_mode="none",
            mem_limit=memory,
            memswap_limit=memory,  # equal to the memory limit: no swap
            nano_cpus=int(limits.cpus * 1e9),
            pids_limit=limits.pids,
            read_only=True,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            tmpfs={"/tmp": f"rw,nosuid,nodev,noexec,size={limits.tmpfs_mb}m,mode=1777"},
            ulimits=job_ulimits(request),
            mounts=[
                Mount(target=target, source=str(source), type="bind", read_only=read_only)
                for source, target, read_only in request.mounts()
            ],
            runtime=runtime,
            log_config=LogConfig(type=LogConfig.types.JSON, config=LOG_CONFIG),
        )
        began = time.perf_counter()
        created = api.create_container(
            image=request.image_id,
            command=list(request.command),
            entrypoint=list(request.entrypoint) if request.entrypoint is not None else None,
            user=request.runner_user,
            labels={**request.labels(), LABEL_RUNTIME: runtime},
            name=request.name,
            network_disabled=True,
            host_config=host_config,
        )
        container_id = created["Id"]
        create_seconds = time.perf_counter() - began
        began = time.perf_counter()
        try:
            api.start(container_id)
        except BaseException:
            self._remove(container_id)
            raise
        return StartedContainer(container_id, create_seconds, time.perf_counter() - began)

    async def stdout_lines(self, container_id: str, *, max_lines: int) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        done = threading.Event()

        def deliver(line: str | None) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, line)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                done.set()

        def pump() -> None:
            try:
                stream = self._api(
                    "logs", container_id, stdout=True, stderr=False, stream=True, follow=True
                )
                for line in split_lines(stream):
                    if done.is_set():
                        break
                    deliver(line)
                stream.close()
            except (docker.errors.DockerException, requests.exceptions.RequestException):
                pass  # the container is gone: its stream simply ends
            finally:
                deliver(None)

        self._executor.submit(pump)
        try:
            for _ in range(max_lines):
                line = await queue.get()
                if line is None:
                    break
                yield line
        finally:
            done.set()  # the pump stops at its next line, or when the container exits

    async def wait(self, container_id: str, *, timeout: float) -> ContainerExit | None:
        return await self._call(self._wait, container_id, timeout)

    def _wait(self, container_id: str, timeout: float) -> ContainerExit | None:
        try:
            self.client.api.wait(container_id, timeout=max(timeout, 0.001))
        except requests.exceptions.ConnectionError as error:
            # Over the unix socket a read timeout arrives as ConnectionError("... Read timed out.").
            if "timed out" not in str(error):
                raise
            return None
        except requests.exceptions.ReadTimeout:  # over TCP
            return None
        state = self.client.api.inspect_container(container_id)["State"]
        return ContainerExit(exit_code=int(state["ExitCode"]), oom_killed=bool(state["OOMKilled"]))

    async def memory_use(self, container_id: str) -> int | None:
        try:
            stats = await self._call(self._api, "stats", container_id, stream=False, one_shot=True)
        except (docker.errors.NotFound, BackendUnavailable):
            return None
        memory = stats.get("memory_stats") or {}
        usage = memory.get("usage")
        if not usage:
            return None
        # The working set, as `docker stats` shows it: page cache that can be dropped is not use.
        counters = memory.get("stats") or {}
        inactive = counters.get("total_inactive_file", counters.get("inactive_file", 0))
        return max(int(usage) - int(inactive), 0)

    async def kill(self, container_id: str) -> None:
        await self._call(self._kill, container_id)

    def _kill(self, container_id: str) -> None:
        try:
            self.client.api.kill(container_id)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:
            if error.status_code != 409:  # 409: not running any more
                raise

    async def remove(self, container_id: str) -> None:
        await self._call(self._remove, container_id)

    def _remove(self, container_id: str) -> None:
        try:
            self.client.api.remove_container(container_id, v=True, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:
            if error.status_code != 409:  # 409: removal already in progress
                raise

    async def list_jobs(self, *, labels: dict[str, str] | None = None) -> list[ContainerInfo]:
        filters = [LABEL_JOB_ID] + [f"{key}={value}" for key, value in (labels or {}).items()]
        rows = await self._call(self._api, "containers", all=True, filters={"label": filters})
        return [_info(row["Id"], row) for row in rows]

    async def logs_tail(self, container_id: str, *, lines: int = 50) -> str:
        try:
            raw = await self._call(
                self._api, "logs", container_id, stdout=True, stderr=True, tail=lines
            )
        except docker.errors.APIError as error:
            # 404 gone, 409 dead or being removed: a missing log tail never fails a job.
            if error.status_code not in (404, 409):
                raise
            return ""
        return raw.decode("utf-8", errors="replace")[-_LOG_TAIL_CHARS:]

    async def inspect(self, container_id: str) -> ContainerInfo | None:
        try:
            data = await self._call(self._api, "inspect_container", container_id)
        except docker.errors.NotFound:
            return None
        return _info(data["Id"], data)

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._client is not None:
            self._client.close()


def _info(container_id: str, data: dict[str, Any]) -> ContainerInfo:
    """A ContainerInfo from either a list row or an inspect answer (they differ in shape)."""
    state = data.get("State")
    if isinstance(state, dict):  # inspect
        status, running = state.get("Status", ""), bool(state.get("Running"))
        labels = (data.get("Config") or {}).get("Labels") or {}
        name = data.get("Name", "").lstrip("/")
        image = data.get("Image", "")
    else:  # list
        status = str(state or "")
        running = status == "running"
        labels = data.get("Labels") or {}
        name = (data.get("Names") or [""])[0].lstrip("/")
        image = data.get("ImageID") or data.get("Image", "")
    return ContainerInfo(container_id, name, status, running, image, dict(labels))


def split_lines(chunks: Any) -> Any:
    """Lines (decoded, without the newline) from a stream of byte chunks; overlong lines are cut."""
    buffer = b""
    skipping = False
    for chunk in chunks:
        buffer += chunk
        while True:
            end = buffer.find(b"\n")
            if end < 0:
                if len(buffer) > _MAX_LINE_BYTES:
                    if not skipping:
                        yield buffer[:_MAX_LINE_BYTES].decode("utf-8", errors="replace")
                    skipping, buffer = True, b""
                break
            line, buffer = buffer[:end], buffer[end + 1 :]
            if not skipping:
                yield line.decode("utf-8", errors="replace")
            skipping = False
    if buffer and not skipping:
        yield buffer.decode("utf-8", errors="replace")
