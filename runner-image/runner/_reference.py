"""A retrain's earlier model: read from the read-only model folder, scored on the new model's test rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from runner import _evaluate
from runner._artifacts import load_model
from runner._data import jsonable
from runner._errors import JobError, quoted
from runner._metadata import ModelMetadata
from runner._paths import JobPaths
from runner._predict import model_input, read_metadata
from runner.spec import ErrorCode, ReferenceScore, TaskType, TrainSpec


@dataclass(frozen=True)
class Reference:
    """The earlier model, loaded (only ever inside the job container), and its description."""

    metadata: ModelMetadata
    model: Any


def load_reference(spec: TrainSpec, paths: JobPaths, frame: pd.DataFrame) -> Reference:
    """The mounted earlier model, refused before any training when the table lacks a column it needs."""
    metadata = read_metadata(paths.model_dir)
    if metadata.model_id != spec.reference_model_id:
        raise JobError(
            ErrorCode.BAD_SPEC,
            f"The mounted model is {metadata.model_id}, but the job asks for {spec.reference_model_id}.",
        )
    missing = [name for name in (metadata.target_column, *metadata.feature_columns) if name not in frame.columns]
    if missing:
        raise JobError(
            ErrorCode.FEATURE_MISMATCH,
            f"The table has no {'column' if len(missing) == 1 else 'columns'} {quoted(missing)}, "
            f"which {metadata.model_id} needs, "
            "so it cannot be retrained and compared on this table.",
            details={"missing": missing, "required": metadata.feature_columns},
        )
    return Reference(metadata=metadata, model=load_model(paths.model_dir, metadata))


def score_reference(reference: Reference, rows: pd.DataFrame, y: pd.Series, task: TaskType) -> ReferenceScore:
    """The earlier model's test metrics on `rows` (the new model's test rows) against `y`."""
    X, _ = model_input(rows, reference.metadata)
    return ReferenceScore(
        model_id=reference.metadata.model_id,
        test_rows=len(X),
        metrics=jsonable(_evaluate.score(reference.model, X, y, task)),
    )
