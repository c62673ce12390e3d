"""Fixtures of the store tests: a real Store on a SQLite file in tmp_path, small limits."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from config import QuotaSettings
from store import JobKind, JobRecord, ModelRecord, Store

SMALL_QUOTAS = QuotaSettings(max_models_per_user=3, max_model_size_mb=1)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    with Store(data_dir=data_dir, quotas=SMALL_QUOTAS) as opened:
        yield opened


def _metadata(model_id: str, task_type: str) -> dict[str, Any]:
    metric = {"regression": {"r2": 0.81, "rmse": 1.5}, "classification": {"accuracy": 0.9, "f1": 0.88}}
    return {
        "model_id": model_id,
        "model_type": "random_forest",
        "task_type": task_type,
        "target_column": "price",
        "feature_columns": ["age", "size m²"],
        "hyperparameters": {"n_estimators": 100},
        "metrics": {"train": metric[task_type], "test": metric[task_type]},
    }


ModelFolder = Callable[..., tuple[Path, dict[str, Any]]]


@pytest.fixture
def model_folder(tmp_path: Path) -> ModelFolder:
    """A folder shaped like the runner's output/model, and its parsed metadata.json."""

    def make(model_id: str, *, task_type: str = "regression", payload: int = 1000) -> tuple[Path, dict[str, Any]]:
        folder = Path(tempfile.mkdtemp(dir=tmp_path)) / "output" / "model"
        (folder / "plots").mkdir(parents=True)
        (folder / "model.skops").write_bytes(b"\x00" * payload)
        metadata = _metadata(model_id, task_type)
        (folder / "metadata.json").write_text(json.dumps(metadata))
        (folder / "plots" / "residuals.png").write_bytes(b"\x89PNG fake")
        return folder, metadata

    return make


InstallModel = Callable[..., ModelRecord]


@pytest.fixture
def train_job(store: Store) -> Callable[[str], JobRecord]:
    def make(user_id: str) -> JobRecord:
        model_id = store.new_model_id()
        return store.create_job(
            user_id=user_id,
            kind=JobKind.TRAIN,
            spec={"command": "train", "model_id": model_id},
            instance_id="test-instance",
            model_id=model_id,
        )

    return make


@pytest.fixture
def install_model(store: Store, model_folder: ModelFolder, train_job: Callable[[str], JobRecord]) -> InstallModel:
    """A training job's record plus its installed model for `user_id`, as the controller does it."""

    def install(user_id: str, *, task_type: str = "regression", payload: int = 1000) -> ModelRecord:
        job = train_job(user_id)
        source, metadata = model_folder(job.model_id, task_type=task_type, payload=payload)
        return store.install_model(
            user_id=user_id, model_id=job.model_id, job_id=job.job_id, source_dir=source, metadata=metadata
        )

    return install
