"""The runner in its image, in a locked-down container: scikit-learn models and neural networks.

One container per job. TensorFlow exists only in the image, so neural networks are tested here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

from runner.pipeline import build_pipeline, prepare_training
from runner.spec import ModelType, PredictSpec, TrainSpec

pytestmark = pytest.mark.docker

# Few epochs keep the suite fast; early stopping may end sooner still.
NETWORK = {
    "hidden_layers": [16, 8],
    "dropout": 0.1,
    "epochs": 40,
    "batch_size": 16,
    "learning_rate": 0.01,
    "patience": 5,
}


def _train_and_predict(container_job, job_ids, frame: pd.DataFrame, **fields):
    train_job = TrainSpec(**job_ids(), **fields)
    trained = container_job("train", train_job, frame)
    assert trained.exit_code == 0, trained.result["error"]
    new_rows = frame.drop(columns=[fields["target_column"]]).head(9)
    predict_job = PredictSpec(**{**job_ids(), "model_id": train_job.model_id})
    predicted = container_job("predict", predict_job, new_rows, model_dir=trained.model_dir)
    assert predicted.exit_code == 0, predicted.result["error"]
    assert len(predicted.predictions()) == 9
    return train_job, trained, predicted, new_rows


def test_sklearn_regression_matches_an_in_process_fit(container_job, job_ids, houses):
    job, trained, predicted, new_rows = _train_and_predict(
        container_job,
        job_ids,
        houses,
        target_column="price",
        model_type=ModelType.GRADIENT_BOOSTING,
        hyperparameters={"n_estimators": 40, "max_depth": 3},
    )
    assert trained.result["train"]["model_format"] == "skops"
    data = prepare_training(spec=job, frame=houses)
    X_train, X_test, y_train, y_test = train_test_split(
        data.X, data.y, test_size=job.test_size, random_state=job.seed
    )
    pipeline = build_pipeline(spec=job, data=data).fit(X_train, y_train)
    assert trained.result["train"]["metrics"]["test"]["r2"] == pytest.approx(
        r2_score(y_test, pipeline.predict(X_test)), rel=0, abs=1e-9
    )
    np.testing.assert_allclose(predicted.predictions()["prediction"], pipeline.predict(new_rows), rtol=1e-12)


def test_sklearn_classification_with_probabilities(container_job, job_ids, customers):
    _, trained, predicted, _ = _train_and_predict(
        container_job,
        job_ids,
        customers,
        target_column="outcome",
        model_type=ModelType.SVM,
        hyperparameters={"C": 1.0, "kernel": "rbf"},
    )
    assert set(trained.result["train"]["plots"]) >= {"confusion_matrix.png", "roc_curve.png"}
    table = predicted.predictions()
    assert set(table["prediction"]) <= {"no", "yes"}
    assert np.allclose(table["probability_no"] + table["probability_yes"], 1)


def test_neural_network_regression(container_job, job_ids, houses):
    _, trained, predicted, _ = _train_and_predict(
        container_job,
        job_ids,
        houses,
        target_column="price",
        model_type=ModelType.NEURAL_NETWORK,
        hyperparameters=NETWORK,
    )
    outcome = trained.result["train"]
    assert outcome["model_format"] == "keras+skops"
    assert outcome["metrics"]["test"]["r2"] > 0.5
    assert "learning_curve.png" in outcome["plots"]
    epochs = len(outcome["history"]["loss"])
    assert 1 <= epochs <= NETWORK["epochs"] and len(outcome["history"]["val_loss"]) == epochs
    epoch_events = [e for e in trained.events if e.message.startswith("Epoch ")]
    assert len(epoch_events) == epochs
    assert outcome["feature_importance_method"] == "permutation"
    assert set(outcome["feature_importance"]) == set(outcome["feature_columns"])
    assert np.isfinite(predicted.predictions()["prediction"]).all()
    assert (trained.model_dir / "network.keras").is_file()
    assert "tensorflow-cpu" in trained.metadata["library_versions"]


def test_neural_network_classification_keeps_the_users_labels(container_job, job_ids):
    iris = datasets.load_iris(as_frame=True)
    frame = iris.frame.assign(target=iris.target_names[iris.target])
    _, trained, predicted, _ = _train_and_predict(
        container_job,
        job_ids,
        frame,
        target_column="target",
        model_type=ModelType.NEURAL_NETWORK,
        hyperparameters=NETWORK,
    )
    outcome = trained.result["train"]
    assert outcome["task_type"] == "classification"
    assert outcome["classes"] == ["setosa", "versicolor", "virginica"]
    assert outcome["metrics"]["test"]["accuracy"] > 0.7
    table = predicted.predictions()
    assert set(table["prediction"]) <= set(outcome["classes"])
    probabilities = table[[f"probability_{c}" for c in outcome["classes"]]].to_numpy()
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert predicted.result["predict"]["preview"][0]["prediction"] in outcome["classes"]
