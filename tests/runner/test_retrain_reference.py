"""A retrain's training job scores the earlier model (mounted read-only) on the new model's test rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

from runner.spec import ErrorCode, ExitCode, TrainSpec

FEATURES = ["age", "size", "rooms"]


def _changed(houses: pd.DataFrame) -> pd.DataFrame:
    """The houses a year on: dearer, unevenly, and in another order."""
    rng = np.random.default_rng(7)
    later = houses.sample(frac=1.0, random_state=3).reset_index(drop=True)
    later["price"] = (later["price"] * rng.uniform(1.0, 1.3, len(later))).round(-2)
    return later


def test_on_the_same_table_the_earlier_model_scores_what_it_scored_when_trained(jobs, job_ids, houses) -> None:
    trained = jobs.train(houses, target_column="price", feature_columns=FEATURES, model_type="linear")
    assert trained.exit_code == ExitCode.OK
    again = _retrain(jobs, trained, job_ids(), houses, target_column="price", feature_columns=FEATURES, model_type="linear")
    assert again.exit_code == ExitCode.OK, again.result
    reference = again.result["train"]["reference"]
    before = trained.result["train"]["metrics"]["test"]
    assert reference["model_id"] == trained.result["model_id"]
    assert reference["test_rows"] == trained.result["train"]["split"]["test_rows"]
    for name in ("r2", "rmse", "mae"):
        assert reference["metrics"][name] == pytest.approx(before[name], rel=1e-9)
    # The new model is a model of its own; the earlier one's folder was only read.
    assert again.result["model_id"] != trained.result["model_id"]
    assert again.metadata["model_id"] == again.result["model_id"]


def test_on_a_changed_table_the_earlier_model_is_scored_on_the_new_test_rows(jobs, job_ids, houses) -> None:
    trained = jobs.train(houses, target_column="price", feature_columns=FEATURES, model_type="linear")
    later = _changed(houses)
    again = _retrain(jobs, trained, job_ids(), later, target_column="price", feature_columns=FEATURES, model_type="linear")
    assert again.exit_code == ExitCode.OK, again.result
    reference = again.result["train"]["reference"]
    # Recomputed apart: the earlier model's predictions (a prediction job) on the rows a seeded
    # 80/20 split of the new table holds out.
    predicted = jobs.predict(trained, later).predictions()["prediction"].to_numpy()
    _, test_rows = train_test_split(np.arange(len(later)), test_size=0.2, random_state=42)
    expected = r2_score(later["price"].to_numpy()[test_rows], predicted[test_rows])
    assert reference["test_rows"] == len(test_rows)
    assert reference["metrics"]["r2"] == pytest.approx(expected, rel=1e-9)
    assert reference["metrics"]["r2"] != pytest.approx(trained.result["train"]["metrics"]["test"]["r2"])


def test_a_classifier_is_compared_on_accuracy_too(jobs, job_ids, customers) -> None:
    fields = {"target_column": "outcome", "model_type": "logistic", "hyperparameters": {"C": 1.0, "max_iter": 1000}}
    trained = jobs.train(customers, **fields)
    again = _retrain(jobs, trained, job_ids(), customers, **fields)
    assert again.exit_code == ExitCode.OK, again.result
    reference = again.result["train"]["reference"]["metrics"]
    assert reference["accuracy"] == pytest.approx(trained.result["train"]["metrics"]["test"]["accuracy"])


def test_a_table_without_a_column_the_earlier_model_needs_is_refused_before_training(jobs, job_ids, houses) -> None:
    trained = jobs.train(houses, target_column="price", feature_columns=FEATURES, model_type="linear")
    again = _retrain(
        jobs, trained, job_ids(), houses.drop(columns=["rooms"]),
        target_column="price", feature_columns=["age", "size"], model_type="linear",
    )  # fmt: skip
    assert again.exit_code == ExitCode.BAD_INPUT
    assert again.result["error"]["code"] == ErrorCode.FEATURE_MISMATCH.value
    assert again.result["error"]["message"].startswith("The table has no column 'rooms', which model_")
    assert "training" not in [event.stage for event in again.events]
    assert not again.model_dir.exists()


def _retrain(jobs: Any, trained: Any, ids: dict[str, str], table: pd.DataFrame, **fields: Any) -> Any:
    """Run a training job (fresh `ids`) on `table` that names the `trained` job's model as the
    earlier one to compare with, its folder mounted as the job's model."""
    spec = TrainSpec(**ids, reference_model_id=trained.result["model_id"], **fields)
    return jobs.run("train", spec, table, model_dir=trained.model_dir)
