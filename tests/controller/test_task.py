"""Task -> job spec: defaults merged from config, bad hyperparameters refused with what is allowed."""

import pytest
from pydantic import TypeAdapter, ValidationError

from config import load_settings
from errors import TaskError
from controller.task import PredictRequest, Task, TrainRequest, build_spec, describe_hyperparameters, retrain_task
from runner.spec import (
    HYPERPARAMETERS,
    MODEL_HYPERPARAMETERS,
    ColumnSummary,
    DatasetSummary,
    ModelType,
    PredictSpec,
    Scaling,
    TrainSpec,
    Validation,
    default_hyperparameters,
)
from store import JobKind

ML = load_settings(env={}).ml_engine
IDS = {"job_id": "job_0123456789ab", "model_id": "model_0123abcd"}


def spec_for(**fields) -> TrainSpec:
    fields.setdefault("target_column", "price")
    fields.setdefault("model_type", "random_forest")
    spec = build_spec(TrainRequest(user_id="u1", **fields), ml=ML, **IDS)
    assert isinstance(spec, TrainSpec)
    return spec


def test_defaults_come_from_the_built_in_table() -> None:
    spec = spec_for()
    assert spec.hyperparameters == {"n_estimators": 100, "max_depth": 10, "min_samples_split": 2}
    assert spec.test_size == 0.2 and spec.cv_folds == 5
    assert spec.validation is Validation.HOLD_OUT
    assert spec.preprocessing.scaling is Scaling.STANDARD
    assert spec.min_training_samples == 10


@pytest.mark.parametrize("model", list(ModelType), ids=lambda m: m.value)
def test_every_built_in_default_is_a_setting_it_allows(model: ModelType) -> None:
    spec = spec_for(model_type=model)
    assert spec.hyperparameters == default_hyperparameters(model)
    assert set(spec.hyperparameters) <= MODEL_HYPERPARAMETERS[model] <= set(HYPERPARAMETERS)


def test_configured_overrides_change_defaults_ranges_and_messages() -> None:
    ml = load_settings(
        env={},
        overrides={
            "ml_engine": {
                "default_hyperparameters": {"random_forest": {"n_estimators": 300}},
                "hyperparameter_ranges": {"n_estimators": [10, 1000], "max_depth": [1, 20]},
            }
        },
    ).ml_engine
    spec = build_spec(TrainRequest(user_id="u1", target_column="y", model_type="random_forest"), ml=ml, **IDS)
    assert spec.hyperparameters == {"n_estimators": 300, "max_depth": 10, "min_samples_split": 2}
    with pytest.raises(TaskError) as info:
        build_spec(
            TrainRequest(user_id="u1", target_column="y", model_type="random_forest", hyperparameters={"max_depth": 30}),
            ml=ml,
            **IDS,
        )
    assert "the allowed range is 1 to 20" in info.value.user_message
    tuned = build_spec(TrainRequest(user_id="u1", target_column="y", model_type="random_forest", tune=True), ml=ml, **IDS)
    assert tuned.tuning is not None and tuned.tuning.space["n_estimators"].high == 1000


def test_user_values_override_defaults_and_travel_as_data() -> None:
    name = "__import__('os').system('id')"
    spec = spec_for(
        target_column=name,
        feature_columns=["a; rm -rf /", "ü"],
        hyperparameters={"n_estimators": 200},
        validation="cross_validation",
        cv_folds=10,
        preprocessing={"scaling": "minmax"},
    )
    assert spec.target_column == name
    assert spec.feature_columns == ["a; rm -rf /", "ü"]
    assert spec.hyperparameters["n_estimators"] == 200
    assert spec.cv_folds == 10 and spec.preprocessing.scaling is Scaling.MINMAX


@pytest.mark.parametrize(
    ("model", "params", "message"),
    [
        ("random_forest", {"n_estimators": 1000}, "allowed range is 10 to 500"),
        ("random_forest", {"max_depth": 0}, "allowed range is 1 to 50"),
        ("random_forest", {"max_depth": 2.5}, "whole number"),
        ("random_forest", {"learning_rate": 0.1}, "no setting 'learning_rate'"),
        ("ridge", {"alpha": 100}, "0.0001 to 10"),
        ("svm", {"kernel": "magic"}, "choose one of linear, rbf, poly, sigmoid"),
        ("svm", {"C": "big"}, "must be a number"),
        ("neural_network", {"epochs": 5}, "10 to 200"),
        ("neural_network", {"hidden_layers": [64, 0]}, "layer sizes"),
        ("gradient_boosting", {"learning_rate": 0.9}, "0.001 to 0.5"),
    ],
)
def test_refusals_name_what_is_allowed(model, params, message) -> None:
    with pytest.raises(TaskError) as info:
        spec_for(model_type=model, hyperparameters=params)
    assert message in info.value.user_message


def test_unknown_setting_lists_the_model_settings() -> None:
    with pytest.raises(TaskError) as info:
        spec_for(hyperparameters={"trees": 5})
    assert "n_estimators (10 to 500, default 100)" in info.value.user_message


def test_model_that_cannot_do_the_task_is_refused() -> None:
    with pytest.raises(TaskError, match="cannot do classification") as info:
        spec_for(model_type="lasso", learning_task="classification")
    assert "logistic" in info.value.user_message


def test_a_task_is_a_training_or_a_prediction() -> None:
    assert TrainRequest(user_id="u", model_type="neural_network").kind is JobKind.TRAIN
    with pytest.raises(ValidationError):
        TypeAdapter(Task).validate_python({"kind": JobKind.INGEST, "user_id": "u"})


def test_prediction_spec() -> None:
    spec = build_spec(PredictRequest(user_id="u1", model_id="model_0123abcd"), ml=ML, **IDS)
    assert isinstance(spec, PredictSpec) and spec.return_probabilities


def test_describe_lists_every_setting_of_a_model() -> None:
    text = describe_hyperparameters(ModelType.NEURAL_NETWORK, ML)
    for name in ("hidden_layers", "dropout", "epochs", "batch_size", "learning_rate"):
        assert name in text


@pytest.mark.parametrize(
    "ids",
    [
        {"job_id": "job_0123456789ab\n", "model_id": "model_0123abcd"},
        {"job_id": "job_0123456789ab", "model_id": "model_0123abcd\n"},
        {"job_id": "job_0123456789ab", "model_id": "model_../../etc"},
        {"job_id": "job_0123456789AB", "model_id": "model_0123abcd"},
    ],
)
def test_the_spec_refuses_ids_that_are_not_exactly_ours(ids) -> None:
    with pytest.raises(ValidationError):
        build_spec(PredictRequest(user_id="u1", model_id="model_0123abcd"), ml=ML, **ids)


def _summary(rows: int, **distinct: int) -> DatasetSummary:
    columns = tuple(
        ColumnSummary(name=name, kind="numeric", dtype="float64", missing=0, distinct=count, examples=())
        for name, count in distinct.items()
    )
    return DatasetSummary(rows=rows, columns=columns)


def test_a_classifier_on_a_quantity_is_refused_and_codes_stay_classes() -> None:
    summary = _summary(1000, price=1234, grade=12, flag=2)
    for fields in ({"model_type": "logistic"}, {"model_type": "random_forest", "learning_task": "classification"}):
        with pytest.raises(TaskError) as refused:
            build_spec(TrainRequest(user_id="u1", target_column="price", **fields), ml=ML, **IDS, summary=summary)
        assert refused.value.user_message.startswith(
            "'price' has 1,234 different numbers, so it is a quantity to predict, not classes; "
            "use a regression model such as linear, "
        )
        assert refused.value.user_message.endswith("or choose a column with a few classes.")
    for target in ("grade", "flag"):
        build_spec(TrainRequest(user_id="u1", target_column=target, model_type="logistic"), ml=ML, **IDS, summary=summary)
    # Left to the runner to infer: a random forest on price is a regression.
    build_spec(TrainRequest(user_id="u1", target_column="price", model_type="random_forest"), ml=ML, **IDS, summary=summary)


def test_an_id_target_is_refused_with_the_reason_its_ingest_found() -> None:
    counted = ColumnSummary(
        name="row", kind="numeric", dtype="int64", missing=0, distinct=1000, examples=(),
        id_reason="it numbers the rows one by one, like an ID",
    )
    summary = DatasetSummary(rows=1000, columns=(counted, *_summary(1000, price=1234).columns))
    with pytest.raises(TaskError) as refused:
        build_spec(TrainRequest(user_id="u1", target_column="row", model_type="random_forest"), ml=ML, **IDS, summary=summary)
    assert refused.value.user_message == "'row' cannot be predicted: it numbers the rows one by one, like an ID."
    build_spec(TrainRequest(user_id="u1", target_column="price", model_type="random_forest"), ml=ML, **IDS, summary=summary)


# A saved ridge model's record, as the runner writes metadata.json (the keys a retrain reads).
RIDGE_RECORD = {
    "model_type": "ridge",
    "task_type": "regression",
    "target_column": "price",
    "feature_columns": ["age", "size"],
    "hyperparameters": {"alpha": 3.0},
    "preprocessing": {"scaled": True, "scaler_type": "minmax", "missing_value_strategy": "median"},
    "split": {"method": "cross_validation", "test_size": 0.25, "cv_folds": 4, "seed": 7},
    "seed": 7,
}


def test_a_retrain_repeats_the_saved_models_settings_and_names_it_as_the_reference() -> None:
    table = _summary(50, age=40, size=45, price=50, city=3)
    task = retrain_task(user_id="u1", model_id="model_0a0b0c0d", metadata=RIDGE_RECORD, dataset_id="ds", summary=table)
    spec = build_spec(task, ml=ML, **IDS)
    assert isinstance(spec, TrainSpec) and spec.reference_model_id == "model_0a0b0c0d"
    assert (spec.model_type, spec.task_type) == (ModelType.RIDGE, "regression")
    assert (spec.target_column, spec.feature_columns) == ("price", ["age", "size"])
    assert spec.hyperparameters == {"alpha": 3.0}
    assert (spec.validation, spec.test_size, spec.cv_folds, spec.seed) == (Validation.CROSS_VALIDATION, 0.25, 4, 7)
    assert (spec.preprocessing.scaling, spec.preprocessing.missing_strategy) == (Scaling.MINMAX, "median")


def test_a_retrain_on_a_table_without_a_needed_column_is_refused_naming_it() -> None:
    with pytest.raises(TaskError) as refused:
        table = _summary(50, age=40, price=50)
        retrain_task(user_id="u1", model_id="model_0a0b0c0d", metadata=RIDGE_RECORD, dataset_id="ds", summary=table)
    assert refused.value.user_message.startswith("model_0a0b0c0d needs the column 'size', which your current table")
