"""What one container per job costs: the same training in-process and as a controller job.

    .venv/bin/python bench/job_overhead.py [--rows 10000,100000,1000000] [--model linear]

For each size the runner's own `train` command runs on the same job folder in this process
(`runner.cli.main`, imports already warm) and then as a job through the Controller (a new
container: create, start, imports, the same work, collect, remove). A tiny job first gives the
fixed per-job overhead. In-process may use every core; the container gets `container.cpus`.
Figures only; nothing is asserted. Needs the runner image (`make runner-image`); the default
run takes well under a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from config import Settings, load_settings
from config.log import configure_logging
from controller import Controller, JobOutcome, Task, build_spec
from runner import spec as contract
from runner.cli import main as runner_main
from store import DatasetRecord, Store

TINY_ROWS = 200
FEATURES = 10


def synthetic(rows: int, *, seed: int = 0) -> pd.DataFrame:
    """A regression table: numeric features, one category, a linear target with noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, FEATURES)), columns=[f"x{i}" for i in range(FEATURES)])
    frame["region"] = rng.choice(["north", "south", "east", "west"], rows)
    frame["y"] = frame.to_numpy()[:, :FEATURES].astype(float) @ rng.normal(size=FEATURES) + rng.normal(0, 0.5, rows)
    return frame


def in_process(store: Store, settings: Settings, task: Task, dataset: DatasetRecord, work: Path) -> float:
    """Seconds for `python -m runner train` on the same job, run inside this process."""
    root = work / f"inproc-{dataset.dataset_id}"
    (root / contract.INPUT_DIR).mkdir(parents=True)
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


async def in_container(controller: Controller, task: Task) -> tuple[float, JobOutcome]:
    began = time.perf_counter()
    outcome = await (await controller.submit(task)).result()
    return time.perf_counter() - began, outcome


async def bench(sizes: list[int], model: str) -> None:
    with tempfile.TemporaryDirectory(prefix="statagent-bench-") as tmp:
        work = Path(tmp)
        settings = load_settings(
            overrides={
                "data_dir": str(work / "data"),
                "uploads": {"max_bytes": 1 << 30, "max_rows": max(*sizes, TINY_ROWS)},
                "quotas": {"max_models_per_user": len(sizes) + 2},
            }
        )
        configure_logging(settings.logging.model_copy(update={"level": "WARNING"}))
        with Store.from_settings(settings) as store:
            async with Controller(settings=settings, store=store) as controller:
                rows_out = []
                for rows in [TINY_ROWS, *sizes]:
                    buffer = io.BytesIO()
                    synthetic(rows).to_parquet(buffer, index=False)
                    upload = await controller.submit_upload(
                        user_id="bench", filename="bench.parquet", data=buffer.getvalue()
                    )
                    dataset = (await upload.result()).dataset
                    task = Task.train(
                        user_id="bench", model_type=model, dataset_id=dataset.dataset_id, target_column="y"
                    )
                    if rows == TINY_ROWS:
                        in_process(store, settings, task, dataset, work)  # warm the imports once
                    local = in_process(store, settings, task, dataset, work)
                    remote, outcome = await in_container(controller, task)
                    rows_out.append((rows, local, remote, outcome))
                    print(f"  {rows:>9,} rows: in-process {local:6.2f} s, container {remote:6.2f} s", file=sys.stderr)

    print(f"\n{model} training, one container per job ({settings.container.cpus} CPU, "
          f"{settings.container.memory_mb} MB)\n")
    header = f"{'rows':>10}  {'in-process s':>12}  {'container s':>11}  {'ratio':>6}  {'overhead s':>10}" \
             f"  {'create+start s':>14}  {'runner s':>8}  {'peak MB':>7}"
    print(header)
    print("-" * len(header))
    for rows, local, remote, outcome in rows_out:
        job = outcome.job
        create_start = (job.container_create_seconds or 0) + (job.container_start_seconds or 0)
        print(
            f"{rows:>10,}  {local:>12.2f}  {remote:>11.2f}  {remote / local:>6.2f}  {remote - local:>10.2f}"
            f"  {create_start:>14.3f}  {outcome.result.timings.get('total', 0):>8.2f}  {job.peak_memory_mb or 0:>7.0f}"
        )
    _, local, remote, outcome = rows_out[0]
    job = outcome.job
    create_start = (job.container_create_seconds or 0) + (job.container_start_seconds or 0)
    run = job.run_seconds or 0
    work = outcome.result.timings.get("total", 0)
    print(f"\nFixed per-job overhead, from the {TINY_ROWS}-row job: {remote - local:.2f} s more than in-process")
    print(f"  container create + start        {create_start:6.2f} s")
    print(f"  container run, start to exit    {run:6.2f} s  (the runner counts {work:.2f} s of it, imports "
          "included; the rest is the interpreter starting)")
    print(f"  queue, folder, collect, remove  {remote - create_start - run:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="10000,100000,1000000", help="comma-separated table sizes")
    parser.add_argument("--model", default="linear", choices=["linear", "random_forest"])
    args = parser.parse_args()
    asyncio.run(bench([int(n) for n in args.rows.split(",")], args.model))


if __name__ == "__main__":
    main()
