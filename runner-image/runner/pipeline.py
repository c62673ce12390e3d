"""The one scikit-learn Pipeline a model is: preprocessing and estimator together.

Public so tests can fit exactly what the runner fits and compare the numbers:

    data = prepare_training(spec=spec, frame=frame)
    pipeline = build_pipeline(spec=spec, data=data)
"""

from __future__ import annotations

from typing import Any

from runner._estimators import model_steps, resolve_hyperparameters
from runner._prepare import TrainingData, prepare_training
from runner.spec import Preprocessing, Scaling, TrainSpec
from runner.transformers import DATE_PARTS, DateParts, TextCategories

__all__ = [
    "TrainingData",
    "build_pipeline",
    "build_preprocessor",
    "level_term",
    "output_columns",
    "output_terms",
    "prepare_training",
]


def build_preprocessor(*, data: TrainingData, preprocessing: Preprocessing) -> Any:
    """A ColumnTransformer: numbers imputed and scaled, categories one-hot, dates split in parts."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    # With missing_strategy "drop" training has no gaps; prediction data may, and gets means.
    strategy = "median" if preprocessing.missing_strategy.value == "median" else "mean"

    def numbers(first: list[tuple[str, Any]]) -> Any:
        return Pipeline(
            [
                *first,
                ("impute", SimpleImputer(strategy=strategy, keep_empty_features=True)),
                ("scale", _scaler(preprocessing.scaling)),
            ]
        )

    parts: list[tuple[str, Any, list[str]]] = []
    if data.numeric:
        parts.append(("numeric", numbers([]), data.numeric))
    if data.categorical:
        categories = Pipeline(
            [
                ("text", TextCategories()),
                # Kept even when the training rows have no value at all (a sparse column
                # whose few values fell in the test rows or another fold): never 0 columns.
                ("impute", SimpleImputer(strategy="most_frequent", keep_empty_features=True)),
                ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
            ]
        )
        parts.append(("categorical", categories, data.categorical))
    if data.dates:
        parts.append(("date", numbers([("parts", DateParts())]), data.dates))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


def _scaler(scaling: Scaling) -> Any:
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

    return {
        Scaling.STANDARD: StandardScaler,
        Scaling.MINMAX: MinMaxScaler,
        Scaling.ROBUST: RobustScaler,
        Scaling.NONE: lambda: "passthrough",
    }[scaling]()


def build_pipeline(*, spec: TrainSpec, data: TrainingData) -> Any:
    """The unfitted Pipeline of the job's model (a neural network is its final step too)."""
    from sklearn.pipeline import Pipeline

    params = resolve_hyperparameters(spec.model_type, spec.hyperparameters)
    preprocess = build_preprocessor(data=data, preprocessing=spec.preprocessing)
    return Pipeline(
        [("preprocess", preprocess), *model_steps(spec.model_type, data.task, params, seed=spec.seed)]
    )


def output_columns(preprocessor: Any) -> list[str]:
    """For each output column of a fitted preprocessor, the input column it came from."""
    return [source for source, _ in output_terms(preprocessor)]


def output_terms(preprocessor: Any) -> list[tuple[str, str]]:
    """For each output column of a fitted preprocessor: its input column and its term name,
    as R and statsmodels name them: `age`, `city[Lakeside]` (one-hot), `built_year` (date part)."""
    terms: list[tuple[str, str]] = []
    for name, step, columns in preprocessor.transformers_:
        if name == "numeric":
            terms.extend((column, column) for column in columns)
        elif name == "categorical":
            encoder = step.named_steps["onehot"]
            for column, categories in zip(columns, encoder.categories_, strict=True):
                terms.extend((column, level_term(column, level)) for level in categories)
        elif name == "date":
            terms.extend((column, f"{column}_{part}") for column in columns for part in DATE_PARTS)
    return terms


def level_term(column: str, level: object) -> str:
    """A category level's term: `city[Lakeside]` (patsy's `C(city)[T.Lakeside]`, shortened)."""
    return f"{column}[{level}]"
