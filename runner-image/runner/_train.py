"""The train command: data in, a saved model, metrics, plots and metadata out."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from runner import _evaluate, _plots, _tuning
from runner._artifacts import save_model
from runner._data import file_sha256, jsonable, read_table
from runner._errors import JobError
from runner._estimators import resolve_hyperparameters
from runner._fitting import fitting
from runner._importance import feature_importance
from runner._inference import TABLE_MODELS, coefficient_table
from runner._metadata import ModelMetadata, input_schema, library_versions
from runner._paths import JobPaths
from runner._progress import Reporter
from runner._reference import Reference, load_reference, score_reference
from runner._leaderboard import CHART_FILE, leaderboard_chart
from runner._stepwise import fit_with_progress
from runner.pipeline import TrainingData, build_pipeline, prepare_training
from runner.spec import (
    METADATA_FILE,
    ErrorCode,
    Inference,
    LeaderboardEntry,
    ModelType,
    ReferenceScore,
    Scaling,
    TaskType,
    TrainOutcome,
    TrainSpec,
    TrainSplit,
    Validation,
    model_label,
)

# A polynomial model with more terms than this is refused (memory and time explode).
MAX_POLYNOMIAL_TERMS = 5000
# Permutation importance is measured on the test rows when there are at least this many.
MIN_IMPORTANCE_ROWS = 30
# Progress percentages: training spans TRAIN_START..TRAIN_END, cross-validation its first part.
TRAIN_START, CV_END, TRAIN_END = 15.0, 50.0, 72.0


@dataclass(frozen=True)
class TrainRun:
    outcome: TrainOutcome
    model: Any  # the fitted model, as saved


@dataclass(frozen=True)
class _Prepared:
    """The job's rows, checked and split, before anything is fitted."""

    data: TrainingData
    data_sha256: str
    reference: Reference | None  # a retrain's earlier model
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series
    warnings: list[str]  # the user's; every step may add to it


@dataclass(frozen=True)
class _Fitted:
    model: Any  # a fitted Pipeline: preprocessing, then the model
    params: dict[str, Any]  # the settings it was fitted with (the best found, when tuned)
    cross_validation: dict[str, Any] | None
    training_time: float
    tuning: dict[str, Any] | None


@dataclass(frozen=True)
class _Measured:
    on_test: _evaluate.Predictions  # for the test metrics and the plots
    metrics: dict[str, Any]
    verdicts: list[str]
    importance: dict[str, float]
    importance_method: str
    classes: list[Any] | None
    inference: Inference | None
    reference: ReferenceScore | None


def train(
    spec: TrainSpec, paths: JobPaths, reporter: Reporter, *, on_saved: Callable[[TrainOutcome], None] | None = None
) -> TrainRun:
    """Train, measure and save the model, then draw its plots; `on_saved` hears the outcome as
    soon as the model is saved (without the plots and their warnings)."""
    prepared = _prepare(spec, paths, reporter)
    fitted = _fit(spec, prepared, reporter)
    measured = _measure(spec, prepared, fitted, reporter)
    metadata = _save(spec, paths, prepared, fitted, measured, reporter)
    outcome = _outcome(metadata, prepared.data, reference=measured.reference, tuning=fitted.tuning)
    if on_saved is not None:
        on_saved(outcome)

    reporter.stage("plotting", 90, "Drawing plots")
    paths.plots_dir.mkdir(parents=True, exist_ok=True)
    warnings = prepared.warnings
    plots = _draw_plots(
        paths.plots_dir, fitted.model, measured.on_test, prepared.y_test, spec, outcome, reporter, warnings
    )
    if spec.leaderboard and fitted.cross_validation is not None:
        _draw_leaderboard(paths.plots_dir, spec, measured.metrics, reporter, warnings, plots)
    reporter.progress(100, "Done")
    return TrainRun(outcome=outcome.model_copy(update={"plots": plots, "warnings": warnings}), model=fitted.model)


def _prepare(spec: TrainSpec, paths: JobPaths, reporter: Reporter) -> _Prepared:
    """Read the table (and a retrain's earlier model), check its columns, set the test rows aside."""
    reporter.stage("loading", 2, "Reading your data")
    frame = read_table(paths.data_file, what="training data")
    data_sha256 = file_sha256(paths.data_file)
    sampled_from = len(frame)
    if spec.sample_rows is not None and len(frame) > spec.sample_rows:
        frame = frame.sample(n=spec.sample_rows, random_state=spec.seed).reset_index(drop=True)
    reference = None
    if spec.reference_model_id is not None:
        reporter.stage("loading", 5, f"Reading the earlier model {spec.reference_model_id}")
        reference = load_reference(spec, paths, frame)

    reporter.stage("validating", 8, f"Checking {len(frame)} rows and {frame.shape[1]} columns")
    data = prepare_training(spec=spec, frame=frame)
    params = resolve_hyperparameters(spec.model_type, spec.hyperparameters)  # an unknown setting is refused here
    if spec.model_type is ModelType.POLYNOMIAL:
        _check_polynomial_size(data, int(params["degree"]))
    for dropped in data.dropped:
        reporter.log(f"leaving out '{dropped.column}': {dropped.reason}")

    reporter.stage("preprocessing", 12, f"Setting {spec.test_size:.0%} of the rows aside for testing")
    X_train, X_test, y_train, y_test = _evaluate.split(data.X, data.y, spec=spec, task=data.task)
    warnings = list(data.warnings)
    if len(frame) < sampled_from:
        warnings.append(f"Trained on a random sample of {len(frame):,} of the {sampled_from:,} rows, as asked.")
    return _Prepared(
        data=data,
        data_sha256=data_sha256,
        reference=reference,
        X_train=X_train,
        X_test=X_test,
        y_train=y_train,
        y_test=y_test,
        warnings=warnings,
    )


def _fit(spec: TrainSpec, prepared: _Prepared, reporter: Reporter) -> _Fitted:
    """Tune when asked, then cross-validate when asked and fit the model that is saved."""
    data, warnings = prepared.data, prepared.warnings
    tuning = None
    if spec.tuning is not None:
        reporter.stage("tuning", 12, f"Trying {spec.tuning.candidates} settings on the same folds")
        with fitting(reporter, warnings):
            best, tuning = _tuning.search(
                spec,
                data,
                prepared.X_train,
                prepared.y_train,
                make_model=lambda candidate: build_pipeline(spec=candidate, data=data),
                report=lambda done, text: reporter.progress(12 + (TRAIN_START - 12) * done, text),
            )
        spec = spec.model_copy(update={"hyperparameters": best, "tuning": None})

    reporter.stage("training", TRAIN_START, f"Training a {spec.model_type.value.replace('_', ' ')} model")
    started = time.perf_counter()
    with fitting(reporter, warnings):
        model, cross_validation = _cross_validate_and_fit(spec, data, prepared.X_train, prepared.y_train, reporter)
    training_time = round(time.perf_counter() - started, 4)
    return _Fitted(
        model=model,
        params=resolve_hyperparameters(spec.model_type, spec.hyperparameters),
        cross_validation=cross_validation,
        training_time=training_time,
        tuning=tuning,
    )


def _cross_validate_and_fit(
    spec: TrainSpec, data: TrainingData, X_train: pd.DataFrame, y_train: pd.Series, reporter: Reporter
) -> tuple[Any, dict[str, Any] | None]:
    """Cross-validate when asked, then fit the model that is saved; progress all along."""
    cross_validation = None
    fit_from = TRAIN_START
    if spec.validation is Validation.CROSS_VALIDATION:
        cross_validation = _evaluate.cross_validation(
            lambda: build_pipeline(spec=spec, data=data),
            X_train,
            y_train,
            spec=spec,
            task=data.task,
            on_fold=lambda n, k: reporter.progress(
                TRAIN_START + (CV_END - TRAIN_START) * (n - 1) / k, f"Cross-validation fold {n} of {k}"
            ),
        )
        fit_from = CV_END
        reporter.progress(fit_from, "Training the final model")
    model = build_pipeline(spec=spec, data=data)
    fit_with_progress(
        model,
        X_train,
        y_train,
        model_type=spec.model_type,
        estimated_seconds=spec.estimated_seconds,
        report=lambda done, text: reporter.progress(fit_from + (TRAIN_END - fit_from) * done, text),
    )
    return model, cross_validation


def _measure(spec: TrainSpec, prepared: _Prepared, fitted: _Fitted, reporter: Reporter) -> _Measured:
    """Metrics, verdicts and importance on the test rows; a retrain's earlier model on the same
    rows; the coefficient table of a linear model."""
    data, model, warnings = prepared.data, fitted.model, prepared.warnings
    X_train, X_test, y_train, y_test = prepared.X_train, prepared.X_test, prepared.y_train, prepared.y_test
    reporter.stage("evaluating", 75, "Measuring the model on rows it has not seen")
    with fitting(reporter, warnings):
        on_test = _evaluate.predict(model, X_test, data.task)
        metrics: dict[str, Any] = jsonable(
            {
                "train": _evaluate.score(model, X_train, y_train, data.task),
                "test": _evaluate.score(model, X_test, y_test, data.task, predictions=on_test),
                "cross_validation": fitted.cross_validation,
                "baseline": _evaluate.baseline(X_train, y_train, X_test, y_test, data.task),
            }
        )
        on_rows = (X_test, y_test) if len(X_test) >= MIN_IMPORTANCE_ROWS else (data.X, data.y)
        importance, importance_method = feature_importance(model, *on_rows, task=data.task, seed=spec.seed)
    scored = None
    if prepared.reference is not None:
        reporter.progress(78, f"Measuring {prepared.reference.metadata.model_id} on the same test rows")
        scored = _score_reference(prepared.reference, data, X_test, y_test, reporter, warnings)
    classification = data.task is TaskType.CLASSIFICATION
    majority = y_train.value_counts().index[0] if classification else None

    inference = None
    if spec.model_type in TABLE_MODELS:
        reporter.stage("inference", 80, "Computing the coefficient table")
        inference = _inference(spec, data, model, len(X_train), reporter, warnings)
    return _Measured(
        on_test=on_test,
        metrics=metrics,
        verdicts=_evaluate.verdicts(metrics, task=data.task, target=spec.target_column, majority=majority),
        importance=importance,
        importance_method=importance_method,
        classes=jsonable(list(model.classes_)) if classification else None,
        inference=inference,
        reference=scored,
    )


def _save(
    spec: TrainSpec, paths: JobPaths, prepared: _Prepared, fitted: _Fitted, measured: _Measured, reporter: Reporter
) -> ModelMetadata:
    """Write the model's files and its metadata.json; returns the metadata."""
    reporter.stage("saving", 84, "Saving the model")
    data, X_train = prepared.data, prepared.X_train
    paths.output_model_dir.mkdir(parents=True, exist_ok=True)
    saved = save_model(fitted.model, paths.output_model_dir, check=X_train.head(50))
    metadata = ModelMetadata(
        model_id=spec.model_id,
        user_id=spec.user_id,
        job_id=spec.job_id,
        created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        model_type=spec.model_type,
        task_type=data.task,
        target_column=spec.target_column,
        feature_columns=data.features,
        preprocessing=_preprocessing_record(spec, data),
        hyperparameters=fitted.params,
        metrics=measured.metrics,
        verdicts=measured.verdicts,
        warnings=prepared.warnings,
        training_data_shape=[len(data.X), len(data.features)],
        training_time_seconds=fitted.training_time,
        feature_importance=measured.importance,
        feature_importance_method=measured.importance_method,
        input_schema=input_schema(X_train, data.kinds, _known_categories(fitted.model.named_steps["preprocess"])),
        target=_target_record(spec.target_column, data, measured.classes),
        classes=measured.classes,
        library_versions=library_versions(saved.libraries),
        runner_image=spec.image_id,
        data_sha256=prepared.data_sha256,
        seed=spec.seed,
        split=_split_description(spec, data.task, X_train=X_train, X_test=prepared.X_test, y_train=prepared.y_train),
        model_format=saved.format,
        files=saved.files,
        neural_network=jsonable(saved.state) if saved.state else None,
        inference=measured.inference,
    )
    (paths.output_model_dir / METADATA_FILE).write_text(
        json.dumps(jsonable(metadata.model_dump(mode="json")), indent=2, ensure_ascii=False, allow_nan=False),
        encoding="utf-8",
    )
    return metadata


# What a training reports that its metadata records under the same name.
_RECORDED = sorted(set(TrainOutcome.model_fields) & set(ModelMetadata.model_fields))


def _outcome(
    metadata: ModelMetadata, data: TrainingData, *, reference: ReferenceScore | None, tuning: dict[str, Any] | None
) -> TrainOutcome:
    """The training's report, from its saved metadata (the plots are added once drawn)."""
    return TrainOutcome(
        **{name: getattr(metadata, name) for name in _RECORDED},
        dropped_columns=data.dropped,
        rows_used=metadata.training_data_shape[0],
        rows_dropped=data.rows_dropped,
        history=(metadata.neural_network or {}).get("history"),
        reference=reference,
        tuning=tuning or None,
    )


def _inference(
    spec: TrainSpec, data: TrainingData, model: Any, train_rows: int, reporter: Reporter, warnings: list[str]
) -> Inference | None:
    """The coefficient table; one that fails is a warning, not a lost model."""
    try:
        return coefficient_table(model_type=spec.model_type, data=data, model=model, train_rows=train_rows)
    except Exception:
        reporter.log(f"coefficient table failed:\n{traceback.format_exc()}")
        warnings.append("The coefficient table could not be computed for this model.")
        return None


def _score_reference(
    reference: Reference,
    data: TrainingData,
    X_test: pd.DataFrame,
    y_test: pd.Series,
    reporter: Reporter,
    warnings: list[str],
) -> ReferenceScore | None:
    """The earlier model on the new model's test rows; one that fails is a warning, not a lost model."""
    try:
        return score_reference(reference, data.table.loc[X_test.index], y_test, data.task)
    except Exception:
        reporter.log(f"scoring {reference.metadata.model_id} failed:\n{traceback.format_exc()}")
        warnings.append(f"The earlier model {reference.metadata.model_id} could not be measured on the new test rows.")
        return None


def _check_polynomial_size(data: TrainingData, degree: int) -> None:
    inputs = len(data.numeric) + 4 * len(data.dates) + sum(int(data.X[c].nunique()) for c in data.categorical)
    terms = math.comb(inputs + degree, degree) - 1
    if terms > MAX_POLYNOMIAL_TERMS:
        raise JobError(
            ErrorCode.BAD_SPEC,
            f"A degree-{degree} polynomial of these columns would need {terms:,} terms "
            f"(the limit is {MAX_POLYNOMIAL_TERMS:,}); use a lower degree or fewer columns.",
        )


def _known_categories(preprocessor: Any) -> dict[str, list[str]]:
    for name, step, columns in preprocessor.transformers_:
        if name == "categorical":
            encoder = step.named_steps["onehot"]
            return {
                col: [str(c) for c in cats] for col, cats in zip(columns, encoder.categories_, strict=True)
            }
    return {}


def _preprocessing_record(spec: TrainSpec, data: TrainingData) -> dict[str, Any]:
    scaling = spec.preprocessing.scaling
    return {
        "scaled": scaling is not Scaling.NONE,
        "scaler_type": None if scaling is Scaling.NONE else scaling.value,
        "missing_value_strategy": spec.preprocessing.missing_strategy.value,
        "numeric_columns": data.numeric,
        "categorical_columns": data.categorical,
        "date_columns": data.dates,
        "dropped_columns": [d.model_dump() for d in data.dropped],
        "rows_dropped": data.rows_dropped,
    }


def _target_record(name: str, data: TrainingData, classes: list[Any] | None) -> dict[str, Any]:
    record: dict[str, Any] = {"name": name, "dtype": str(data.y.dtype)}
    if classes is None:
        record.update(min=float(data.y.min()), max=float(data.y.max()))
    else:
        record["class_counts"] = {str(k): int(v) for k, v in data.y.value_counts().items()}
    return record


def _split_description(
    spec: TrainSpec, task: TaskType, *, X_train: pd.DataFrame, X_test: pd.DataFrame, y_train: pd.Series
) -> TrainSplit:
    cross_validation = spec.validation is Validation.CROSS_VALIDATION
    # Which rows were tested, and each training row's fold: the same digest means the same split.
    fold_of = {int(row): 0 for row in X_test.index}
    if cross_validation:
        for number, (_, check_rows) in enumerate(_evaluate.folds(y_train, spec=spec, task=task), start=1):
            fold_of.update({int(row): number for row in X_train.index[check_rows]})
    assignment = json.dumps(sorted(fold_of.items()), separators=(",", ":")).encode()
    return TrainSplit(
        method=spec.validation,
        test_size=spec.test_size,
        train_rows=len(X_train),
        test_rows=len(X_test),
        stratified=task is TaskType.CLASSIFICATION,
        seed=spec.seed,
        cv_folds=spec.cv_folds if cross_validation else None,
        rows_sha256=hashlib.sha256(assignment).hexdigest(),
    )


def _draw_leaderboard(
    folder: Path,
    spec: TrainSpec,
    metrics: dict[str, Any],
    reporter: Reporter,
    warnings: list[str],
    plots: list[str],
) -> None:
    """A comparison's chart: the other candidates (from the spec) and this model, by CV score."""
    cross_validation = metrics["cross_validation"]
    metric = cross_validation["metric"]
    mean, std = cross_validation.get(f"mean_{metric}"), cross_validation.get(f"std_{metric}")
    entries = list(spec.leaderboard)
    if mean is not None and std is not None:
        label = model_label(spec.model_type)
        entries.append(LeaderboardEntry(label=label, mean=mean, std=std))
    try:
        leaderboard_chart(
            folder / CHART_FILE,
            entries,
            metric="R²" if metric == "r2" else metric,
            folds=int(cross_validation["folds"]),
            baseline=metrics["baseline"].get(metric),
        )
        plots.append(CHART_FILE)
    except Exception:  # a plot is a nicety; the model and numbers still count
        reporter.log(f"plot {CHART_FILE} failed:\n{traceback.format_exc()}")
        warnings.append(f"The plot {CHART_FILE} could not be drawn.")


def _draw_plots(
    folder: Path,
    model: Any,
    on_test: _evaluate.Predictions,
    y_test: pd.Series,
    spec: TrainSpec,
    outcome: TrainOutcome,
    reporter: Reporter,
    warnings: list[str],
) -> list[str]:
    """Each plot on its own: one that fails is a warning, not a lost model."""
    actual = y_test.to_numpy()
    importance, history = outcome.feature_importance, outcome.history
    drawings: dict[str, Callable[[Path], None]] = {}
    if outcome.task_type is TaskType.REGRESSION:
        predicted = np.asarray(on_test.values, dtype=float)
        drawings["predicted_vs_actual.png"] = lambda p: _plots.predicted_vs_actual(
            p, actual.astype(float), predicted, target=spec.target_column
        )
        drawings["residuals.png"] = lambda p: _plots.residuals(
            p, actual.astype(float), predicted, target=spec.target_column
        )
    else:
        from sklearn.metrics import confusion_matrix

        classes = list(model.classes_)
        drawings["confusion_matrix.png"] = lambda p: _plots.confusion_matrix(
            p, confusion_matrix(actual, on_test.values, labels=classes).tolist(), classes
        )
        drawings["roc_curve.png"] = lambda p: _plots.roc_curve(p, actual, on_test.proba, classes)
    if importance:
        drawings["feature_importance.png"] = lambda p: _plots.feature_importance(p, importance)
    if history:
        drawings["learning_curve.png"] = lambda p: _plots.learning_curve(p, history)
    drawn = []
    for name, draw in drawings.items():
        try:
            draw(folder / name)
            drawn.append(name)
        except Exception:  # a plot is a nicety; the model and numbers still count
            reporter.log(f"plot {name} failed:\n{traceback.format_exc()}")
            warnings.append(f"The plot {name} could not be drawn.")
    return drawn
