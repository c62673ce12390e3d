"""What running jobs on a Docker Swarm costs: the swarm backend against the docker backend.

    .venv/bin/python bench/swarm_overhead.py [--nodes 2] [--tiny 5] [--max-running N]

On a real swarm of `--nodes` engines on this machine (tests/controller/swarm_cluster.py: each
engine in network and mount namespaces of its own), a fresh swarm for each part:

1. a tiny job's seconds from submit to outcome, median of `--tiny` consecutive ones (0: skip),
   in-process, on the docker backend (a cold container on the local engine) and on the swarm
   backend (a service on the swarm): the per-job overhead of each;
2. 20 jobs from 5 users (as in bench/job_overhead.py: 5,000 rows, linear and forest) submitted
   at once on the swarm, at most `--max-running` at a time (default: 2 per node, as many as the
   nodes' cores take): the wall time, the failures by reason, and for each node the jobs it ran,
   the share of the wall time it ran at least one and the mean number it ran at once.

Uploads are ingested on the local engine (docker backend); only training runs on the swarm. The
nodes share this machine's cores, so the swarm shows its own costs here, not more capacity.
Figures only, nothing is asserted. Needs root, `ip netns` and the runner image
(`make runner-image`); without them it says why and skips. Every engine, namespace and mount it
made is removed at the end, also after a failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import docker

from config import Settings, load_settings
from config.log import configure_logging
from controller import Controller
from controller.image import resolve_runner_image, runner_image_tag
from job_overhead import JOBS_PER_USER, MIX_ROWS, TINY_ROWS, USERS, _train, in_process, synthetic
from store import DatasetRecord, Store

REPO_ROOT = Path(__file__).resolve().parent.parent
# The cluster harness lives with the tests it was written for.
sys.path.append(str(REPO_ROOT / "tests" / "controller"))
from swarm_cluster import Node, swarm_cluster, unavailable  # noqa: E402

_SAMPLE_SECONDS = 0.5


def _settings(work: Path, image_id: str, *, manager: Node | None = None, max_running: int = 1) -> Settings:
    """The docker backend's settings, or with `manager` the swarm's (the same data directory)."""
    overrides: dict[str, Any] = {
        "data_dir": str(work / "data"),
        "runner": {"image": image_id},
        "pool": {"size": 0},
        # A job reserves this much on its node: small, as the README asks of Docker 20.10.
        "container": {"memory_mb": 1024, "cpus": 1.0},
        "uploads": {"max_rows": max(MIX_ROWS, TINY_ROWS)},
        "quotas": {"max_models_per_user": 50},
        "queue": {"per_user_queued": JOBS_PER_USER},
    }
    if manager is not None:
        overrides["backend"] = "swarm"
        overrides["swarm"] = {"manager_url": manager.url, "node_check_timeout_seconds": 180}
        overrides["queue"] = {"per_user_queued": JOBS_PER_USER, "max_running": max_running}
    return load_settings(env={}, overrides=overrides)


async def _upload(settings: Settings) -> dict[str, DatasetRecord]:
    """The tiny table and each user's table, ingested on the local engine."""
    datasets = {}
    tables = {"bench": synthetic(TINY_ROWS), **{f"u{user}": synthetic(MIX_ROWS, seed=user) for user in range(USERS)}}
    with Store.from_settings(settings) as store:
        async with Controller(settings=settings, store=store) as controller:
            for user, frame in tables.items():
                buffer = io.BytesIO()
                frame.to_parquet(buffer, index=False)
                handle = await controller.submit_upload(user_id=user, filename="t.parquet", data=buffer.getvalue())
                datasets[user] = (await handle.result()).dataset
    return datasets


async def _tiny(settings: Settings, dataset: DatasetRecord, count: int) -> list[float]:
    """Seconds from submit to outcome of `count` consecutive tiny linear jobs."""
    seconds = []
    with Store.from_settings(settings) as store:
        async with Controller(settings=settings, store=store) as controller:
            for _ in range(count):
                began = time.perf_counter()
                await (await controller.submit(_train("bench", dataset))).result()
                seconds.append(time.perf_counter() - began)
    return seconds


async def _mix(settings: Settings, datasets: dict[str, DatasetRecord], manager: Node) -> dict[str, Any]:
    """USERS users submit JOBS_PER_USER jobs each at once; wall time and each node's load."""
    api = manager.client.api
    names = {node["ID"]: node["Description"]["Hostname"] for node in api.nodes()}
    samples: list[Counter[str]] = []
    with Store.from_settings(settings) as store:
        async with Controller(settings=settings, store=store) as controller:
            tasks = []
            for user in range(USERS):
                for number in range(JOBS_PER_USER):
                    forest = number % 2 == 1
                    tasks.append(_train(f"u{user}", datasets[f"u{user}"], "random_forest" if forest else "linear",
                                        **({"hyperparameters": {"n_estimators": 30}} if forest else {})))
            began = time.perf_counter()
            handles = [await controller.submit(task) for task in tasks]
            results = asyncio.gather(*(handle.result() for handle in handles), return_exceptions=True)
            while not results.done():
                listed = await asyncio.to_thread(api.tasks)  # a job's task wants "complete", not "running"
                samples.append(Counter(names.get(t.get("NodeID", ""), "?") for t in listed
                                       if t["Status"]["State"] == "running"))
                await asyncio.wait({results}, timeout=_SAMPLE_SECONDS)
            outcomes = await results
            wall = time.perf_counter() - began
            failed = Counter(str(outcome).split(" (job ")[0] for outcome in outcomes if isinstance(outcome, Exception))
            ran_on = Counter(_node_of(store.get_job_admin(handle.job_id).log_tail) for handle in handles)
    per_node = {
        name: {
            "jobs": ran_on.get(name, 0),
            "busy": sum(1 for sample in samples if sample[name]) / max(len(samples), 1),
            "mean_running": statistics.mean(sample[name] for sample in samples) if samples else 0.0,
        }
        for name in sorted(names.values())
    }
    return {"wall": wall, "failed": failed, "nodes": per_node}


def _node_of(log_tail: str | None) -> str:
    """The node a swarm job ran on, from the `[swarm] task ... on node X` line of its log tail."""
    lines = [line for line in (log_tail or "").splitlines() if line.startswith("[swarm]")]
    return lines[-1].split(" on node ")[1].split(":")[0].strip() if lines else "?"


async def bench(
    work: Path, image_id: str, source: docker.DockerClient, *, nodes: int, tiny: int, max_running: int
) -> None:
    local = _settings(work, image_id)
    datasets = await _upload(local)
    if tiny:
        await _bench_tiny(work, image_id, source, datasets, nodes=nodes, tiny=tiny)
    with swarm_cluster(nodes=nodes, image_id=image_id, source=source) as cluster:
        mix = await _mix(_settings(work, image_id, manager=cluster[0], max_running=max_running), datasets, cluster[0])
    print(f"\n{USERS * JOBS_PER_USER} jobs from {USERS} users ({MIX_ROWS:,} rows, linear and forest) on the swarm, "
          f"{max_running} at a time: wall {mix['wall']:.1f} s, {sum(mix['failed'].values())} failed")
    for error, count in mix["failed"].items():
        print(f"    {count} failed: {error}")
    for name, load in mix["nodes"].items():
        print(f"    {name}: {load['jobs']} jobs, running one or more {load['busy']:.0%} of the time, "
              f"{load['mean_running']:.2f} at once on average")


async def _bench_tiny(
    work: Path, image_id: str, source: docker.DockerClient, datasets: dict[str, DatasetRecord], *, nodes: int, tiny: int
) -> None:
    local = _settings(work, image_id)
    with Store.from_settings(local) as store:
        in_process(store, local, _train("bench", datasets["bench"]), datasets["bench"], work)  # warm the imports
        inproc = statistics.median(
            in_process(store, local, _train("bench", datasets["bench"]), datasets["bench"], work) for _ in range(tiny)
        )
    on_docker = statistics.median(await _tiny(local, datasets["bench"], tiny))
    print(f"  docker backend: tiny job {on_docker:.2f} s", file=sys.stderr)
    with swarm_cluster(nodes=nodes, image_id=image_id, source=source) as cluster:
        on_swarm = statistics.median(await _tiny(_settings(work, image_id, manager=cluster[0]),
                                                 datasets["bench"], tiny))

    print(f"\nA {TINY_ROWS}-row linear job, seconds from submit to outcome (median of {tiny} consecutive)\n")
    print(f"    in-process {inproc:.2f} s")
    print(f"    docker backend (cold container) {on_docker:.2f} s, {on_docker - inproc:+.2f} s over in-process")
    print(f"    swarm backend ({nodes} nodes) {on_swarm:.2f} s, {on_swarm - inproc:+.2f} s over in-process, "
          f"{on_swarm - on_docker:+.2f} s over the docker backend")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=2, help="engines in the swarm")
    parser.add_argument("--tiny", type=int, default=5, help="consecutive tiny jobs per backend (0: skip them)")
    parser.add_argument("--max-running", type=int, default=None, help="jobs at a time on the swarm (2 per node)")
    args = parser.parse_args()
    why_not = unavailable()
    if why_not is not None:
        print(f"swarm bench skipped: no multi-node swarm on this machine ({why_not})")
        return
    configure_logging(load_settings(env={}).logging.model_copy(update={"level": "WARNING"}))
    # A stop by signal unwinds like Ctrl-C, so the cluster is taken down.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    source = docker.from_env()
    try:
        image_id = resolve_runner_image(source, tag=runner_image_tag(root=REPO_ROOT))
        with tempfile.TemporaryDirectory(prefix="statagent-swarm-bench-") as tmp:
            asyncio.run(bench(Path(tmp), image_id, source, nodes=args.nodes, tiny=args.tiny,
                              max_running=args.max_running or 2 * args.nodes))
    finally:
        source.close()


if __name__ == "__main__":
    main()
