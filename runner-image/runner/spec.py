"""The job contract between the controller (host) and the runner (container).

This module is the one definition of the job spec, the progress events and the result.
It imports only pydantic and the standard library, so the host installs it too and
builds specs with the very types the runner validates.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SPEC_VERSION = 1

# Paths inside the job container.
JOB_ROOT = PurePosixPath("/job")
INPUT_DIR = "input"  # read-only: job.json and data.parquet (an ingest job: job.json and upload)
MODEL_DIR = "model"  # read-only: a prediction's saved model folder, or a retrain's earlier model
OUTPUT_DIR = "output"  # the only writable place besides /tmp
SPEC_FILE = "job.json"
DATA_FILE = "data.parquet"
UPLOAD_FILE = "upload"  # an ingest job's input: the bytes the user sent, as received
RESULT_FILE = "result.json"
# The progress stage a training job reports once its model is saved and result.json says so
# (the plots come after): the host may take the model and send the numbers then.
SAVED_STAGE = "saved"
# Inside OUTPUT_DIR: the table an ingest job made (DATA_FILE), the model folder a training job produces, its plots, predictions.
OUTPUT_MODEL_DIR = "model"
OUTPUT_PLOTS_DIR = "plots"
PREDICTIONS_PARQUET = "predictions.parquet"
PREDICTIONS_CSV = "predictions.csv"
METADATA_FILE = "metadata.json"

MODEL_ID_RE = re.compile(r"^model_[0-9a-f]{8}$")
JOB_ID_RE = re.compile(r"^job_[0-9a-f]{12}$")


class ExitCode(int, Enum):
    """Process exit codes of `python -m runner`. Anything else is a crash."""

    OK = 0
    BAD_INPUT = 2  # the user's to fix: bad spec, bad data, missing columns
    TRAINING_FAILED = 3  # the data was fine but fitting or evaluating failed
    DEADLINE = 124  # the container's own deadline ended the job (`--deadline`)


class ErrorCode(str, Enum):
    """Machine-readable reasons in result.json; the host maps each to one sentence."""

    BAD_SPEC = "bad_spec"
    EMPTY_DATA = "empty_data"
    UNREADABLE_DATA = "unreadable_data"
    UNSUPPORTED_FORMAT = "unsupported_format"
    OVER_LIMIT = "over_limit"  # an upload past one of IngestLimits
    MISSING_COLUMN = "missing_column"
    INSUFFICIENT_DATA = "insufficient_data"
    NO_VARIANCE = "no_variance"
    NON_NUMERIC_TARGET = "non_numeric_target"
    TOO_FEW_PER_CLASS = "too_few_per_class"
    ID_TARGET = "id_target"  # the column to predict names or numbers the rows
    NO_USABLE_FEATURES = "no_usable_features"
    UNSUPPORTED_MODEL = "unsupported_model"
    MODEL_UNREADABLE = "model_unreadable"
    FEATURE_MISMATCH = "feature_mismatch"
    TRAINING_FAILED = "training_failed"
    NON_NUMERIC_COLUMN = "non_numeric_column"  # a correlation or a numeric plot of a column of text
    INTERNAL = "internal"


class JobKind(StrEnum):
    """What a job does: the spec's `command`, the job record's kind, the container's label."""

    TRAIN = "train"
    PREDICT = "predict"
    INGEST = "ingest"  # an upload read into a table
    EXPLORE = "explore"  # describe, correlate or plot a table


class TaskType(str, Enum):
    REGRESSION = "regression"
    CLASSIFICATION = "classification"


class ModelType(str, Enum):
    LINEAR = "linear"
    RIDGE = "ridge"
    LASSO = "lasso"
    ELASTICNET = "elasticnet"
    POLYNOMIAL = "polynomial"
    LOGISTIC = "logistic"
    SVM = "svm"
    RANDOM_FOREST = "random_forest"
    GRADIENT_BOOSTING = "gradient_boosting"
    HIST_GRADIENT_BOOSTING = "hist_gradient_boosting"
    NEURAL_NETWORK = "neural_network"


class Scaling(str, Enum):
    STANDARD = "standard"
    MINMAX = "minmax"
    ROBUST = "robust"
    NONE = "none"


class MissingStrategy(str, Enum):
    MEAN = "mean"
    MEDIAN = "median"
    DROP = "drop"


class Validation(str, Enum):
    HOLD_OUT = "hold_out"
    CROSS_VALIDATION = "cross_validation"


# Which tasks each model serves. The host refuses anything else before a container starts.
# MODEL_TASKS is in the order models are offered and listed: the common ones first.
MODEL_TASKS: dict[ModelType, frozenset[TaskType]] = {
    ModelType.LINEAR: frozenset({TaskType.REGRESSION}),
    ModelType.LOGISTIC: frozenset({TaskType.CLASSIFICATION}),
    ModelType.RANDOM_FOREST: frozenset(TaskType),
    ModelType.GRADIENT_BOOSTING: frozenset(TaskType),
    ModelType.HIST_GRADIENT_BOOSTING: frozenset(TaskType),
    ModelType.RIDGE: frozenset({TaskType.REGRESSION}),
    ModelType.LASSO: frozenset({TaskType.REGRESSION}),
    ModelType.ELASTICNET: frozenset({TaskType.REGRESSION}),
    ModelType.POLYNOMIAL: frozenset({TaskType.REGRESSION}),
    ModelType.SVM: frozenset(TaskType),
    ModelType.NEURAL_NETWORK: frozenset(TaskType),
}

HyperValue = Union[bool, int, float, str, list[int], None]


class HyperKind(StrEnum):
    """The kind of value a hyperparameter takes."""

    # A whole number (scikit-learn reads a float min_samples_split as a fraction, for one): the
    # host refuses fractions, the runner turns 5.0 into 5.
    INT = "int"
    FLOAT = "float"
    STR = "str"  # one of its choices
    INT_LIST = "list[int]"  # whole numbers, each within the range


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter: its kind and the values allowed. The configuration may override a
    range or the choices (ml_engine.hyperparameter_ranges and hyperparameter_choices)."""

    name: str
    kind: HyperKind
    low: float | None = None  # a number's range, or each item's of a list
    high: float | None = None
    choices: tuple[str, ...] = ()  # a text's allowed values
    max_items: int | None = None  # a list's length
    # A tuning search draws it; not the settings that change cost or shape more than fit.
    tuned: bool = True

    @property
    def allowed(self) -> str:
        """'10 to 500', 'linear or rbf', or '' (a list's items are not described)."""
        if self.choices:
            return " or ".join(self.choices)
        if self.kind is HyperKind.INT_LIST or self.low is None or self.high is None:
            return ""
        return f"{_number_text(self.low)} to {_number_text(self.high)}"

    def refusal(self, value: HyperValue) -> str | None:
        """Why `value` is not allowed, or None when it is."""
        if self.choices:
            return None if value in self.choices else f"choose one of {', '.join(self.choices)}"
        if self.kind is HyperKind.INT_LIST:
            assert self.low is not None and self.high is not None and self.max_items is not None
            if (
                not isinstance(value, list)
                or not 1 <= len(value) <= self.max_items
                or not all(isinstance(v, int) and self.low <= v <= self.high for v in value)
            ):
                return (
                    f"give 1 to {self.max_items} layer sizes between {_number_text(self.low)} and "
                    f"{_number_text(self.high)}, like [64, 32]"
                )
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "it must be a number"
        if self.low is not None and self.high is not None and not self.low <= value <= self.high:
            return f"the allowed range is {self.allowed}"
        if self.kind is HyperKind.INT and isinstance(value, float) and not value.is_integer():
            return "it must be a whole number"
        return None


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


_INT, _FLOAT, _STR = HyperKind.INT, HyperKind.FLOAT, HyperKind.STR
HYPERPARAMETERS: dict[str, Hyperparameter] = {
    h.name: h
    for h in (
        Hyperparameter("n_estimators", _INT, 10, 500),
        Hyperparameter("max_depth", _INT, 1, 50),
        Hyperparameter("min_samples_split", _INT, 2, 100),
        Hyperparameter("min_samples_leaf", _INT, 1, 100),
        Hyperparameter("max_leaf_nodes", _INT, 2, 256),
        Hyperparameter("max_iter", _INT, 10, 100_000, tuned=False),
        Hyperparameter("learning_rate", _FLOAT, 0.001, 0.5),
        Hyperparameter("subsample", _FLOAT, 0.1, 1.0),
        Hyperparameter("l2_regularization", _FLOAT, 0.0, 10.0),
        Hyperparameter("alpha", _FLOAT, 0.0001, 10.0),
        Hyperparameter("l1_ratio", _FLOAT, 0.0, 1.0),
        Hyperparameter("degree", _INT, 1, 5, tuned=False),
        Hyperparameter("C", _FLOAT, 0.001, 100.0),
        Hyperparameter("kernel", _STR, choices=("linear", "rbf", "poly", "sigmoid")),
        Hyperparameter("gamma", _STR, choices=("scale", "auto")),
        Hyperparameter("epsilon", _FLOAT, 0.0, 10.0),
        Hyperparameter("hidden_layers", HyperKind.INT_LIST, 1, 1024, max_items=5, tuned=False),
        Hyperparameter("dropout", _FLOAT, 0.0, 0.9),
        Hyperparameter("epochs", _INT, 10, 200, tuned=False),
        Hyperparameter("batch_size", _INT, 8, 128, tuned=False),
        Hyperparameter("patience", _INT, 1, 50, tuned=False),
    )
}

# The hyperparameters each model accepts, each with its built-in default or None (the estimator's
# own). The host refuses any other name before a container starts; the runner builds estimators
# from these only. ml_engine.default_hyperparameters may override a default; these are
# deliberately not all scikit-learn's (a forest's max_depth is 10, a logistic's max_iter 1000).
MODEL_HYPERPARAMETER_DEFAULTS: dict[ModelType, dict[str, HyperValue]] = {
    ModelType.LINEAR: {},
    ModelType.RIDGE: {"alpha": 1.0},
    ModelType.LASSO: {"alpha": 1.0, "max_iter": None},
    ModelType.ELASTICNET: {"alpha": 1.0, "l1_ratio": 0.5, "max_iter": None},
    ModelType.POLYNOMIAL: {"degree": 2, "alpha": None},  # with alpha: a ridge on the terms
    ModelType.LOGISTIC: {"max_iter": 1000, "C": 1.0},
    ModelType.SVM: {"kernel": "rbf", "C": 1.0, "gamma": None, "epsilon": None},
    ModelType.RANDOM_FOREST: {"n_estimators": 100, "max_depth": 10, "min_samples_split": 2, "min_samples_leaf": None},
    ModelType.GRADIENT_BOOSTING: {"n_estimators": 100, "learning_rate": 0.1, "max_depth": 3, "subsample": None},
    ModelType.HIST_GRADIENT_BOOSTING: {
        "max_iter": 100,
        "learning_rate": 0.1,
        "max_depth": None,
        "max_leaf_nodes": None,
        "min_samples_leaf": None,
        "l2_regularization": None,
    },
    ModelType.NEURAL_NETWORK: {
        "hidden_layers": [64, 32],
        "dropout": 0.2,
        "epochs": 50,
        "batch_size": 32,
        "learning_rate": 0.001,
        "patience": 10,
    },
}
MODEL_HYPERPARAMETERS: dict[ModelType, frozenset[str]] = {
    model: frozenset(names) for model, names in MODEL_HYPERPARAMETER_DEFAULTS.items()
}


def default_hyperparameters(model_type: ModelType) -> dict[str, HyperValue]:
    """A model's built-in defaults (a fresh copy), without the ones left to the estimator."""
    return {
        name: copy.deepcopy(value)
        for name, value in MODEL_HYPERPARAMETER_DEFAULTS[model_type].items()
        if value is not None
    }


# How people read each model type: a label for headings and buttons, a phrase inside sentences.
_MODEL_NAMES: dict[ModelType, tuple[str, str]] = {
    ModelType.LINEAR: ("Linear Regression", "linear"),
    ModelType.RIDGE: ("Ridge Regression", "ridge"),
    ModelType.LASSO: ("Lasso Regression", "lasso"),
    ModelType.ELASTICNET: ("Elastic Net", "elastic net"),
    ModelType.POLYNOMIAL: ("Polynomial Regression", "polynomial"),
    ModelType.LOGISTIC: ("Logistic Regression", "logistic"),
    ModelType.SVM: ("SVM", "SVM"),
    ModelType.RANDOM_FOREST: ("Random Forest", "random forest"),
    ModelType.GRADIENT_BOOSTING: ("Gradient Boosting", "gradient boosting"),
    ModelType.HIST_GRADIENT_BOOSTING: ("Hist Gradient Boosting", "hist gradient boosting"),
    ModelType.NEURAL_NETWORK: ("Neural Network", "neural network"),
}


def model_label(model_type: ModelType | str) -> str:
    """'random_forest' -> 'Random Forest', 'linear' -> 'Linear Regression'."""
    return _MODEL_NAMES[ModelType(model_type)][0]


def model_phrase(model_type: ModelType | str) -> str:
    """'random_forest' -> 'random forest', as in 'a random forest model'."""
    return _MODEL_NAMES[ModelType(model_type)][1]


def models_for(task: TaskType) -> list[ModelType]:
    """The model types that can do `task`, in the order they are offered."""
    return [model for model, tasks in MODEL_TASKS.items() if task in tasks]


def model_phrases(task: TaskType) -> str:
    """'linear, random forest, ...': the models that can do `task`, for a sentence."""
    return ", ".join(map(model_phrase, models_for(task)))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LeaderboardEntry(_Strict):
    """Another candidate of a comparison: its cross-validated score, for the leaderboard chart."""

    label: str = Field(min_length=1, max_length=64)
    mean: float = Field(allow_inf_nan=False)
    std: float = Field(ge=0, allow_inf_nan=False)


class SearchRange(_Strict):
    """Where a tuned setting is drawn from: a range (log-uniform with `log`), or choices."""

    low: float | None = None
    high: float | None = None
    integer: bool = False
    log: bool = False
    choices: tuple[str, ...] = ()


class Tuning(_Strict):
    """A randomized search: `candidates` settings (the defaults first) on the same folds."""

    candidates: int = Field(ge=2, le=200)
    space: dict[str, SearchRange]


class Preprocessing(_Strict):
    scaling: Scaling = Scaling.STANDARD
    missing_strategy: MissingStrategy = MissingStrategy.MEAN


class _JobBase(_Strict):
    spec_version: int = SPEC_VERSION
    job_id: str
    user_id: str

    @field_validator("job_id")
    @classmethod
    def _job_id(cls, v: str) -> str:
        if not JOB_ID_RE.fullmatch(v):
            raise ValueError("job_id must look like job_0123456789ab")
        return v


class _ModelJob(_JobBase):
    model_id: str

    @field_validator("model_id")
    @classmethod
    def _model_id(cls, v: str) -> str:
        if not MODEL_ID_RE.fullmatch(v):
            raise ValueError("model_id must look like model_0123abcd")
        return v


class TrainSpec(_ModelJob):
    """Everything a training job needs. Column names are data, never code."""

    command: Literal[JobKind.TRAIN] = JobKind.TRAIN
    target_column: str = Field(min_length=1)
    # None means: every column except the target (the runner still leaves out useless ones).
    feature_columns: list[str] | None = None
    model_type: ModelType
    # None means: inferred from the target column.
    task_type: TaskType | None = None
    # Complete, already merged with the configured defaults and range-checked by the host.
    hyperparameters: dict[str, HyperValue] = Field(default_factory=dict)
    validation: Validation = Validation.HOLD_OUT
    test_size: float = Field(default=0.2, gt=0.0, lt=1.0)
    cv_folds: int = Field(default=5, ge=2, le=20)
    preprocessing: Preprocessing = Preprocessing()
    min_training_samples: int = Field(default=10, ge=2)
    seed: int = 42
    # Train on a seeded random sample of this many rows (None: every row).
    sample_rows: int | None = Field(default=None, ge=1)
    # The host's estimate of the fitting time, said while a fit that reports no steps runs.
    estimated_seconds: float | None = Field(default=None, ge=0)
    # Tune the settings by randomized search before the final fit (None: train the settings given).
    tuning: Tuning | None = None
    # A comparison's other candidates: the runner draws leaderboard.png with them and itself.
    leaderboard: tuple[LeaderboardEntry, ...] = Field(default=(), max_length=20)
    # The runner image id the host started, recorded in the model's metadata.
    image_id: str | None = None
    # A retrain: the earlier model, mounted read-only at /job/model and scored on this job's test rows.
    reference_model_id: str | None = None

    @field_validator("reference_model_id")
    @classmethod
    def _reference_model_id(cls, v: str | None) -> str | None:
        if v is not None and not MODEL_ID_RE.fullmatch(v):
            raise ValueError("reference_model_id must look like model_0123abcd")
        return v


class PredictSpec(_ModelJob):
    """A prediction job: the saved model is mounted read-only at /job/model."""

    command: Literal[JobKind.PREDICT] = JobKind.PREDICT
    return_probabilities: bool = True


class IngestLimits(_Strict):
    """The budgets an upload is read under; each refusal names the one it passed."""

    max_rows: int = Field(default=1_000_000, ge=1)
    max_columns: int = Field(default=500, ge=1)
    max_cells: int = Field(default=20_000_000, ge=1)  # rows x columns
    max_name_chars: int = Field(default=256, ge=8)  # of one column name
    max_sheets: int = Field(default=50, ge=1)  # in a workbook
    max_unpacked_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)  # of a zip or a Parquet file's pages
    sniff_bytes: int = Field(default=64 * 1024, ge=1024)  # of text the CSV dialect is guessed from
    sniff_seconds: float = Field(default=2.0, gt=0)


class IngestSpec(_JobBase):
    """An upload to read: input/upload holds the bytes as received; output/data.parquet is the table."""

    command: Literal[JobKind.INGEST] = JobKind.INGEST
    filename: str = Field(max_length=255)  # as the user named it: its extension is a hint only
    limits: IngestLimits = IngestLimits()


class ExploreWhat(str, Enum):
    """What an explore job computes from the current table."""

    DESCRIBE = "describe"  # per column: count, missing, mean, sd, quartiles... or top categories
    CORRELATE = "correlate"  # two columns, or every numeric column against a target
    PLOT = "plot"


class PlotKind(str, Enum):
    SCATTER = "scatter"  # columns [x, y], with the least-squares line
    HISTOGRAM = "histogram"  # columns [x]
    BOX = "box"  # columns [y], grouped by `by`
    PAIR = "pair"  # 2 to MAX_PAIR_COLUMNS columns


PLOT_LABELS = {
    PlotKind.SCATTER: "scatter plot",
    PlotKind.HISTOGRAM: "histogram",
    PlotKind.BOX: "box plot",
    PlotKind.PAIR: "pair plot",
}
MAX_PAIR_COLUMNS = 6
MAX_HEATMAP_COLUMNS = 30
MAX_TOP_CATEGORIES = 5  # categories listed per column by describe
MAX_BOX_GROUPS = 12  # categories a box plot shows (the most frequent)
# Columns one explore request may name (describe of named columns); none named: the whole table.
MAX_EXPLORE_COLUMNS = 50


class ExploreSpec(_JobBase):
    """Describe, correlate or plot the job's table (input/data.parquet). Column names are data."""

    command: Literal[JobKind.EXPLORE] = JobKind.EXPLORE
    what: ExploreWhat
    # describe: the columns to describe (none: all); correlate: two columns (or none with a target);
    # plot: the columns plotted, see PlotKind.
    columns: list[str] = Field(default_factory=list, max_length=MAX_EXPLORE_COLUMNS)
    # correlate: rank every numeric column by its correlation with this one.
    target: str | None = None
    plot: PlotKind | None = None
    by: str | None = None  # a box plot's grouping column

    @model_validator(mode="after")
    def _complete(self) -> ExploreSpec:
        if self.what is ExploreWhat.CORRELATE and (self.target is None) == (len(self.columns) != 2):
            raise ValueError("a correlation names two columns, or a target and no columns")
        if self.what is ExploreWhat.PLOT:
            counts = {
                PlotKind.SCATTER: (2, 2),
                PlotKind.HISTOGRAM: (1, 1),
                PlotKind.BOX: (1, 1),
                PlotKind.PAIR: (2, MAX_PAIR_COLUMNS),
            }
            if self.plot is None:
                raise ValueError("a plot job names its kind")
            low, high = counts[self.plot]
            if not low <= len(self.columns) <= high:
                raise ValueError(f"a {self.plot.value} plot takes {low} to {high} columns")
            if (self.plot is PlotKind.BOX) != (self.by is not None):
                raise ValueError("a box plot, and only a box plot, is grouped by a column")
        return self


JobSpec = Annotated[Union[TrainSpec, PredictSpec, IngestSpec, ExploreSpec], Field(discriminator="command")]
AnySpec = Union[TrainSpec, PredictSpec, IngestSpec, ExploreSpec]


class _JobSpecDoc(BaseModel):
    spec: JobSpec


def parse_spec(raw: str | bytes) -> AnySpec:
    """Parse and validate a job.json document (raises pydantic.ValidationError)."""
    return _JobSpecDoc.model_validate_json(b'{"spec":' + _as_bytes(raw) + b"}").spec


def _as_bytes(raw: str | bytes) -> bytes:
    return raw.encode() if isinstance(raw, str) else raw


class ProgressEvent(BaseModel):
    """One JSON line on the runner's stdout."""

    model_config = ConfigDict(extra="forbid")

    event: Literal["progress"] = "progress"
    stage: str
    percent: float = Field(ge=0, le=100)
    message: str = ""


class ErrorInfo(BaseModel):
    code: ErrorCode
    message: str  # one sentence a user can act on
    details: dict[str, Any] = Field(default_factory=dict)


class DroppedColumn(BaseModel):
    column: str
    reason: str


class TrainSplit(BaseModel):
    """The rows a model was trained and tested on (and the folds, with cross-validation)."""

    method: Validation
    test_size: float
    train_rows: int
    test_rows: int
    shuffled: bool = True
    stratified: bool
    seed: int
    cv_folds: int | None = None  # with cross-validation, folds of the training rows
    # SHA-256 of which rows were tested and each training row's fold: equal for equal splits.
    rows_sha256: str | None = None


# The most coefficient rows a table carries (result.json and metadata.json are read size-capped).
MAX_INFERENCE_TERMS = 60


# The intercept's term, as R names it.
INTERCEPT = "(Intercept)"


class CoefficientRow(BaseModel):
    """One term of a coefficient table; a penalized model's row has the estimate only."""

    term: str  # "(Intercept)", "age", "city[Lakeside]" (treatment-coded against the first level)
    estimate: float
    std_error: float | None = None
    statistic: float | None = None  # t (OLS) or z (logit)
    p_value: float | None = None
    ci_low: float | None = None  # 95% interval
    ci_high: float | None = None


class FitStatistics(BaseModel):
    """What R's summary() prints under the table: OLS or logit fields, the others None."""

    nobs: int
    df_model: float
    df_resid: float
    r_squared: float | None = None
    adj_r_squared: float | None = None
    f_statistic: float | None = None
    f_p_value: float | None = None
    residual_std_error: float | None = None
    pseudo_r_squared: float | None = None  # McFadden
    log_likelihood: float | None = None
    null_log_likelihood: float | None = None
    aic: float | None = None
    bic: float | None = None
    llr_p_value: float | None = None
    condition_number: float | None = None
    jarque_bera_p_value: float | None = None
    breusch_pagan_p_value: float | None = None


class Inference(BaseModel):
    """A linear or logistic model's coefficients with inference, as statsmodels/R report them."""

    method: Literal["ols", "logit", "penalized"]
    response: str  # what is modelled: "mpg", or "log-odds(am = 1)"
    rows: int  # rows the table was fitted on
    rows_missing: int = 0  # rows left out for a missing value in a feature
    coefficients: list[CoefficientRow] = Field(default_factory=list, max_length=MAX_INFERENCE_TERMS)
    terms_total: int = 0  # terms before the cap on rows shown
    aliased: list[str] = Field(default_factory=list, max_length=MAX_INFERENCE_TERMS)  # not estimable (R's NA): a copy of other terms
    zeroed: list[str] = Field(default_factory=list, max_length=MAX_INFERENCE_TERMS)  # penalized: set to exactly zero
    fit: FitStatistics | None = None
    note: str = ""  # which rows it was fitted on, or why there are no p-values / no table
    warnings: list[str] = Field(default_factory=list)


class ReferenceScore(BaseModel):
    """A retrain's earlier model, scored on the very test rows the new model was tested on."""

    model_id: str
    test_rows: int
    metrics: dict[str, Any]  # as metrics["test"] of a training


class TrainOutcome(BaseModel):
    """What a finished training job reports (the model folder holds the rest)."""

    model_config = ConfigDict(extra="forbid")

    model_type: ModelType
    task_type: TaskType
    target_column: str
    feature_columns: list[str]
    hyperparameters: dict[str, HyperValue]
    # {"train": {...}, "test": {...}, "cross_validation": {...}, "baseline": {...}}
    metrics: dict[str, Any]
    verdicts: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    dropped_columns: list[DroppedColumn] = Field(default_factory=list)
    rows_used: int
    rows_dropped: dict[str, int] = Field(default_factory=dict)
    feature_importance: dict[str, float] = Field(default_factory=dict)
    classes: list[Any] | None = None
    model_format: str
    plots: list[str] = Field(default_factory=list)  # file names under output/plots
    training_time_seconds: float
    split: TrainSplit | None = None  # None in outcomes written before it was reported
    inference: Inference | None = None  # linear, logistic and penalized models
    reference: ReferenceScore | None = None  # a retrain: the earlier model on the same test rows
    feature_importance_method: str | None = None  # how `feature_importance` was measured
    history: dict[str, list[float]] | None = None  # a neural network's loss (and val_loss) per epoch
    # A tuned training: tried, metric, best_settings, best_cv and default_cv.
    tuning: dict[str, Any] | None = None


class PredictOutcome(BaseModel):
    """What a finished prediction job reports (the predictions are in its output files)."""

    model_config = ConfigDict(extra="forbid")

    model_type: ModelType
    task_type: TaskType
    rows: int
    preview: list[dict[str, Any]]  # the first rows: prediction (and probabilities)
    warnings: list[str] = Field(default_factory=list)
    ignored_columns: list[str] = Field(default_factory=list)
    feature_importance: dict[str, float] = Field(default_factory=dict)
    classes: list[Any] | None = None
    prediction_column: str = "prediction"  # its name in the output (another when the table has one)
    probability_columns: list[str] = Field(default_factory=list)  # a classifier's, one per class
    # Columns of the new data to look at: column, issue, count, examples, message.
    flags: list[dict[str, Any]] = Field(default_factory=list)


class ColumnKind(str, Enum):
    """What a column holds, as a user would say it."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    TEXT = "text"


class DataFormat(str, Enum):
    """The format an upload was read as (the stored copy is always Parquet)."""

    CSV = "csv"
    XLSX = "xlsx"
    PARQUET = "parquet"


class ColumnSummary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: ColumnKind
    dtype: str  # the pandas dtype of the stored column
    missing: int
    distinct: int  # distinct non-missing values
    examples: tuple[str, ...]  # a few distinct values, as text
    # Why the column names or numbers the rows (runner._columns.id_reason), so the host can refuse
    # it as a target before any job; None: it measures something (or the summary predates this).
    id_reason: str | None = None


def id_target_refusal(column: str, reason: str) -> str:
    """The one sentence refusing a target that names or numbers the rows (host and runner)."""
    return f"'{column}' cannot be predicted: {reason}."


class DatasetSummary(BaseModel):
    """What the chat shows about a table. `notes` says what was changed or left out while reading."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rows: int
    columns: tuple[ColumnSummary, ...]
    notes: tuple[str, ...] = ()
    sheets: tuple[str, ...] = ()  # a workbook's sheet names (the first was read)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


class IngestOutcome(BaseModel):
    """What an ingest job reports; the table itself is output/data.parquet."""

    model_config = ConfigDict(extra="forbid")

    file_format: DataFormat
    summary: DatasetSummary


class NumericStats(BaseModel):
    """pandas' describe() of a numeric column (sd with n - 1; quartiles as R's type 7)."""

    model_config = ConfigDict(extra="forbid")

    mean: float | None
    sd: float | None  # None with fewer than two values
    min: float | None
    q25: float | None
    median: float | None
    q75: float | None
    max: float | None


class CategoryCount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str
    count: int


class ColumnDescription(BaseModel):
    """One column of a describe job: numbers get `numeric`, anything else its top categories."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: ColumnKind
    count: int  # non-missing values
    missing: int
    numeric: NumericStats | None = None
    distinct: int | None = None  # of a non-numeric column
    top: list[CategoryCount] = Field(default_factory=list)  # the most frequent, at most MAX_TOP_CATEGORIES
    earliest: str | None = None  # of a date column (ISO), instead of categories
    latest: str | None = None


class Correlation(BaseModel):
    """Pearson and Spearman of two columns on the rows where both have a value (scipy.stats)."""

    model_config = ConfigDict(extra="forbid")

    x: str
    y: str
    n: int
    pearson: float | None  # None when a column is constant on those rows, or n < 3
    pearson_p: float | None
    spearman: float | None
    spearman_p: float | None


class PlotFigure(BaseModel):
    """A PNG an explore job drew (under output/plots), with the labels read back from its axes."""

    model_config = ConfigDict(extra="forbid")

    file: str
    kind: str  # a PlotKind value, or "heatmap"
    title: str
    # Per panel (one, or a grid for a pair plot): [x label, y label].
    axes: list[tuple[str, str]]
    tick_labels: list[str] = Field(default_factory=list)  # a heatmap's column names, as drawn


class ExploreOutcome(BaseModel):
    """What an explore job reports; its plots are PNG files under output/plots."""

    model_config = ConfigDict(extra="forbid")

    what: ExploreWhat
    rows: int  # of the table
    columns: list[ColumnDescription] = Field(default_factory=list)  # describe
    # correlate: the one pair, or every numeric column against the target, strongest |r| first
    correlations: list[Correlation] = Field(default_factory=list)
    target: str | None = None
    skipped: list[DroppedColumn] = Field(default_factory=list)  # columns left out, and why
    figures: list[PlotFigure] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # e.g. "2,000 of 53,940 rows drawn"


class Result(BaseModel):
    """result.json: always written, on success and on every failure."""

    model_config = ConfigDict(extra="forbid")

    ok: bool
    command: JobKind | Literal["selftest"] | None = None
    job_id: str | None = None
    model_id: str | None = None
    error: ErrorInfo | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    train: TrainOutcome | None = None
    predict: PredictOutcome | None = None
    ingest: IngestOutcome | None = None
    explore: ExploreOutcome | None = None
