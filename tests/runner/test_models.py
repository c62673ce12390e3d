"""Every scikit-learn model of the catalogue trains and predicts through the runner's CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from runner._inference import TABLE_MODELS
from runner.spec import MODEL_TASKS, ModelType, TaskType

# Small settings keep the suite fast; the host normally sends the configured defaults.
FAST = {
    ModelType.RANDOM_FOREST: {"n_estimators": 20, "max_depth": 6},
    ModelType.GRADIENT_BOOSTING: {"n_estimators": 30, "learning_rate": 0.1, "max_depth": 3},
    ModelType.HIST_GRADIENT_BOOSTING: {"max_iter": 30, "learning_rate": 0.1},
    ModelType.POLYNOMIAL: {"degree": 2, "alpha": 1.0},
    ModelType.RIDGE: {"alpha": 1.0},
    ModelType.LASSO: {"alpha": 10.0, "max_iter": 5000},
    ModelType.ELASTICNET: {"alpha": 0.01, "l1_ratio": 0.5, "max_iter": 5000},
    ModelType.LOGISTIC: {"C": 1.0, "max_iter": 1000},
    ModelType.SVM: {"C": 10.0, "kernel": "rbf"},
}
SKLEARN_MODELS = [
    (model, task)
    for model, tasks in MODEL_TASKS.items()
    if model is not ModelType.NEURAL_NETWORK
    for task in sorted(tasks, key=lambda t: t.value)
]
TRAIN_STAGES = [
    "loading", "validating", "preprocessing", "training", "evaluating", "inference", "saving", "saved", "plotting"
]
PLOTS = {
    TaskType.REGRESSION: {"predicted_vs_actual.png", "residuals.png", "feature_importance.png"},
    TaskType.CLASSIFICATION: {"confusion_matrix.png", "roc_curve.png", "feature_importance.png"},
}


@pytest.mark.parametrize(("model_type", "task"), SKLEARN_MODELS, ids=lambda v: v.value)
def test_model_trains_and_predicts(jobs, houses, customers, model_type, task):
    regression = task is TaskType.REGRESSION
    frame, target = (houses, "price") if regression else (customers, "outcome")
    trained = jobs.train(
        frame,
        target_column=target,
        model_type=model_type,
        task_type=task,
        hyperparameters=FAST.get(model_type, {}),
    )
    assert trained.exit_code == 0, trained.result["error"]
    outcome = trained.result["train"]
    assert outcome["task_type"] == task.value
    stages = [s for s in TRAIN_STAGES if s != "inference" or model_type in TABLE_MODELS]
    assert list(dict.fromkeys(e.stage for e in trained.events)) == stages
    percents = [e.percent for e in trained.events]
    assert percents == sorted(percents) and percents[-1] == 100

    test, baseline = outcome["metrics"]["test"], outcome["metrics"]["baseline"]
    if regression:
        assert set(test) == {"mse", "rmse", "mae", "r2", "explained_variance"}
        assert test["r2"] > 0.7 and baseline["r2"] < 0.05
        assert test["rmse"] == pytest.approx(np.sqrt(test["mse"]))
    else:
        assert test["accuracy"] > baseline["accuracy"]
        assert 0.5 < test["roc_auc"] <= 1
        assert test["confusion_matrix"]["labels"] == ["no", "yes"]
        assert np.sum(test["confusion_matrix"]["matrix"]) == outcome["split"]["test_rows"]
        assert outcome["classes"] == ["no", "yes"]
    assert set(outcome["plots"]) == PLOTS[task]
    assert all((trained.output / "plots" / name).stat().st_size > 10_000 for name in outcome["plots"])
    importance = outcome["feature_importance"]
    assert set(importance) == set(outcome["feature_columns"]) and sum(importance.values()) == pytest.approx(
        1, abs=1e-4
    )

    metadata = trained.metadata
    assert metadata["model_format"] == outcome["model_format"] == "skops"
    assert (trained.model_dir / metadata["files"]["model"]["file"]).is_file()

    new_rows = frame.drop(columns=[target]).tail(12).reset_index(drop=True)
    predicted = jobs.predict(trained, new_rows)
    assert predicted.exit_code == 0, predicted.result["error"]
    table = predicted.predictions()
    assert len(table) == 12 and list(table.columns[: new_rows.shape[1]]) == list(new_rows.columns)
    preview = predicted.result["predict"]["preview"]
    assert len(preview) == 5
    if regression:
        assert table["prediction"].dtype == float
        assert [row["prediction"] for row in preview] == pytest.approx(table["prediction"].head(5).tolist())
    else:
        assert set(table["prediction"]) <= {"no", "yes"}
        probabilities = table[["probability_no", "probability_yes"]].to_numpy()
        assert np.allclose(probabilities.sum(axis=1), 1)
        assert set(preview[0]) == {"prediction", "probability_no", "probability_yes"}
    as_csv = pd.read_csv(predicted.output / "predictions.csv")
    assert list(as_csv.columns) == list(table.columns) and len(as_csv) == 12


@pytest.mark.parametrize(
    ("target", "model_type", "metric"),
    [("price", ModelType.RIDGE, "r2"), ("outcome", ModelType.LOGISTIC, "accuracy")],
)
def test_cross_validation_reports_every_fold(jobs, houses, customers, target, model_type, metric):
    frame = houses if target == "price" else customers
    trained = jobs.train(
        frame, target_column=target, model_type=model_type, validation="cross_validation", cv_folds=4
    )
    assert trained.exit_code == 0, trained.result["error"]
    cv = trained.result["train"]["metrics"]["cross_validation"]
    assert cv["folds"] == 4 and cv["metric"] == metric and len(cv["scores"]) == 4
    assert cv[f"mean_{metric}"] == pytest.approx(np.mean(cv["scores"]))
    assert cv[f"std_{metric}"] == pytest.approx(np.std(cv["scores"]))
    fold_messages = [e.message for e in trained.events if e.stage == "training" and "fold" in e.message]
    assert fold_messages == [f"Cross-validation fold {n} of 4" for n in range(1, 5)]
    assert trained.metadata["split"]["cv_folds"] == 4


def test_task_is_inferred_from_the_target(jobs, customers):
    numeric_labels = customers.assign(outcome=(customers["outcome"] == "yes").astype(int))
    trained = jobs.train(
        numeric_labels,
        target_column="outcome",
        model_type=ModelType.RANDOM_FOREST,
        hyperparameters=FAST[ModelType.RANDOM_FOREST],
    )
    assert trained.result["train"]["task_type"] == "classification"
    assert trained.result["train"]["classes"] == [0, 1]
    as_numbers = jobs.train(
        numeric_labels,
        target_column="outcome",
        model_type=ModelType.RANDOM_FOREST,
        task_type=TaskType.REGRESSION,
        hyperparameters=FAST[ModelType.RANDOM_FOREST],
    )
    assert as_numbers.result["train"]["task_type"] == "regression"
