"""What isolating each job costs: in-process training against a cold job and a warm-pool job.

    .venv/bin/python bench/job_overhead.py [--rows 10000,100000] [--runtimes runc,runsc] [--quick]

For every container runtime the engine offers (runc, and runsc where gVisor is registered):

1. per table size (200 rows, then --rows; add 1000000 for the big one), the runner's own
   `train` command in this process (`runner.cli.main`, imports already warm), then the same
   job through a Controller without a pool (a new container: create, start, imports, work,
   collect, remove), then through one with a warm pool (the job is handed to a pre-started
   container whose runner has imported everything);
2. p50 and p95 of 20 consecutive tiny jobs with the pool (each submitted when the one before
   ends, so the pool refills in the background meanwhile, or not);
3. 20 jobs from 5 users submitted at once with the pool: wall time against the sum of the
   same jobs' in-process times, and how busy the machine's cores were while jobs waited;
4. the runner's stages (seconds each) for a random forest of 50 trees on a diamonds-like table
   of 53,940 rows: in-process, cold and warm;
5. a piped `statagent chat` on an mtcars-like table: the seconds each further training request
   adds (from one request against six);

and, once, how long `statagent --help` and `statagent job --help` take.

Figures only; nothing is asserted. In-process may use every core; a container gets
`container.cpus`. Needs the runner image (`make runner-image`). Other load on the machine
shows in every figure, the core busy-ness most.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from config import Settings, load_settings
from config.log import configure_logging
from controller import Controller, JobStarted, Task, TrainRequest, build_spec
from runner import spec as contract
from runner.cli import main as runner_main
from store import DatasetRecord, Store

REPO_ROOT = Path(__file__).resolve().parent.parent
TINY_ROWS = 200
FEATURES = 10
CONSECUTIVE = 20
USERS, JOBS_PER_USER, MIX_ROWS = 5, 4, 5_000
DIAMONDS_ROWS = 53_940
CHAT_REQUEST = "train a linear regression to predict mpg"
CHAT_EXTRA = 5


def synthetic(rows: int, *, seed: int = 0) -> pd.DataFrame:
    """A regression table: numeric features, one category, a linear target with noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, FEATURES)), columns=[f"x{i}" for i in range(FEATURES)])
    frame["region"] = rng.choice(["north", "south", "east", "west"], rows)
    frame["y"] = frame.to_numpy()[:, :FEATURES].astype(float) @ rng.normal(size=FEATURES) + rng.normal(0, 0.5, rows)
    return frame


def mtcars_like(rows: int = 32, *, seed: int = 0) -> pd.DataFrame:
    """mtcars' columns and size, made up: miles per gallon from weight, power and cylinders."""
    rng = np.random.default_rng(seed)
    cyl = rng.choice([4, 6, 8], rows)
    wt = rng.normal(3.2, 0.9, rows).clip(1.5, 5.5)
    hp = (50 + 25 * cyl + rng.normal(0, 20, rows)).round()
    frame = pd.DataFrame({"cyl": cyl, "disp": (40 * cyl + rng.normal(0, 30, rows)).round(1), "hp": hp,
                          "drat": rng.normal(3.6, 0.5, rows).round(2), "wt": wt.round(3),
                          "qsec": rng.normal(17.8, 1.7, rows).round(2), "am": rng.integers(0, 2, rows),
                          "gear": rng.choice([3, 4, 5], rows), "carb": rng.choice([1, 2, 4], rows)})
    frame.insert(0, "mpg", (37 - 3.9 * wt - 0.03 * hp + rng.normal(0, 2, rows)).round(1))
    return frame


def diamonds_like(rows: int = DIAMONDS_ROWS, *, seed: int = 0) -> pd.DataFrame:
    """The diamonds table's columns and size, made up: price from carat, cut, color, clarity."""
    rng = np.random.default_rng(seed)
    carat = rng.gamma(2.0, 0.4, rows).clip(0.2, 5)
    clarity = rng.integers(0, 8, rows)
    x = 6.5 * carat ** (1 / 3) + rng.normal(0, 0.05, rows)
    return pd.DataFrame({
        "carat": carat,
        "cut": rng.choice(["Fair", "Good", "Very Good", "Premium", "Ideal"], rows, p=[0.03, 0.09, 0.22, 0.26, 0.40]),
        "color": rng.choice(list("DEFGHIJ"), rows),
        "clarity": np.array(["I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"])[clarity],
        "depth": rng.normal(61.7, 1.4, rows).round(1),
        "table": rng.normal(57.5, 2.2, rows).round(),
        "x": x.round(2), "y": (x + rng.normal(0, 0.05, rows)).round(2), "z": (0.62 * x).round(2),
        "price": (np.exp(8.5 + 1.7 * np.log(carat) + rng.normal(0, 0.2, rows)) * (1 + 0.05 * clarity)).round(),
    })


def in_process(
    store: Store, settings: Settings, task: Task, dataset: DatasetRecord, work: Path, stages: dict | None = None
) -> float:
    """Seconds for `python -m runner train` on the same job, run inside this process."""
    root = Path(tempfile.mkdtemp(dir=work, prefix="inproc-"))
    (root / contract.INPUT_DIR).mkdir()
    (root / contract.OUTPUT_DIR).mkdir()
    spec = build_spec(task, ml=settings.ml_engine, job_id="job_000000000001", model_id="model_00000001")
    (root / contract.INPUT_DIR / contract.SPEC_FILE).write_text(spec.model_dump_json(), encoding="utf-8")
    shutil.copyfile(store.dataset_path(dataset), root / contract.INPUT_DIR / contract.DATA_FILE)
    began = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), _quiet_stderr():
        code = runner_main(["train", "--job-root", str(root)])
    seconds = time.perf_counter() - began
    if code != 0:
        raise SystemExit(f"in-process training failed with exit code {code}")
    if stages is not None:
        stages.update(json.loads((root / contract.OUTPUT_DIR / contract.RESULT_FILE).read_text())["timings"])
    shutil.rmtree(root)
    return seconds


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence the runner's human log lines (it holds sys.stderr itself, so at the descriptor)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _settings(work: Path, runtime: str, *, pool: int, rows: int) -> Settings:
    return load_settings(
        env={},
        overrides={
            "data_dir": str(work / "data"),
            "container": {"runtime": runtime},
            "pool": {"size": pool},
            "uploads": {"max_bytes": 1 << 30, "max_rows": max(rows, DIAMONDS_ROWS, MIX_ROWS)},
            "quotas": {"max_models_per_user": 50, "max_storage_mb": 10_000},
            "queue": {"per_user_queued": JOBS_PER_USER},
        },
    )


async def _timed(controller: Controller, task: Task, stages: dict | None = None) -> float:
    began = time.perf_counter()
    outcome = await (await controller.submit(task)).result()
    if stages is not None:
        stages.update(outcome.result.timings)
    return time.perf_counter() - began


async def _pool_full(controller: Controller) -> None:
    pool = controller.pool
    while pool is not None and (len(pool.idle) < pool.size or not all(slot.ready for slot in pool.idle)):
        await asyncio.sleep(0.05)


def _train(user: str, dataset: DatasetRecord, model: str = "linear", **extra: Any) -> TrainRequest:
    return TrainRequest(user_id=user, model_type=model, dataset_id=dataset.dataset_id, target_column="y", **extra)


def _cpu_times() -> tuple[int, int]:
    """(idle, total) jiffies of all cores."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    return values[3] + values[4], sum(values)


async def bench_runtime(runtime: str, sizes: list[int], work: Path) -> dict[str, Any]:
    figures: dict[str, Any] = {"runtime": runtime, "sizes": []}
    largest = max(sizes, default=TINY_ROWS)
    cold_settings = _settings(work, runtime, pool=0, rows=largest)
    cpus = os.cpu_count() or 1
    warm_settings = _settings(work, runtime, pool=cpus, rows=largest)
    with Store.from_settings(cold_settings) as store:
        datasets: dict[str, DatasetRecord] = {}
        async with Controller(settings=cold_settings, store=store) as controller:
            for rows in [TINY_ROWS, *sizes, MIX_ROWS]:
                buffer = io.BytesIO()
                synthetic(rows).to_parquet(buffer, index=False)
                handle = await controller.submit_upload(user_id="bench", filename="t.parquet", data=buffer.getvalue())
                datasets[str(rows)] = (await handle.result()).dataset
            buffer = io.BytesIO()
            diamonds_like().to_parquet(buffer, index=False)
            handle = await controller.submit_upload(user_id="bench", filename="d.parquet", data=buffer.getvalue())
            datasets["diamonds"] = (await handle.result()).dataset
            for user in range(USERS):
                buffer = io.BytesIO()
                synthetic(MIX_ROWS, seed=user).to_parquet(buffer, index=False)
                handle = await controller.submit_upload(user_id=f"u{user}", filename="t.parquet", data=buffer.getvalue())
                datasets[f"u{user}"] = (await handle.result()).dataset
            in_process(store, cold_settings, _train("bench", datasets[str(TINY_ROWS)]), datasets[str(TINY_ROWS)], work)
            cold = {}
            for rows in [TINY_ROWS, *sizes]:
                cold[rows] = await _timed(controller, _train("bench", datasets[str(rows)]))
            forest = TrainRequest(user_id="bench", model_type="random_forest", dataset_id=datasets["diamonds"].dataset_id,
                                target_column="price", hyperparameters={"n_estimators": 50})
            figures["forest"] = {"cold": {}, "warm": {}, "in-process": {}}
            figures["forest_seconds"] = {"cold": await _timed(controller, forest, figures["forest"]["cold"])}
        local = {
            rows: in_process(store, cold_settings, _train("bench", datasets[str(rows)]), datasets[str(rows)], work)
            for rows in [TINY_ROWS, *sizes]
        }
        figures["forest_seconds"]["in-process"] = in_process(
            store, cold_settings, forest, datasets["diamonds"], work, figures["forest"]["in-process"]
        )
        async with Controller(settings=warm_settings, store=store) as controller:
            for rows in [TINY_ROWS, *sizes]:
                await _pool_full(controller)
                warm = await _timed(controller, _train("bench", datasets[str(rows)]))
                figures["sizes"].append((rows, local[rows], cold[rows], warm))
                print(f"  [{runtime}] {rows:>9,} rows: in-process {local[rows]:.2f} s, cold {cold[rows]:.2f} s, "
                      f"warm {warm:.2f} s", file=sys.stderr)

            await _pool_full(controller)
            figures["forest_seconds"]["warm"] = await _timed(controller, forest, figures["forest"]["warm"])

            await _pool_full(controller)
            tiny = [await _timed(controller, _train("bench", datasets[str(TINY_ROWS)])) for _ in range(CONSECUTIVE)]
            figures["consecutive"] = tiny

            await _pool_full(controller)
            figures["mix"] = await _mix(controller, store, warm_settings, datasets, work)
    figures["chat"] = _chat_latency(work, runtime)
    return figures


async def _mix(
    controller: Controller, store: Store, settings: Settings, datasets: dict[str, DatasetRecord], work: Path
) -> dict[str, float]:
    """USERS users submit JOBS_PER_USER jobs each at once; wall time, in-process sum, core use."""
    tasks = []
    for user in range(USERS):
        for number in range(JOBS_PER_USER):
            forest = number % 2 == 1
            tasks.append(_train(f"u{user}", datasets[f"u{user}"], "random_forest" if forest else "linear",
                                **({"hyperparameters": {"n_estimators": 30}} if forest else {})))
    local = sum(in_process(store, settings, task, datasets[task.user_id], work) for task in tasks)
    started: set[str] = set()
    busy: list[float] = []
    began = time.perf_counter()
    handles = [await controller.submit(task) for task in tasks]

    async def follow(handle: Any) -> None:
        async for event in handle.events():
            if isinstance(event, JobStarted):
                started.add(handle.job_id)

    followers = asyncio.gather(*(follow(handle) for handle in handles))
    idle, total = _cpu_times()
    while not followers.done():
        await asyncio.sleep(0.2)
        waiting = len(started) < len(handles)
        now_idle, now_total = _cpu_times()
        if waiting and now_total > total:
            busy.append(1 - (now_idle - idle) / (now_total - total))
        idle, total = now_idle, now_total
    await followers
    for handle in handles:
        await handle.result()
    wall = time.perf_counter() - began
    return {"wall": wall, "in_process_sum": local, "busy_while_waiting": statistics.mean(busy) if busy else float("nan")}


def _chat_latency(work: Path, runtime: str) -> dict[str, float]:
    """Seconds a piped chat takes with one training request and with 1 + CHAT_EXTRA of them."""
    table = work / "mtcars.csv"
    mtcars_like().to_csv(table, index=False)
    config = work / "chat-config.yaml"
    config.write_text(json.dumps({"container": {"runtime": runtime}}))  # YAML reads JSON
    env = {
        **os.environ,
        "STATAGENT_CONFIG": str(config),
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "runner-image")]),
    }
    env.pop("ANTHROPIC_API_KEY", None)
    seconds = {}
    for requests in (1, 1 + CHAT_EXTRA):
        data_dir = Path(tempfile.mkdtemp(dir=work, prefix="chat-"))
        began = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", "from bot.cli import main; main()", "chat", "--data", str(table), "--user", "bench"],
            input="\n".join([CHAT_REQUEST] * requests) + "\n",
            env={**env, "STATAGENT_DATA_DIR": str(data_dir)},
            capture_output=True,
            text=True,
            check=False,
        )
        seconds[requests] = time.perf_counter() - began
        if done.returncode != 0 or done.stdout.count("Model Training Complete") != requests:
            print(f"  the piped chat did not train {requests} models:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}",
                  file=sys.stderr)
    return {"one": seconds[1], "per_job": (seconds[1 + CHAT_EXTRA] - seconds[1]) / CHAT_EXTRA}


def _help_seconds(args: list[str], *, runs: int = 5) -> float:
    """The median seconds of `statagent ARGS` in a fresh interpreter, start to exit."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "runner-image")])}
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", "from bot.cli import main; main()", *args], env=env,
                       capture_output=True, check=True)
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds)


def _percentile(values: list[float], share: float) -> float:
    return float(np.percentile(values, share * 100))


def report(all_figures: list[dict[str, Any]], helps: dict[str, float]) -> None:
    runtimes = [f["runtime"] for f in all_figures]
    print("\n" + ", ".join(f"`statagent {args}` {seconds:.2f} s" for args, seconds in helps.items())
          + " (median of 5, a fresh interpreter each)")
    print("\nLinear training, seconds from submit to outcome (a container: 1 CPU; in-process: warm imports)\n")
    header = f"{'rows':>10}  {'in-process':>10}" + "".join(f"  {'cold ' + r:>10}  {'warm ' + r:>10}" for r in runtimes)
    print(header)
    print("-" * len(header))
    for index, (rows, local, *_rest) in enumerate(all_figures[0]["sizes"]):
        line = f"{rows:>10,}  {local:>10.2f}"
        for figures in all_figures:
            _, _, cold, warm = figures["sizes"][index]
            line += f"  {cold:>10.2f}  {warm:>10.2f}"
        print(line)
    for figures in all_figures:
        runtime = figures["runtime"]
        rows, local, cold, warm = figures["sizes"][0]
        tiny, mix, chat = figures["consecutive"], figures["mix"], figures["chat"]
        print(f"\n[{runtime}] a {rows}-row job costs {cold - local:+.2f} s cold and {warm - local:+.2f} s warm "
              "over in-process")
        print(f"[{runtime}] {CONSECUTIVE} consecutive tiny jobs with the pool: p50 {_percentile(tiny, 0.5):.2f} s, "
              f"p95 {_percentile(tiny, 0.95):.2f} s")
        print(f"[{runtime}] {USERS * JOBS_PER_USER} jobs from {USERS} users ({MIX_ROWS:,} rows, linear and forest): "
              f"wall {mix['wall']:.1f} s, in-process sum {mix['in_process_sum']:.1f} s, "
              f"cores busy while jobs waited {mix['busy_while_waiting']:.0%}")
        forest, seconds = figures["forest"], figures["forest_seconds"]
        stages = [name for name in forest["in-process"] if name != "total"]
        print(f"[{runtime}] diamonds-like random forest, 50 trees: the runner's stages in seconds")
        print("    " + " ".join(f"{name:>10}" for name in ["", *stages, "runner", "submit→outcome"]))
        for how in ("in-process", "cold", "warm"):
            row = [forest[how].get(name, 0.0) for name in stages] + [forest[how].get("total", 0.0), seconds[how]]
            print("    " + f"{how:>10} " + " ".join(f"{value:>10.2f}" for value in row))
        print(f"[{runtime}] piped `statagent chat` (mtcars-like): one request {chat['one']:.1f} s, "
              f"each further request {chat['per_job']:.2f} s")


def offered_runtimes() -> list[str]:
    import docker

    client = docker.from_env()
    try:
        offered = client.info().get("Runtimes") or {}
    finally:
        client.close()
    return [name for name in ("runc", "runsc") if name in offered]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="10000,100000", help="comma-separated table sizes (add 1000000: slow)")
    parser.add_argument("--runtimes", default=None, help="comma-separated; default: runc and runsc where offered")
    args = parser.parse_args()
    sizes = [int(n) for n in args.rows.split(",") if n]
    runtimes = args.runtimes.split(",") if args.runtimes else offered_runtimes()
    configure_logging(load_settings(env={}).logging.model_copy(update={"level": "WARNING"}))
    figures = []
    for runtime in runtimes:
        with tempfile.TemporaryDirectory(prefix="statagent-bench-") as tmp:
            figures.append(asyncio.run(bench_runtime(runtime, sizes, Path(tmp))))
    helps = {" ".join(args): _help_seconds(args) for args in (["--help"], ["job", "--help"])}
    report(figures, helps)


if __name__ == "__main__":
    main()
