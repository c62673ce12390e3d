"""The predict command: new rows in, the rows with predictions (and probabilities) out."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from runner._artifacts import load_model
from runner._columns import Kind
from runner._data import jsonable, read_table
from runner._errors import JobError, quoted
from runner._metadata import METADATA_VERSION, InputColumn, ModelMetadata
from runner._paths import JobPaths
from runner._progress import Reporter
from runner.spec import (
    METADATA_FILE,
    PREDICTIONS_CSV,
    PREDICTIONS_PARQUET,
    ErrorCode,
    PredictOutcome,
    PredictSpec,
    TaskType,
)
from runner.transformers import category_text, to_dates

PREVIEW_ROWS = 5
# A number is "far outside" the training range when it lies beyond either end by more
# than this share of the range.
FAR_OUTSIDE = 0.5
_EXAMPLES = 3
_FLAG_MESSAGES = {
    "not_a_number": "{n} value(s) are not numbers (e.g. {e}) and were treated as missing",
    "infinite": "{n} value(s) are infinite and were treated as missing",
    "out_of_range": "{n} row(s) are far outside the training range {low:g} to {high:g} (e.g. {e})",
    "not_a_date": "{n} value(s) are not dates (e.g. {e}) and were treated as missing",
    "unseen_category": (
        "{n} row(s) have values not seen in training (e.g. {e}); they count as none of the known ones"
    ),
    "missing": "{n} row(s) have no value; {fill} was used",
}


@dataclass(frozen=True)
class Flag:
    """Something about one column of the new data that the user should know, with a count."""

    column: str
    issue: str  # a key of _FLAG_MESSAGES
    count: int
    examples: list[Any]
    message: str


def predict(spec: PredictSpec, paths: JobPaths, reporter: Reporter) -> PredictOutcome:
    reporter.stage("loading", 5, "Reading your data and the model's description")
    frame = read_table(paths.data_file, what="prediction data")
    metadata = read_metadata(paths.model_dir)
    if metadata.model_id != spec.model_id:
        raise JobError(
            ErrorCode.BAD_SPEC,
            f"The mounted model is {metadata.model_id}, but the job asks for {spec.model_id}.",
        )

    reporter.stage("validating", 20, f"Checking {len(frame)} rows against the model")
    features = metadata.feature_columns
    missing = [name for name in features if name not in frame.columns]
    if missing:
        raise JobError(
            ErrorCode.FEATURE_MISMATCH,
            f"Prediction data is missing required features: {quoted(missing)}.",
            details={"missing": missing, "required": features},
        )
    ignored = [name for name in frame.columns if name not in set(features)]
    X, flags = model_input(frame, metadata)
    warnings = [flag.message for flag in flags]
    if ignored:
        warnings.insert(
            0,
            f"Ignored {len(ignored)} column(s) the model does not use: {quoted(ignored[:10])}"
            + (" and more." if len(ignored) > 10 else "."),
        )

    reporter.stage("predicting", 40, "Loading the model")
    model = load_model(paths.model_dir, metadata)
    reporter.progress(60, f"Predicting {len(X)} rows")
    output = frame.copy()
    prediction_column = _free_name("prediction", output.columns)
    output[prediction_column] = model.predict(X)
    added = [prediction_column]
    if metadata.task_type is TaskType.CLASSIFICATION and spec.return_probabilities:
        proba = model.predict_proba(X)
        for index, label in enumerate(model.classes_):
            name = _free_name(f"probability_{label}", output.columns)
            output[name] = proba[:, index]
            added.append(name)

    reporter.stage("saving", 85, "Writing the predictions")
    paths.output_dir.mkdir(parents=True, exist_ok=True)
    output.to_parquet(paths.output_dir / PREDICTIONS_PARQUET, index=False)
    output.to_csv(paths.output_dir / PREDICTIONS_CSV, index=False)
    reporter.progress(100, "Done")
    preview = [jsonable(row) for row in output[added].head(PREVIEW_ROWS).to_dict(orient="records")]
    return PredictOutcome(
        model_type=metadata.model_type,
        task_type=metadata.task_type,
        rows=len(output),
        preview=preview,
        warnings=warnings,
        ignored_columns=ignored,
        feature_importance=metadata.feature_importance,
        classes=metadata.classes,
        prediction_column=prediction_column,
        probability_columns=added[1:],
        flags=[jsonable(flag.__dict__) for flag in flags],
    )


def read_metadata(folder: Path) -> ModelMetadata:
    path = folder / METADATA_FILE
    if not path.is_file():
        raise JobError(
            ErrorCode.MODEL_UNREADABLE, "The saved model is missing its description (metadata.json)."
        )
    try:
        metadata = ModelMetadata.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise JobError(
            ErrorCode.MODEL_UNREADABLE,
            "The saved model's description (metadata.json) is damaged.",
            details={"reason": str(exc)[:500]},
        ) from exc
    if metadata.metadata_version > METADATA_VERSION:
        raise JobError(
            ErrorCode.MODEL_UNREADABLE, "The saved model was made by a newer runner than this one."
        )
    return metadata


def model_input(frame: pd.DataFrame, metadata: ModelMetadata) -> tuple[pd.DataFrame, list[Flag]]:
    """The model's columns of `frame` as it was trained on them, and what to tell about each."""
    return _checked_features(frame, metadata.input_schema, missing_fill=_fill_words(metadata))


def _fill_words(metadata: ModelMetadata) -> dict[Kind, str]:
    number = "median" if metadata.preprocessing.get("missing_value_strategy") == "median" else "average"
    return {
        Kind.NUMERIC: f"the training {number}",
        Kind.DATE: f"the training {number} of each date part",
        Kind.CATEGORICAL: "the most common training value",
    }


def _checked_features(
    frame: pd.DataFrame, schema: list[InputColumn], *, missing_fill: dict[Kind, str]
) -> tuple[pd.DataFrame, list[Flag]]:
    """The model's columns, numbers made numeric, and per-column flags with counts."""
    X = frame[[column.name for column in schema]].copy()
    flags: list[Flag] = []
    for column in schema:
        values = X[column.name]
        flag = functools.partial(_flag, flags, column.name)
        if column.kind is Kind.NUMERIC:
            numbers = pd.to_numeric(
                values.astype(object) if values.dtype == bool else values, errors="coerce"
            )
            numbers = numbers.astype(float)
            flag("not_a_number", values[numbers.isna() & values.notna()])
            infinite = np.isinf(numbers.to_numpy())
            flag("infinite", values[infinite].astype(str))
            numbers = numbers.mask(infinite)
            X[column.name] = numbers
            if column.min is not None and column.max is not None:
                margin = FAR_OUTSIDE * (column.max - column.min)
                far = (numbers < column.min - margin) | (numbers > column.max + margin)
                flag("out_of_range", numbers[far], low=column.min, high=column.max)
        elif column.kind is Kind.DATE:
            flag("not_a_date", values[to_dates(values).isna() & values.notna()])
        else:
            text = values.astype(object).where(values.notna(), None).map(lambda v: v if v is None else category_text(v))
            flag("unseen_category", text[text.notna() & ~text.isin(column.categories or [])])
        flag("missing", values[values.isna()], fill=missing_fill[column.kind])
    return X, flags


def _flag(flags: list[Flag], column: str, issue: str, offending: pd.Series, **words: Any) -> None:
    if offending.empty:
        return
    examples = [jsonable(v) for v in offending.dropna().drop_duplicates().head(_EXAMPLES)]
    shown = ", ".join(f"'{e}'" for e in examples)
    text = _FLAG_MESSAGES[issue].format(n=len(offending), e=shown, **words)
    flags.append(
        Flag(
            column=column,
            issue=issue,
            count=len(offending),
            examples=examples,
            message=f"Column '{column}': {text}.",
        )
    )


def _free_name(name: str, taken: pd.Index) -> str:
    """`name`, or `name_2`, `name_3`... when the input already has such a column."""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}"
    return candidate
