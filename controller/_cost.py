"""What a training job will cost, known before it starts: seconds from rows x columns, per model.

Each model type's fitting work grows with the table in its own way (an SVM with the square of
the rows, a forest with trees x n log n x columns, a linear model with n x p²). One measured
constant per model and task turns that work into seconds. `check_cost` refuses a training whose
estimate passes the job's time limit and offers what would fit: a sample of the rows, or another
model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from errors import CostError
from runner.spec import (
    MODEL_HYPERPARAMETER_DEFAULTS,
    MODEL_TASKS,
    ColumnKind,
    DatasetSummary,
    HyperValue,
    ModelType,
    TaskType,
    TrainSpec,
    Validation,
    model_phrase,
)

__all__ = ["Workload", "check_cost", "estimate_fit_seconds", "job_seconds", "work_units", "workload"]

R, C = TaskType.REGRESSION, TaskType.CLASSIFICATION
# Seconds per unit of `work_units`, measured by `bench/cost_calibration.py`: each model fitted
# with the configured defaults on synthetic tables of 10 numeric columns in a runner container
# (1 CPU, gVisor) on this project's 2-core machine, timing the fit plus predicting the training
# and test rows; the constant is seconds / units at the larger size, rounded up. The SVM's is
# twice the measured one: on real, noisier tables more rows become support vectors than on the
# synthetic one, so the kernel work grows faster.
SECONDS_PER_UNIT: dict[tuple[ModelType, TaskType], float] = {
    (ModelType.LINEAR, R): 2e-8,
    (ModelType.RIDGE, R): 1e-8,
    (ModelType.LASSO, R): 1e-8,
    (ModelType.ELASTICNET, R): 1e-8,
    (ModelType.POLYNOMIAL, R): 3e-9,
    (ModelType.LOGISTIC, C): 1.5e-7,
    (ModelType.SVM, R): 8e-9,
    (ModelType.SVM, C): 8e-9,
    (ModelType.RANDOM_FOREST, R): 3.2e-8,
    (ModelType.RANDOM_FOREST, C): 5e-8,
    (ModelType.GRADIENT_BOOSTING, R): 1.5e-8,
    (ModelType.GRADIENT_BOOSTING, C): 1.6e-8,
    (ModelType.HIST_GRADIENT_BOOSTING, R): 3e-8,
    (ModelType.HIST_GRADIENT_BOOSTING, C): 5e-8,
    (ModelType.NEURAL_NETWORK, R): 1.8e-8,
    (ModelType.NEURAL_NETWORK, C): 2.2e-8,
}
# A job's cost besides fitting: container start, imports, evaluation, plots, saving
# (`bench/job_overhead.py` measures the start), and TensorFlow's start for a neural network.
FIXED_SECONDS = 8.0
NEURAL_FIXED_SECONDS = 8.0
# Offers aim below the limit by this share: an estimate is rough, a timeout loses the work.
OFFER_SHARE = 0.6
# A sample smaller than this is not worth offering.
MIN_SAMPLE_ROWS = 100
# Columns a categorical feature with more categories becomes: none (the runner leaves it out).
MAX_CATEGORIES = 100
DATE_PARTS = 4
# Models offered instead, in the order of preference; the first few that fit are named.
ALTERNATIVES = (
    ModelType.HIST_GRADIENT_BOOSTING,
    ModelType.RANDOM_FOREST,
    ModelType.GRADIENT_BOOSTING,
    ModelType.RIDGE,
    ModelType.LOGISTIC,
)
MAX_MODEL_OFFERS = 2


@dataclass(frozen=True)
class Workload:
    """What one job fits on: the table's size after the split, as the model sees it."""

    task: TaskType
    rows: int  # rows before the test rows are set aside
    features: int  # model inputs after one-hot encoding and date parts
    classes: int  # classes of a classification target (1 for regression)


def work_units(
    model_type: ModelType, workload: Workload, *, rows: int, params: Mapping[str, HyperValue]
) -> float:
    """The work of one fit on `rows` rows, in the model's own units (see SECONDS_PER_UNIT)."""
    n, p = max(rows, 2), max(workload.features, 1)
    log_n = math.log2(n)
    # A multi-class target multiplies per-class models (boosting stages, one-vs-rest).
    per_class = workload.classes if workload.classes > 2 else 1
    match model_type:
        case ModelType.SVM:
            return n * n * p
        case ModelType.POLYNOMIAL:
            degree = int(_setting(params, model_type, "degree"))
            terms = math.comb(p + degree, degree) - 1
            return n * terms * terms
        case ModelType.RANDOM_FOREST:
            depth = min(log_n, _setting(params, model_type, "max_depth"))
            tried = p if workload.task is TaskType.REGRESSION else math.sqrt(p)
            return _setting(params, model_type, "n_estimators") * n * depth * tried
        case ModelType.GRADIENT_BOOSTING:
            return _setting(params, model_type, "n_estimators") * n * log_n * p * per_class
        case ModelType.HIST_GRADIENT_BOOSTING:  # binned: linear in the rows
            return _setting(params, model_type, "max_iter") * n * p * per_class
        case ModelType.NEURAL_NETWORK:
            hidden = params.get("hidden_layers")
            if not isinstance(hidden, list) or not hidden:
                hidden = MODEL_HYPERPARAMETER_DEFAULTS[model_type]["hidden_layers"]
            assert isinstance(hidden, list)
            widths = [p, *hidden, max(per_class, 1)]
            weights = sum(a * b for a, b in zip(widths, widths[1:]))
            return _setting(params, model_type, "epochs") * n * weights
        case _:  # linear models: least squares, coordinate descent, lbfgs
            return n * p * p * per_class


def estimate_fit_seconds(
    model_type: ModelType,
    workload: Workload,
    *,
    params: Mapping[str, HyperValue],
    test_size: float,
    cv_folds: int | None,
) -> float:
    """Seconds of fitting: the final model on the training rows, and each cross-validation fold."""
    train_rows = max(2, round(workload.rows * (1 - test_size)))
    fits = [train_rows]
    if cv_folds:
        fits += [round(train_rows * (cv_folds - 1) / cv_folds)] * cv_folds
    constant = SECONDS_PER_UNIT.get((model_type, workload.task), max(SECONDS_PER_UNIT.values()))
    return constant * sum(work_units(model_type, workload, rows=n, params=params) for n in fits)


def job_seconds(spec: TrainSpec, workload: Workload) -> float:
    """The whole training job's estimated seconds."""
    fixed = FIXED_SECONDS + (NEURAL_FIXED_SECONDS if spec.model_type is ModelType.NEURAL_NETWORK else 0.0)
    return fixed + _fit_seconds(spec, workload)


def workload(spec: TrainSpec, summary: DatasetSummary) -> Workload:
    """The spec's table as its model will see it, from the dataset's summary."""
    columns = {c.name: c for c in summary.columns}
    target = columns.get(spec.target_column)
    task = spec.task_type or _task_of(spec.model_type, target.kind if target else None)
    names = spec.feature_columns or [n for n in columns if n != spec.target_column]
    features = sum(_inputs(columns[n].kind, columns[n].distinct) for n in names if n in columns)
    classes = target.distinct if target is not None and task is TaskType.CLASSIFICATION else 1
    rows = min(summary.rows, spec.sample_rows or summary.rows)
    return Workload(task=task, rows=rows, features=max(features, 1), classes=classes)


def check_cost(
    spec: TrainSpec,
    *,
    summary: DatasetSummary,
    limit_seconds: float,
    defaults: Callable[[ModelType], dict[str, HyperValue]],
) -> float:
    """The job's estimated fitting seconds; raises CostError with offers when it would pass the limit.

    `defaults` gives a model type's configured hyperparameters, for the models offered instead.
    """
    load = workload(spec, summary)
    seconds = job_seconds(spec, load)
    if seconds <= limit_seconds:
        return _fit_seconds(spec, load)
    budget = OFFER_SHARE * limit_seconds
    offers: list[tuple[str, dict[str, Any]]] = []
    sample = _rows_that_fit(spec, load, budget)
    label = model_phrase(spec.model_type)
    if sample is not None:
        estimate = job_seconds(spec, _with_rows(load, sample))
        offers.append(
            (f"{label} on {sample:,} sampled rows (~{_duration(estimate)})", {"sample_rows": sample})
        )
    for other in ALTERNATIVES:
        if other is spec.model_type or load.task not in MODEL_TASKS[other]:
            continue
        alternative = spec.model_copy(
            update={"model_type": other, "hyperparameters": defaults(other)}
        )
        estimate = job_seconds(alternative, load)
        if estimate <= budget and len(offers) < (1 if sample else 0) + MAX_MODEL_OFFERS:
            offers.append(
                (
                    f"{model_phrase(other)} on all rows (~{_duration(estimate)})",
                    {"model_type": other.value, "hyperparameters": {}},
                )
            )
    lines = [
        f"⏱ Training this {label} model on {load.rows:,} rows × {load.features} inputs would take about "
        f"{_duration(seconds)} here, past the limit of {_duration(limit_seconds)} per job, so I did "
        "not start it."
    ]
    if spec.model_type is ModelType.SVM:
        lines.append("An SVM's training time grows with the square of the rows.")
    if offers:
        lines.append("What would fit:")
        lines += [f"• {text}" for text, _ in offers]
    else:
        lines.append("Nothing I could offer fits; use fewer rows or columns.")
    raise CostError(
        f"{spec.model_type.value} on {load.rows} rows x {load.features}: ~{seconds:.0f} s > {limit_seconds:.0f} s",
        user_message="\n".join(lines),
        offers=tuple(offers),
    )


def _fit_seconds(spec: TrainSpec, load: Workload) -> float:
    cv_folds = spec.cv_folds if spec.validation is Validation.CROSS_VALIDATION else None
    seconds = estimate_fit_seconds(
        spec.model_type, load, params=spec.hyperparameters, test_size=spec.test_size, cv_folds=cv_folds
    )
    if spec.tuning is not None and cv_folds:  # each tried setting is cross-validated again
        seconds *= 1 + spec.tuning.candidates * cv_folds / (cv_folds + 1)
    return seconds


def _rows_that_fit(spec: TrainSpec, load: Workload, budget: float) -> int | None:
    """The most rows the job fits within `budget` seconds (estimates grow with the rows)."""
    low, high = 0, load.rows
    while low < high:
        middle = (low + high + 1) // 2
        if job_seconds(spec, _with_rows(load, middle)) <= budget:
            low = middle
        else:
            high = middle - 1
    # Rounded down to two significant digits: a number a person would say.
    rounded = int(float(f"{low:.2g}")) if low >= 100 else low
    return rounded if rounded >= MIN_SAMPLE_ROWS else None


def _with_rows(load: Workload, rows: int) -> Workload:
    return Workload(task=load.task, rows=rows, features=load.features, classes=load.classes)


def _task_of(model_type: ModelType, kind: ColumnKind | None) -> TaskType:
    tasks = MODEL_TASKS[model_type]
    if len(tasks) == 1:
        return next(iter(tasks))
    return TaskType.REGRESSION if kind is ColumnKind.NUMERIC else TaskType.CLASSIFICATION


def _inputs(kind: ColumnKind, distinct: int) -> int:
    """How many model inputs one column becomes."""
    if kind in (ColumnKind.CATEGORICAL, ColumnKind.TEXT):
        return distinct if distinct <= MAX_CATEGORIES else 0
    return DATE_PARTS if kind is ColumnKind.DATETIME else 1


def _setting(params: Mapping[str, HyperValue], model_type: ModelType, name: str) -> float:
    """A numeric setting from `params`, else the model's built-in default."""
    value = params.get(name)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        value = MODEL_HYPERPARAMETER_DEFAULTS[model_type][name]
    assert isinstance(value, (int, float))
    return float(value)


def _duration(seconds: float) -> str:
    """'40 s', '12 min', '3.5 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
