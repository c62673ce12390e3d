"""Same data, same seed, same split: the runner's numbers equal an in-process fit's.

On scikit-learn's bundled datasets (no download). The reference splits and scores with
scikit-learn directly; only the pipeline under test comes from the runner.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import datasets, metrics
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from runner.pipeline import build_pipeline, prepare_training
from runner.spec import ModelType, TaskType, TrainSpec

SEED = 7
CASES = [
    pytest.param(dataset, model_type, params, id=f"{dataset}-{model_type.value}")
    for dataset, model_type, params in [
        ("diabetes", ModelType.LINEAR, {}),
        ("diabetes", ModelType.ELASTICNET, {"alpha": 0.1, "l1_ratio": 0.5, "max_iter": 5000}),
        ("diabetes", ModelType.GRADIENT_BOOSTING, {"n_estimators": 30, "max_depth": 3}),
        ("breast_cancer", ModelType.LOGISTIC, {"C": 1.0, "max_iter": 1000}),
        ("breast_cancer", ModelType.RANDOM_FOREST, {"n_estimators": 30, "max_depth": 8}),
        ("iris", ModelType.SVM, {"C": 1.0, "kernel": "rbf"}),
        ("wine", ModelType.GRADIENT_BOOSTING, {"n_estimators": 20, "max_depth": 2}),
        ("digits", ModelType.LOGISTIC, {"C": 0.5, "max_iter": 2000}),
    ]
]


def _frame(name: str):
    return getattr(datasets, f"load_{name}")(as_frame=True).frame


def _reference_metrics(task: TaskType, y_true, pipeline, X) -> dict[str, float]:
    predicted = pipeline.predict(X)
    if task is TaskType.REGRESSION:
        return {
            "mse": metrics.mean_squared_error(y_true, predicted),
            "mae": metrics.mean_absolute_error(y_true, predicted),
            "r2": metrics.r2_score(y_true, predicted),
            "explained_variance": metrics.explained_variance_score(y_true, predicted),
        }
    proba = pipeline.predict_proba(X)
    auc = (
        metrics.roc_auc_score(y_true, proba[:, 1])
        if proba.shape[1] == 2
        else metrics.roc_auc_score(y_true, proba, multi_class="ovr")
    )
    weighted = {"average": "weighted", "zero_division": 0}
    return {
        "accuracy": metrics.accuracy_score(y_true, predicted),
        "precision": metrics.precision_score(y_true, predicted, **weighted),
        "recall": metrics.recall_score(y_true, predicted, **weighted),
        "f1": metrics.f1_score(y_true, predicted, **weighted),
        "roc_auc": auc,
    }


@pytest.mark.parametrize(("dataset", "model_type", "params"), CASES)
def test_runner_metrics_equal_an_in_process_fit(jobs, dataset, model_type, params):
    frame = _frame(dataset)
    fields = {"target_column": "target", "model_type": model_type, "hyperparameters": params, "seed": SEED}
    trained = jobs.train(frame, **fields)
    assert trained.exit_code == 0, trained.result["error"]

    spec = TrainSpec(
        job_id=trained.result["job_id"], model_id=trained.result["model_id"], user_id="tester", **fields
    )
    data = prepare_training(spec=spec, frame=frame)
    stratify = data.y if data.task is TaskType.CLASSIFICATION else None
    X_train, X_test, y_train, y_test = train_test_split(
        data.X, data.y, test_size=spec.test_size, random_state=SEED, stratify=stratify
    )
    pipeline = build_pipeline(spec=spec, data=data).fit(X_train, y_train)

    reported = trained.result["train"]["metrics"]["test"]
    for name, value in _reference_metrics(data.task, y_test, pipeline, X_test).items():
        assert reported[name] == pytest.approx(value, rel=0, abs=1e-9), name
    assert trained.result["train"]["split"]["test_rows"] == len(X_test)

    predicted = jobs.predict(trained, X_test.reset_index(drop=True))
    assert predicted.exit_code == 0, predicted.result["error"]
    saved = predicted.predictions()["prediction"].to_numpy()
    in_process = pipeline.predict(X_test)
    if data.task is TaskType.REGRESSION:
        np.testing.assert_allclose(saved, in_process, rtol=0, atol=1e-9)
    else:
        assert (saved == in_process).all()


def test_linear_pipeline_is_the_plain_textbook_one(jobs):
    """Hand-built with scikit-learn alone: impute the mean, standardise, least squares."""
    frame = _frame("diabetes")
    trained = jobs.train(frame, target_column="target", model_type=ModelType.LINEAR, seed=SEED)
    X, y = frame.drop(columns="target"), frame["target"]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=SEED)
    reference = make_pipeline(SimpleImputer(), StandardScaler(), LinearRegression()).fit(X_train, y_train)
    assert trained.result["train"]["metrics"]["test"]["r2"] == pytest.approx(
        metrics.r2_score(y_test, reference.predict(X_test)), rel=0, abs=1e-9
    )
    assert trained.result["train"]["metrics"]["train"]["r2"] == pytest.approx(
        metrics.r2_score(y_train, reference.predict(X_train)), rel=0, abs=1e-9
    )
