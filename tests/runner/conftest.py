"""Helpers to run runner jobs: in-process through the CLI, or in one locked-down container."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pandas as pd
import pytest

from runner import spec as contract
from runner.cli import main
from runner.spec import PredictSpec, ProgressEvent, TrainSpec

SAMPLE_DATA = Path(contract.__file__).parent / "sample_data"
RUNNER_UID = 10001
_ids = itertools.count(1)


@dataclass(frozen=True)
class JobOutput:
    exit_code: int
    result: dict[str, Any]
    root: Path
    events: list[ProgressEvent]

    @property
    def output(self) -> Path:
        return self.root / contract.OUTPUT_DIR

    @property
    def model_dir(self) -> Path:
        return self.output / contract.OUTPUT_MODEL_DIR

    @property
    def metadata(self) -> dict[str, Any]:
        return json.loads((self.model_dir / contract.METADATA_FILE).read_text(encoding="utf-8"))

    @property
    def error(self) -> dict[str, Any]:
        return self.result["error"]

    def predictions(self) -> pd.DataFrame:
        return pd.read_parquet(self.output / contract.PREDICTIONS_PARQUET)


def new_ids() -> dict[str, str]:
    n = next(_ids)
    return {"job_id": f"job_{n:012x}", "model_id": f"model_{n:08x}", "user_id": "tester"}


def write_job(root: Path, job: TrainSpec | PredictSpec | str, frame: pd.DataFrame | None) -> None:
    """Lay out root/input (job.json, data.parquet) and an empty root/output."""
    (root / contract.INPUT_DIR).mkdir(parents=True)
    (root / contract.OUTPUT_DIR).mkdir()
    text = job if isinstance(job, str) else job.model_dump_json()
    (root / contract.INPUT_DIR / contract.SPEC_FILE).write_text(text, encoding="utf-8")
    if frame is not None:
        frame.to_parquet(root / contract.INPUT_DIR / contract.DATA_FILE, index=False)


def read_result(root: Path) -> dict[str, Any]:
    return json.loads((root / contract.OUTPUT_DIR / contract.RESULT_FILE).read_text(encoding="utf-8"))


class InProcessRunner:
    """Runs `python -m runner` as `runner.cli.main(...)` on folders under tmp_path."""

    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self._tmp = tmp_path
        self._capsys = capsys

    def train(self, frame: pd.DataFrame, **fields: Any) -> JobOutput:
        return self.run("train", TrainSpec(**{**new_ids(), **fields}), frame)

    def predict(self, trained: JobOutput, frame: pd.DataFrame, **fields: Any) -> JobOutput:
        job = PredictSpec(**{**new_ids(), "model_id": trained.result["model_id"], **fields})
        return self.run("predict", job, frame, model_dir=trained.model_dir)

    def run(
        self,
        command: str,
        job: TrainSpec | PredictSpec | str,
        frame: pd.DataFrame | None,
        *,
        model_dir: Path | None = None,
    ) -> JobOutput:
        root = self._tmp / f"job{next(_ids)}"
        write_job(root, job, frame)
        if model_dir is not None:
            (root / contract.MODEL_DIR).symlink_to(model_dir, target_is_directory=True)
        self._capsys.readouterr()
        exit_code = main([command, "--job-root", str(root)])
        stdout = self._capsys.readouterr().out
        # The stdout contract: progress events, one JSON object per line, nothing else.
        events = [ProgressEvent.model_validate_json(line) for line in stdout.splitlines()]
        return JobOutput(exit_code=exit_code, result=read_result(root), root=root, events=events)


@pytest.fixture
def job_ids() -> Callable[[], dict[str, str]]:
    """Fresh job_id, model_id and user_id for a spec."""
    return new_ids


@pytest.fixture
def jobs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> InProcessRunner:
    return InProcessRunner(tmp_path, capsys)


@pytest.fixture(scope="session")
def houses() -> pd.DataFrame:
    return pd.read_csv(SAMPLE_DATA / "houses.csv")


@pytest.fixture(scope="session")
def customers() -> pd.DataFrame:
    return pd.read_csv(SAMPLE_DATA / "customers.csv")


# --- one job in one locked-down container -------------------------------------------------

ContainerJob = Callable[..., JobOutput]


@pytest.fixture
def container_job(docker_client: Any, runner_image: str, tmp_path: Path) -> Iterator[ContainerJob]:
    """Run one command of the runner image with the job container's lockdown flags."""
    started: list[Any] = []

    def run(
        command: str, job: TrainSpec | PredictSpec, frame: pd.DataFrame, *, model_dir: Path | None = None
    ) -> JobOutput:
        root = tmp_path / f"job{next(_ids)}"
        write_job(root, job, frame)
        os.chown(root / contract.OUTPUT_DIR, RUNNER_UID, RUNNER_UID)
        volumes = {
            str(root / contract.INPUT_DIR): {"bind": "/job/input", "mode": "ro"},
            str(root / contract.OUTPUT_DIR): {"bind": "/job/output", "mode": "rw"},
        }
        if model_dir is not None:
            volumes[str(model_dir)] = {"bind": "/job/model", "mode": "ro"}
        container = docker_client.containers.create(
            runner_image,
            [command],
            network_mode="none",
            read_only=True,
            user=f"{RUNNER_UID}:{RUNNER_UID}",
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            tmpfs={"/tmp": "rw,size=512m"},
            mem_limit="2g",
            memswap_limit="2g",
            pids_limit=256,
            volumes=volumes,
            # Not the controller's statagent.job_id label: its reconciler would reap this container.
            labels={"statagent.runner_test": job.job_id},
        )
        started.append(container)
        container.start()
        exit_code = container.wait(timeout=300)["StatusCode"]
        stdout = container.logs(stdout=True, stderr=False).decode()
        events = [ProgressEvent.model_validate_json(line) for line in stdout.splitlines()]
        return JobOutput(exit_code=exit_code, result=read_result(root), root=root, events=events)

    yield run
    for container in started:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
