"""Helpers to run runner jobs: in-process through the CLI, or in one locked-down container."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from config import load_settings
from controller import ContainerRequest, DockerBackend
from runner import spec as contract
from runner.cli import main
from runner.spec import PredictSpec, ProgressEvent, TrainSpec

SAMPLE_DATA = Path(contract.__file__).parent / "sample_data"
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
    """Fresh ids: a job's container is named after its job, and another test session may share the engine."""
    return {"job_id": f"job_{secrets.token_hex(6)}", "model_id": f"model_{secrets.token_hex(4)}", "user_id": "tester"}


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
        root = self._tmp / (job.job_id if isinstance(job, TrainSpec | PredictSpec) else f"job-{secrets.token_hex(4)}")
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
def container_job(runner_image: str, tmp_path: Path) -> Iterator[ContainerJob]:
    """Run one runner command in a job container, confined exactly as the controller does it."""
    settings = load_settings(env={}, overrides={"data_dir": str(tmp_path)})
    backend = DockerBackend()
    loop = asyncio.new_event_loop()

    async def run_in_container(request: ContainerRequest) -> tuple[int, list[str]]:
        started = await backend.start(request)
        try:
            lines = [line async for line in backend.stdout_lines(started.container_id, max_lines=10_000)]
            status = await backend.wait(started.container_id, timeout=300)
            assert status is not None, "the job container did not finish within 300 s"
            return status.exit_code, lines
        finally:
            await backend.remove(started.container_id)

    def run(
        command: str, job: TrainSpec | PredictSpec, frame: pd.DataFrame, *, model_dir: Path | None = None
    ) -> JobOutput:
        root = tmp_path / job.job_id
        write_job(root, job, frame)
        uid, gid = (int(part) for part in settings.runner.user.split(":"))
        os.chown(root / contract.OUTPUT_DIR, uid, gid)
        request = ContainerRequest(
            job_id=job.job_id,
            user_id=job.user_id,
            kind=contract.JobKind(command),
            instance_id="runner-tests",
            data_dir=settings.data_dir,
            image_id=runner_image,
            input_dir=root / contract.INPUT_DIR,
            output_dir=root / contract.OUTPUT_DIR,
            model_dir=model_dir,
            limits=settings.container,
            runner_user=settings.runner.user,
            max_file_bytes=settings.quotas.max_artifacts_mb * 2**20,
            cpu_seconds=settings.container.train_timeout_seconds * settings.container.cpus,
            command=("--deadline", str(settings.container.train_timeout_seconds), command),
        )
        exit_code, lines = loop.run_until_complete(run_in_container(request))
        events = [ProgressEvent.model_validate_json(line) for line in lines]
        return JobOutput(exit_code=exit_code, result=read_result(root), root=root, events=events)

    yield run
    loop.run_until_complete(backend.close())
    loop.close()
