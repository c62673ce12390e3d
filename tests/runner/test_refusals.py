"""Every refusal writes result.json with its code, one sentence, and the right exit code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import runner._train
from runner.spec import ErrorCode, ExitCode, ModelType, TaskType


def small_table(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    return pd.DataFrame({"x": x, "z": rng.normal(size=rows), "y": 3 * x + rng.normal(scale=0.1, size=rows)})


def assert_refused(job, code: ErrorCode, message: str, exit_code: int = ExitCode.BAD_INPUT) -> None:
    assert job.exit_code == exit_code
    assert job.result["ok"] is False
    assert job.result["error"]["code"] == code.value
    assert job.result["error"]["message"] == message
    assert not job.model_dir.exists()


def test_too_few_rows(jobs):
    job = jobs.train(small_table(7), target_column="y", model_type=ModelType.LINEAR)
    assert_refused(
        job,
        ErrorCode.INSUFFICIENT_DATA,
        "Not enough training data. Need at least 10 samples, but only 7 provided.",
    )
    assert job.result["error"]["details"] == {"min_samples": 10, "actual_samples": 7, "rows_dropped": {}}


def test_rows_without_target_count_against_the_minimum(jobs):
    table = small_table(12)
    table.loc[[0, 3, 5], "y"] = np.nan
    job = jobs.train(table, target_column="y", model_type=ModelType.LINEAR)
    assert_refused(
        job,
        ErrorCode.INSUFFICIENT_DATA,
        "Not enough training data. Need at least 10 samples, but only 9 provided "
        "(3 rows without a value to predict were removed).",
    )


def test_missing_target_column(jobs):
    job = jobs.train(small_table(20), target_column="price", model_type=ModelType.LINEAR)
    assert_refused(job, ErrorCode.MISSING_COLUMN, "Column 'price' not found in your data.")


def test_missing_feature_columns(jobs):
    job = jobs.train(
        small_table(20),
        target_column="y",
        feature_columns=["x", "size", "rooms"],
        model_type=ModelType.LINEAR,
    )
    assert_refused(job, ErrorCode.MISSING_COLUMN, "Columns 'size' and 'rooms' not found in your data.")


def test_target_without_variance(jobs):
    job = jobs.train(small_table(20).assign(y=5.0), target_column="y", model_type=ModelType.RIDGE)
    assert_refused(
        job,
        ErrorCode.NO_VARIANCE,
        "Target column has no variance (all values are the same). Cannot train a model.",
    )


def test_text_target_asked_to_regress(jobs, customers):
    job = jobs.train(
        customers, target_column="outcome", model_type=ModelType.RANDOM_FOREST, task_type=TaskType.REGRESSION
    )
    assert_refused(
        job,
        ErrorCode.NON_NUMERIC_TARGET,
        "Target column 'outcome' holds categories (e.g. 'no'), not numbers, so it cannot be "
        "predicted as a number; use classification, e.g. a logistic or random forest model.",
    )


def test_regression_only_model_on_text_target(jobs, customers):
    job = jobs.train(customers, target_column="outcome", model_type=ModelType.LASSO)
    assert job.result["error"]["code"] == ErrorCode.NON_NUMERIC_TARGET.value


def test_classifier_on_measured_numbers(jobs):
    job = jobs.train(small_table(30), target_column="y", model_type=ModelType.LOGISTIC)
    assert_refused(
        job,
        ErrorCode.UNSUPPORTED_MODEL,
        "Target column 'y' holds measured numbers, not categories, so a logistic model cannot "
        "classify it; use one of: linear, random forest, gradient boosting, hist gradient boosting, "
        "ridge, lasso, elastic net, polynomial, SVM, neural network.",
    )


def test_too_few_rows_of_a_class(jobs):
    table = small_table(30).assign(label=["a"] * 14 + ["b"] * 13 + ["c"] * 3)
    job = jobs.train(table, target_column="label", model_type=ModelType.LOGISTIC)
    assert_refused(
        job,
        ErrorCode.TOO_FEW_PER_CLASS,
        "Class 'c' has only 3 rows; every class needs at least 5 rows to train and test a classifier.",
    )


def test_no_usable_columns(jobs):
    table = small_table(20).assign(id=range(20), same="x")[["id", "same", "y"]]
    job = jobs.train(table, target_column="y", model_type=ModelType.LINEAR)
    assert_refused(
        job,
        ErrorCode.NO_USABLE_FEATURES,
        "None of the columns can be used to predict 'y': 'id' because it numbers the rows one "
        "by one, like an ID; 'same' because it has the same value in every row.",
    )


def test_unknown_hyperparameter(jobs):
    job = jobs.train(
        small_table(20),
        target_column="y",
        model_type=ModelType.RIDGE,
        hyperparameters={"alpha": 1.0, "n_estimators": 10},
    )
    assert_refused(
        job, ErrorCode.BAD_SPEC, "Unknown setting 'n_estimators' for a ridge model; allowed: 'alpha'."
    )


def test_invalid_job_file(jobs):
    job = jobs.run("train", '{"command": "train", "job_id": "nope"}', small_table(20))
    assert job.exit_code == ExitCode.BAD_INPUT
    assert job.result["error"]["code"] == ErrorCode.BAD_SPEC.value
    assert job.result["error"]["message"] == (
        "The job file is not valid: job_id: Value error, job_id must look like job_0123456789ab."
    )


def test_command_must_match_the_job_file(jobs, houses):
    trained = jobs.train(small_table(20), target_column="y", model_type=ModelType.LINEAR)
    job = jobs.run("predict", (trained.root / "input" / "job.json").read_text(), small_table(5))
    assert (
        job.result["error"]["message"] == "The job file is a train job, but the runner was asked to predict."
    )


def test_unreadable_and_empty_data(jobs, tmp_path):
    missing = jobs.run("train", _linear_job(), None)
    assert missing.result["error"]["code"] == ErrorCode.UNREADABLE_DATA.value
    empty = jobs.train(small_table(20).head(0), target_column="y", model_type=ModelType.LINEAR)
    assert_refused(empty, ErrorCode.EMPTY_DATA, "Your training data is empty: it has no rows or no columns.")


def _linear_job() -> str:
    from runner.spec import TrainSpec

    return TrainSpec(
        job_id="job_00000000abcd",
        model_id="model_0000abcd",
        user_id="u",
        target_column="y",
        model_type=ModelType.LINEAR,
    ).model_dump_json()


def test_unexpected_failure_still_writes_result(jobs, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(runner._train, "prepare_training", explode)
    job = jobs.train(small_table(20), target_column="y", model_type=ModelType.LINEAR)
    assert job.exit_code == 1
    assert job.result["error"] == {
        "code": "internal",
        "message": "Something went wrong inside the runner; the job's log has the details.",
        "details": {},
    }
    assert job.result["job_id"].startswith("job_") and "total" in job.result["timings"]


def test_failed_fit_is_a_training_failure(jobs, monkeypatch):
    from sklearn.linear_model import LinearRegression

    def fail(self, X, y):
        raise np.linalg.LinAlgError("SVD did not converge")

    monkeypatch.setattr(LinearRegression, "fit", fail)
    job = jobs.train(small_table(20), target_column="y", model_type=ModelType.LINEAR)
    assert_refused(
        job,
        ErrorCode.TRAINING_FAILED,
        "The model could not be trained on this data: SVD did not converge.",
        exit_code=ExitCode.TRAINING_FAILED,
    )


@pytest.fixture
def house_model(jobs, houses):
    trained = jobs.train(
        houses, target_column="price", model_type=ModelType.RIDGE, hyperparameters={"alpha": 1.0}
    )
    assert trained.exit_code == 0
    return trained


def test_prediction_data_missing_columns(jobs, houses, house_model):
    job = jobs.predict(house_model, houses.drop(columns=["price", "size", "city"]))
    assert_refused(
        job, ErrorCode.FEATURE_MISMATCH, "Prediction data is missing required features: 'size' and 'city'."
    )
    assert job.result["error"]["details"]["missing"] == ["size", "city"]


def test_prediction_flags_unseen_categories_and_far_values(jobs, houses, house_model):
    new = houses.drop(columns=["price"]).head(8).assign(owner="someone")
    new.loc[[0, 1, 2], "city"] = ["Paris", "Paris", "Oslo"]
    new.loc[4, "size"] = 5000.0
    new.loc[5, "rooms"] = None
    new.loc[6, "built_date"] = "not a date"
    new.loc[7, "size"] = np.inf  # a CSV's "inf"
    job = jobs.predict(house_model, new)
    assert job.exit_code == 0, job.result["error"]
    outcome = job.result["predict"]
    assert outcome["ignored_columns"] == ["owner"]
    flags = {(f["column"], f["issue"]): f for f in outcome["flags"]}
    assert flags["city", "unseen_category"]["count"] == 3
    assert flags["city", "unseen_category"]["examples"] == ["Paris", "Oslo"]
    assert flags["size", "out_of_range"]["count"] == 1
    assert flags["rooms", "missing"]["count"] == 1
    assert flags["built_date", "not_a_date"]["count"] == 1
    assert flags["size", "infinite"]["count"] == 1
    assert outcome["warnings"][0] == "Ignored 1 column(s) the model does not use: 'owner'."
    assert (
        "Column 'city': 3 row(s) have values not seen in training (e.g. 'Paris', 'Oslo'); "
        "they count as none of the known ones."
    ) in outcome["warnings"]
    assert np.isfinite(job.predictions()["prediction"]).all()


def test_prediction_with_a_different_model_mounted(jobs, houses, house_model):
    job = jobs.predict(house_model, houses.head(3), model_id="model_ffffffff")
    assert job.result["error"]["code"] == ErrorCode.BAD_SPEC.value


@pytest.mark.parametrize(
    ("column", "reason"),
    [
        (lambda rows: np.arange(1, rows + 1), "it numbers the rows one by one, like an ID"),
        (lambda rows: [f"c{n:04d}" for n in range(rows)], "it has a different value in every row, like an ID"),
    ],
)
def test_a_target_that_names_or_numbers_the_rows(jobs, column, reason):
    table = small_table(40)
    table["row"] = column(len(table))
    job = jobs.train(table, target_column="row", model_type=ModelType.RANDOM_FOREST)
    assert_refused(job, ErrorCode.ID_TARGET, f"'row' cannot be predicted: {reason}.")
