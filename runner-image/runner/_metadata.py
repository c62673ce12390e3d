"""metadata.json: the plan's model record plus what prediction needs to check new data."""

from __future__ import annotations

import platform
from importlib import metadata as importlib_metadata
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from runner._artifacts import Saved
from runner._columns import Kind
from runner.spec import Inference, ModelType, TaskType, TrainSplit
from runner.transformers import to_dates

METADATA_VERSION = 1
_LIBRARIES = ("scikit-learn", "numpy", "pandas", "pyarrow", "scipy", "statsmodels", "skops", "joblib")


class InputColumn(BaseModel):
    """One feature as seen in training: its kind, gaps, range or categories."""

    name: str
    dtype: str
    kind: Kind
    missing: int = 0
    min: float | None = None  # numeric
    max: float | None = None
    categories: list[str] | None = None  # categorical: the values the model knows
    first: str | None = None  # date
    last: str | None = None


class ModelMetadata(BaseModel):
    """The model folder's description. Extra keys are kept for forward compatibility."""

    model_config = ConfigDict(extra="allow")

    metadata_version: int = METADATA_VERSION
    model_id: str
    user_id: str
    job_id: str
    created_at: str
    model_type: ModelType
    task_type: TaskType
    target_column: str
    feature_columns: list[str]
    preprocessing: dict[str, Any]
    hyperparameters: dict[str, Any]
    metrics: dict[str, Any]
    verdicts: list[str] = []
    warnings: list[str] = []
    training_data_shape: list[int]
    training_time_seconds: float
    feature_importance: dict[str, float]
    feature_importance_method: str
    input_schema: list[InputColumn]
    target: dict[str, Any]
    classes: list[Any] | None = None
    library_versions: dict[str, str]
    runner_image: str | None = None
    data_sha256: str
    seed: int
    split: TrainSplit
    model_format: str
    files: dict[str, Saved]
    neural_network: dict[str, Any] | None = None
    inference: Inference | None = None  # the coefficient table (linear, logistic, penalized)


def input_schema(
    X: pd.DataFrame, kinds: dict[str, Kind], known_categories: dict[str, list[str]]
) -> list[InputColumn]:
    columns = []
    for name in X.columns:
        values = X[name]
        column = InputColumn(
            name=name, dtype=str(values.dtype), kind=kinds[name], missing=int(values.isna().sum())
        )
        if column.kind is Kind.NUMERIC:
            column.min, column.max = float(values.min()), float(values.max())
        elif column.kind is Kind.CATEGORICAL:
            column.categories = known_categories.get(name, [])
        else:
            dates = to_dates(values).dropna()
            if len(dates):
                column.first, column.last = dates.min().isoformat(), dates.max().isoformat()
        columns.append(column)
    return columns


def library_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in (*_LIBRARIES, *extra):
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions
