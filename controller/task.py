"""The validated task: what a user asked for, as data. The parser fills it; the controller runs it.

`TrainRequest | PredictRequest` (`Task`) carries the plan's fields. `build_spec` merges the
configured defaults, refuses what is missing, unknown hyperparameters and values out of range
with a message that names what is allowed, and returns the runner's job spec. Nothing here ever
becomes code.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from config import MLSettings, UploadSettings
from errors import TaskError
from store import JobKind
from controller._cost import check_cost
from runner.spec import (
    ColumnKind,
    DatasetSummary,
    IngestLimits,
    IngestSpec,
    LeaderboardEntry,
    MODEL_HYPERPARAMETERS,
    MODEL_TASKS,
    HyperKind,
    HyperValue,
    MissingStrategy,
    ModelType,
    PredictSpec,
    Preprocessing,
    Scaling,
    SearchRange,
    TaskType,
    TrainSpec,
    Tuning,
    Validation,
    id_target_refusal,
    model_phrase,
    model_phrases,
)

__all__ = [
    "PredictRequest",
    "PreprocessingRequest",
    "Task",
    "TrainRequest",
    "build_spec",
    "describe_hyperparameters",
    "ingest_spec",
    "retrain_task",
]

# A numeric target with more distinct values than both of these is a quantity, not classes
# (0/1 flags and small integer codes stay classes).
MAX_NUMBER_CLASSES = 20
MAX_NUMBER_CLASS_SHARE = 0.05


class PreprocessingRequest(BaseModel):
    """What the user said about preprocessing; None means: the configured default."""

    model_config = ConfigDict(extra="forbid")

    scaling: Scaling | None = None
    missing_strategy: MissingStrategy | None = None


class _Request(BaseModel):
    """Whose request it is, about which table; None: not known yet."""

    model_config = ConfigDict(extra="forbid")

    user_id: str
    conversation_id: str = ""
    dataset_id: str | None = None


class TrainRequest(_Request):
    """A training. The parser fills it in as questions are answered, so the model and the target
    may still be None; `build_spec` refuses them missing."""

    kind: Literal[JobKind.TRAIN] = JobKind.TRAIN
    model_type: ModelType | None = None
    learning_task: TaskType | None = None  # regression/classification; None: from the target
    target_column: str | None = None
    feature_columns: list[str] | None = None  # None: all other columns
    test_size: float | None = Field(default=None, gt=0, lt=1)
    hyperparameters: dict[str, HyperValue] = Field(default_factory=dict)
    validation: Validation | None = None
    cv_folds: int | None = Field(default=None, ge=2, le=20)
    sample_rows: int | None = Field(default=None, ge=1)  # train on a random sample of the rows
    leaderboard: tuple[LeaderboardEntry, ...] = ()  # a comparison's other candidates, for its chart
    tune: bool = False  # search the settings within their ranges (cross-validated)
    preprocessing: PreprocessingRequest = PreprocessingRequest()
    seed: int | None = None  # None: the runner's default
    # A retrain: the earlier model, scored on the new model's test rows (see `retrain_task`).
    reference_model_id: str | None = None


class PredictRequest(_Request):
    """A prediction with a saved model; `model_id` None until the user names one."""

    kind: Literal[JobKind.PREDICT] = JobKind.PREDICT
    model_id: str | None = None
    return_probabilities: bool = True


# One request: a training or a prediction with a saved model, told apart by `kind`.
Task = Annotated[TrainRequest | PredictRequest, Field(discriminator="kind")]


def retrain_task(
    *,
    user_id: str,
    model_id: str,
    metadata: Mapping[str, Any],
    dataset_id: str,
    summary: DatasetSummary,
    conversation_id: str = "",
) -> TrainRequest:
    """The training that made a saved model (its `metadata`), again on another table, scored
    against that model on the new test rows; TaskError naming the columns the table lacks."""
    needed = [str(metadata["target_column"]), *map(str, metadata["feature_columns"])]
    missing = [name for name in needed if name not in summary.column_names]
    if missing:
        names = ", ".join(f"'{name}'" for name in missing)
        raise TaskError(
            f"retrain of {model_id}: the table lacks {missing}",
            user_message=(
                f"{model_id} needs the {'column' if len(missing) == 1 else 'columns'} {names}, which your "
                "current table does not have, so I cannot retrain it on this table. Send a table with "
                f"{'it' if len(missing) == 1 else 'them'}; {model_id} is kept as it was."
            ),
        )
    split = metadata.get("split") or {}
    preprocessing = metadata.get("preprocessing") or {}
    return TrainRequest(
        user_id=user_id,
        model_type=ModelType(metadata["model_type"]),
        dataset_id=dataset_id,
        conversation_id=conversation_id,
        learning_task=metadata.get("task_type"),
        target_column=needed[0],
        feature_columns=needed[1:],
        hyperparameters=dict(metadata.get("hyperparameters") or {}),
        validation=split.get("method"),
        test_size=split.get("test_size"),
        cv_folds=split.get("cv_folds"),
        preprocessing=PreprocessingRequest(
            scaling=Scaling.NONE if preprocessing.get("scaled") is False else preprocessing.get("scaler_type"),
            missing_strategy=preprocessing.get("missing_value_strategy"),
        ),
        seed=metadata.get("seed"),
        reference_model_id=model_id,
    )


def ingest_spec(*, job_id: str, user_id: str, filename: str, uploads: UploadSettings) -> IngestSpec:
    """The spec of the job that reads an upload, under the configured budgets."""
    return IngestSpec(
        job_id=job_id,
        user_id=user_id,
        filename=PurePath(filename).name[:255] or "upload",
        limits=IngestLimits(
            max_rows=uploads.max_rows,
            max_columns=uploads.max_columns,
            max_cells=uploads.max_cells,
            max_name_chars=uploads.max_column_name_chars,
            max_sheets=uploads.max_sheets,
            max_unpacked_bytes=uploads.max_unpacked_mb * 2**20,
        ),
    )


def build_spec(
    task: TrainRequest | PredictRequest,
    *,
    ml: MLSettings,
    job_id: str,
    model_id: str,
    image_id: str | None = None,
    summary: DatasetSummary | None = None,
    time_limit_seconds: float | None = None,
) -> TrainSpec | PredictSpec:
    """Turn a task into the runner's job spec, or raise TaskError saying what to change.

    With the table's `summary`, a classifier asked for a quantity is refused here, before any job;
    with a `time_limit_seconds` too, so is a training estimated to take longer (CostError, with
    offers that would fit).
    """
    if isinstance(task, PredictRequest):
        return PredictSpec(
            job_id=job_id,
            model_id=model_id,
            user_id=task.user_id,
            return_probabilities=task.return_probabilities,
        )
    if task.model_type is None:
        raise TaskError("no model type", user_message="Which model should I train?")
    if not task.target_column:
        raise TaskError("no target", user_message="Which column should the model predict?")
    if task.learning_task and task.learning_task not in MODEL_TASKS[task.model_type]:
        raise TaskError(
            f"{task.model_type.value} cannot do {task.learning_task.value}",
            user_message=(
                f"A {model_phrase(task.model_type)} model cannot do {task.learning_task.value}. "
                f"Models for {task.learning_task.value}: {model_phrases(task.learning_task)}."
            ),
        )
    if summary is not None:
        _refuse_id_target(task, summary)
        _refuse_quantity_as_classes(task, summary)
    spec = TrainSpec(
        job_id=job_id,
        model_id=model_id,
        user_id=task.user_id,
        target_column=task.target_column,
        feature_columns=task.feature_columns,
        model_type=task.model_type,
        task_type=task.learning_task,
        hyperparameters=_hyperparameters(task.model_type, task.hyperparameters, ml),
        validation=Validation.CROSS_VALIDATION if task.tune else (task.validation or Validation.HOLD_OUT),
        test_size=task.test_size or ml.default_test_size,
        cv_folds=task.cv_folds or ml.default_cv_folds,
        preprocessing=Preprocessing(
            scaling=task.preprocessing.scaling or Scaling(ml.default_scaling),
            missing_strategy=(
                task.preprocessing.missing_strategy
                or MissingStrategy(ml.default_missing_strategy)
            ),
        ),
        min_training_samples=ml.min_training_samples,
        sample_rows=task.sample_rows,
        leaderboard=task.leaderboard,
        tuning=_tuning(task.model_type, ml) if task.tune else None,
        image_id=image_id,
        reference_model_id=task.reference_model_id,
        **({"seed": task.seed} if task.seed is not None else {}),
    )
    if summary is None or time_limit_seconds is None:
        return spec
    estimate = check_cost(
        spec, summary=summary, limit_seconds=time_limit_seconds, defaults=ml.defaults
    )
    return spec.model_copy(update={"estimated_seconds": round(estimate, 1)})


def _tuning(model_type: ModelType, ml: MLSettings) -> Tuning:
    """The search space of a model: its tuned settings' ranges and choices."""
    space: dict[str, SearchRange] = {}
    for name in sorted(MODEL_HYPERPARAMETERS[model_type]):
        setting = ml.hyperparameter(name)
        if not setting.tuned:
            continue
        if setting.choices:
            space[name] = SearchRange(choices=setting.choices)
        elif setting.low is not None and setting.high is not None:
            low, high = setting.low, setting.high
            space[name] = SearchRange(
                low=low, high=high, integer=setting.kind is HyperKind.INT, log=low > 0 and high / low >= 100
            )
    if model_type is ModelType.NEURAL_NETWORK or not space:
        raise TaskError(
            f"nothing to tune for {model_type.value}",
            user_message=f"A {model_phrase(model_type)} model has no settings I can tune; try a random forest, "
            "gradient boosting, ridge, lasso, SVM or logistic regression.",
        )
    return Tuning(candidates=ml.tune_candidates, space=space)


def _refuse_id_target(task: TrainRequest, summary: DatasetSummary) -> None:
    """A target that names or numbers the rows, as the table's ingest job found (the reason such
    a column is dropped as a feature), has nothing to learn."""
    column = next((c for c in summary.columns if c.name == task.target_column), None)
    if column is not None and column.id_reason:
        raise TaskError(
            f"target {column.name!r} looks like an ID",
            user_message=id_target_refusal(column.name, column.id_reason),
        )


def _refuse_quantity_as_classes(task: TrainRequest, summary: DatasetSummary) -> None:
    """A classifier on a numeric target with many distinct values would treat each number as a class."""
    assert task.model_type is not None
    asked = {task.learning_task} if task.learning_task else MODEL_TASKS[task.model_type]
    column = next((c for c in summary.columns if c.name == task.target_column), None)
    if asked != {TaskType.CLASSIFICATION} or column is None or column.kind is not ColumnKind.NUMERIC:
        return
    if column.distinct > MAX_NUMBER_CLASSES and column.distinct > MAX_NUMBER_CLASS_SHARE * summary.rows:
        raise TaskError(
            f"classification of a numeric target with {column.distinct} values",
            user_message=(
                f"'{column.name}' has {column.distinct:,} different numbers, so it is a quantity to "
                f"predict, not classes; use a regression model such as "
                f"{model_phrases(TaskType.REGRESSION)}, or choose a column with a few classes."
            ),
        )


def describe_hyperparameters(model_type: ModelType, ml: MLSettings) -> str:
    """'n_estimators (10 to 500, default 100), max_depth (...)' for help texts and refusals."""
    parts = []
    defaults = ml.defaults(model_type)
    for name in sorted(MODEL_HYPERPARAMETERS[model_type]):
        allowed = ml.hyperparameter(name).allowed
        default = f", default {defaults[name]}" if name in defaults else ""
        parts.append(f"{name} ({allowed}{default})" if allowed else f"{name}{default}")
    return ", ".join(parts) or "none"


def _hyperparameters(
    model_type: ModelType, given: dict[str, HyperValue], ml: MLSettings
) -> dict[str, HyperValue]:
    known = MODEL_HYPERPARAMETERS[model_type]
    unknown = sorted(set(given) - known)
    if unknown:
        raise TaskError(
            f"unknown hyperparameters {unknown} for {model_type.value}",
            user_message=(
                f"A {model_phrase(model_type)} model has no setting {', '.join(map(repr, unknown))}. "
                f"Its settings: {describe_hyperparameters(model_type, ml)}."
            ),
        )
    merged = {**ml.defaults(model_type), **given}
    for name, value in merged.items():
        if why := ml.hyperparameter(name).refusal(value):
            raise TaskError(
                f"{model_type.value}.{name}={value!r}: {why}",
                user_message=f"{name} = {value} is not allowed for a {model_phrase(model_type)} model: {why}.",
            )
    return merged
