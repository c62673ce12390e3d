"""Checks of a training table and the columns and rows a model will learn from."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from runner._columns import Kind, column_kind, drop_reason, id_reason, infer_task, is_number_column
from runner._errors import JobError, quoted
from runner.spec import (
    MODEL_TASKS,
    DroppedColumn,
    ErrorCode,
    MissingStrategy,
    TaskType,
    TrainSpec,
    id_target_refusal,
    model_phrase,
    model_phrases,
    models_for,
)

# Every class needs this many rows to be trained on and tested.
MIN_ROWS_PER_CLASS = 5


@dataclass(frozen=True)
class TrainingData:
    """The rows and columns a model learns from, and what was left out on the way."""

    X: pd.DataFrame  # the kept feature columns, names as the user wrote them
    y: pd.Series
    table: pd.DataFrame  # every column of the kept rows, on X's index (a retrain's earlier model reads it)
    task: TaskType
    numeric: list[str]
    categorical: list[str]
    dates: list[str]
    dropped: list[DroppedColumn] = field(default_factory=list)
    rows_dropped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def features(self) -> list[str]:
        return list(self.X.columns)

    @property
    def kinds(self) -> dict[str, Kind]:
        kinds = {name: Kind.NUMERIC for name in self.numeric}
        kinds.update({name: Kind.CATEGORICAL for name in self.categorical})
        kinds.update({name: Kind.DATE for name in self.dates})
        return kinds


def prepare_training(*, spec: TrainSpec, frame: pd.DataFrame) -> TrainingData:
    """Validate the table against the job and pick the rows and columns to learn from.

    Raises JobError with the user-facing reason for every refusal.
    """
    target = spec.target_column
    requested = list(dict.fromkeys(spec.feature_columns or [c for c in frame.columns if c != target]))
    _require_columns(frame, [target, *requested])
    dropped = (
        [DroppedColumn(column=target, reason="it is the column to predict")] if target in requested else []
    )
    requested = [c for c in requested if c != target]
    frame, warnings = _infinities_as_missing(frame, [target, *requested])

    rows_dropped: dict[str, int] = {}
    has_target = frame[target].notna().to_numpy()
    if not has_target.all():
        rows_dropped["missing_target"] = int((~has_target).sum())
    frame = frame.loc[has_target].reset_index(drop=True)
    _require_rows(len(frame), spec.min_training_samples, rows_dropped)
    _require_variance(frame[target])
    _refuse_id_target(frame[target])

    task = _resolve_task(spec, frame[target])
    y = _labels(frame[target], task)

    kinds: dict[str, Kind] = {}
    for name in requested:
        kind = column_kind(frame[name])
        reason = (
            "its values are not numbers, text or dates"
            if kind is None
            else drop_reason(frame[name], kind, target=y, task=task)
        )
        if reason is None and kind is not None:
            kinds[name] = kind
        else:
            dropped.append(DroppedColumn(column=name, reason=reason or ""))
    if not kinds:
        raise JobError(
            ErrorCode.NO_USABLE_FEATURES,
            f"None of the columns can be used to predict '{target}': "
            + "; ".join(f"'{d.column}' because {d.reason}" for d in dropped[:5])
            + ".",
            details={"dropped_columns": [d.model_dump() for d in dropped]},
        )
    features = list(kinds)

    if spec.preprocessing.missing_strategy is MissingStrategy.DROP:
        complete = frame[features].notna().all(axis=1).to_numpy()
        if not complete.all():
            rows_dropped["missing_values"] = int((~complete).sum())
            frame, y = frame.loc[complete].reset_index(drop=True), y.loc[complete].reset_index(drop=True)
            _require_rows(len(frame), spec.min_training_samples, rows_dropped)
            _require_variance(y)

    if task is TaskType.CLASSIFICATION:
        _require_class_rows(y, spec)
        imbalance = imbalance_warning(y)
        if imbalance:
            warnings.append(imbalance)
    return TrainingData(
        X=frame[features],
        y=y,
        table=frame,
        task=task,
        numeric=[c for c in features if kinds[c] is Kind.NUMERIC],
        categorical=[c for c in features if kinds[c] is Kind.CATEGORICAL],
        dates=[c for c in features if kinds[c] is Kind.DATE],
        dropped=dropped,
        rows_dropped=rows_dropped,
        warnings=warnings,
    )


def _refuse_id_target(values: pd.Series) -> None:
    """A target that names or numbers the rows has nothing to learn: refused for the reason a feature is dropped."""
    kind = column_kind(values)
    if kind is not None and (reason := id_reason(values, kind)):
        raise JobError(ErrorCode.ID_TARGET, id_target_refusal(str(values.name), reason))


def _infinities_as_missing(frame: pd.DataFrame, names: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """±inf (a CSV's "inf", an overflowing number) is no value a model can use: missing, and said."""
    infinite = {
        name: np.isinf(frame[name].to_numpy(dtype=float, na_value=np.nan))
        for name in names
        if is_number_column(frame[name])
    }
    infinite = {name: rows for name, rows in infinite.items() if rows.any()}
    if not infinite:
        return frame, []
    frame = frame.copy()
    for name, rows in infinite.items():
        frame[name] = frame[name].astype(float).mask(rows)
    return frame, [
        f"Column '{name}': {int(rows.sum())} value(s) are infinite and were treated as missing."
        for name, rows in infinite.items()
    ]


def _require_columns(frame: pd.DataFrame, names: list[str]) -> None:
    missing = [name for name in names if name not in frame.columns]
    if not missing:
        return
    noun = "Column" if len(missing) == 1 else "Columns"
    raise JobError(
        ErrorCode.MISSING_COLUMN,
        f"{noun} {quoted(missing)} not found in your data.",
        details={"missing": missing, "available": list(frame.columns)[:100]},
    )


def _require_rows(rows: int, minimum: int, rows_dropped: dict[str, int]) -> None:
    if rows >= minimum:
        return
    removed = {
        "missing_target": "without a value to predict",
        "missing_values": "with missing values",
    }
    after = " and ".join(f"{n} rows {removed[k]}" for k, n in rows_dropped.items())
    raise JobError(
        ErrorCode.INSUFFICIENT_DATA,
        f"Not enough training data. Need at least {minimum} samples, but only {rows} provided"
        + (f" ({after} were removed)." if after else "."),
        details={"min_samples": minimum, "actual_samples": rows, "rows_dropped": rows_dropped},
    )


def _require_variance(target: pd.Series) -> None:
    if target.nunique() <= 1:
        raise JobError(
            ErrorCode.NO_VARIANCE,
            "Target column has no variance (all values are the same). Cannot train a model.",
        )


def _resolve_task(spec: TrainSpec, target: pd.Series) -> TaskType:
    """The task asked for, else the only one the model does, else the one the target suggests."""
    served = MODEL_TASKS[spec.model_type]
    inferred = infer_task(target)
    if spec.task_type is not None:
        task = spec.task_type
    elif len(served) == 1:
        (task,) = served
    else:
        task = inferred
    if task not in served:
        raise JobError(
            ErrorCode.UNSUPPORTED_MODEL,
            f"A {model_phrase(spec.model_type)} model cannot do {task.value}; "
            f"for that use one of: {model_phrases(task)}.",
        )
    if task is TaskType.REGRESSION and not is_number_column(target):
        example = target.dropna().iloc[0]
        raise JobError(
            ErrorCode.NON_NUMERIC_TARGET,
            f"Target column '{spec.target_column}' holds categories (e.g. '{example}'), not numbers, "
            f"so it cannot be predicted as a number; use classification, e.g. a "
            f"{' or '.join(map(model_phrase, models_for(TaskType.CLASSIFICATION)[:2]))} model.",
        )
    if task is TaskType.CLASSIFICATION and inferred is TaskType.REGRESSION and _has_fractions(target):
        raise JobError(
            ErrorCode.UNSUPPORTED_MODEL,
            f"Target column '{spec.target_column}' holds measured numbers, not categories, "
            f"so a {model_phrase(spec.model_type)} model cannot classify it; "
            f"use one of: {model_phrases(TaskType.REGRESSION)}.",
        )
    return task


def _has_fractions(target: pd.Series) -> bool:
    numbers = target.to_numpy(dtype=float)
    return not bool(np.all(numbers == np.round(numbers)))


def _labels(target: pd.Series, task: TaskType) -> pd.Series:
    """Regression: floats. Classification: the user's labels (whole numbers, bools or text)."""
    if task is TaskType.REGRESSION:
        return target.astype(float)
    if pd.api.types.is_bool_dtype(target.dtype):
        return target.astype(bool)
    if is_number_column(target) and not _has_fractions(target):
        return target.astype("int64")
    if is_number_column(target):
        return target.astype(float)
    return target.astype(object).map(str)


def _require_class_rows(y: pd.Series, spec: TrainSpec) -> None:
    counts = y.value_counts()
    if counts.min() < MIN_ROWS_PER_CLASS:
        label = counts.idxmin()
        raise JobError(
            ErrorCode.TOO_FEW_PER_CLASS,
            f"Class '{label}' has only {counts.min()} rows; every class needs at least "
            f"{MIN_ROWS_PER_CLASS} rows to train and test a classifier.",
            details={"class_counts": {str(k): int(v) for k, v in counts.items()}},
        )
    test_rows = math.ceil(spec.test_size * len(y))
    if test_rows < len(counts) or len(y) - test_rows < len(counts):
        raise JobError(
            ErrorCode.INSUFFICIENT_DATA,
            f"With {len(y)} rows and a {spec.test_size:.0%} test share, the test set ({test_rows} rows) "
            f"cannot hold one row of each of the {len(counts)} classes.",
        )


def imbalance_warning(y: pd.Series) -> str | None:
    """A warning with the class shares when the smallest class is far below an even share."""
    shares = y.value_counts(normalize=True)
    if shares.min() >= min(0.2, 0.5 / len(shares)):
        return None
    listed = ", ".join(f"'{label}' {share:.0%}" for label, share in shares.head(5).items())
    return (
        f"Classes are imbalanced: {listed}. Accuracy can look good just by always guessing "
        f"'{shares.index[0]}'; check precision, recall and F1."
    )
