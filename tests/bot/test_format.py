"""The chat's texts, built from records and runner results (pure functions)."""

from __future__ import annotations

from datetime import datetime, timezone

from bot._format import (
    format_jobs,
    format_model,
    format_models,
    format_prediction,
    format_summary,
    format_training,
)
from runner.spec import PredictOutcome, TrainOutcome
from store import (
    ColumnKind,
    ColumnSummary,
    DataFormat,
    DatasetRecord,
    DatasetSummary,
    JobKind,
    JobRecord,
    JobState,
    ModelRecord,
)

WHEN = datetime(2025, 10, 1, 10, 30, tzinfo=timezone.utc)


def _regression_outcome(**extra) -> TrainOutcome:
    test = {"mse": 4.0, "rmse": 2.0, "mae": 1.5, "r2": 0.81, "explained_variance": 0.82}
    return TrainOutcome(
        model_type="linear",
        task_type="regression",
        target_column="price",
        feature_columns=["age", "size"],
        hyperparameters={},
        metrics={
            "train": {**test, "r2": 0.85},
            "test": test,
            "cross_validation": {
                "folds": 5,
                "metric": "r2",
                "scores": [0.8, 0.82, 0.79, 0.84, 0.8],
                "mean_r2": 0.81,
                "std_r2": 0.02,
                "mean_mse": 4.1,
                "std_mse": 0.3,
            },
            "baseline": {"mse": 20.0, "rmse": 4.47, "mae": 3.9, "r2": -0.01, "explained_variance": 0.0},
        },
        model_format="skops",
        training_time_seconds=0.4,
        **{"rows_used": 200, **extra},
    )


def test_training_result_has_the_plans_sections():
    text = format_training(
        _regression_outcome(
            verdicts=["The model is probably overfitting."],
            warnings=["Classes are imbalanced."],
            dropped_columns=[{"column": "id", "reason": "a different value in every row (an ID)"}],
            rows_dropped={"missing_target": 3},
        ),
        model_id="model_0123abcd",
    )
    assert text.startswith("🎯 Model Training Complete!")
    assert "Model ID: model_0123abcd" in text
    assert "Model Type: Linear Regression" in text
    assert "📊 Training Metrics:\n• MSE: 4.0000\n• RMSE: 2.0000\n• MAE: 1.5000\n• R2: 0.8500 (85.0%)" in text
    assert "📈 Test Metrics:" in text and "• R2: 0.8100 (81.0%)" in text
    assert "🔄 Cross-Validation (5 folds):\n• R2: 0.8100 ± 0.0200\n• MSE: 4.1000 ± 0.3000" in text
    assert "📏 Baseline (always predicting the average): R2 -0.0100, RMSE 4.4700, MAE 3.9000" in text
    assert "⚠️ The model is probably overfitting." in text
    assert "⚠️ Classes are imbalanced." in text
    assert "• id: a different value in every row (an ID)" in text
    assert "Rows left out (missing target): 3" in text
    assert "Settings:" not in text  # a linear model has none


def test_training_result_says_the_rows_trained_and_tested_on():
    held_out = {"method": "hold_out", "test_size": 0.2, "train_rows": 353, "test_rows": 89, "stratified": False, "seed": 42}
    outcome = _regression_outcome(rows_used=442, split=held_out)
    assert "Rows: 442 (353 trained on, 89 held out for testing)" in format_training(outcome, model_id="model_0123abcd")
    folds = {**held_out, "method": "cross_validation", "cv_folds": 5}
    text = format_training(_regression_outcome(rows_used=442, split=folds), model_id="model_0123abcd")
    assert "Rows: 442 (353 trained on, 89 held out for testing; 5-fold cross-validation on the training rows)" in text
    assert "Rows: 200\n" in format_training(_regression_outcome(), model_id="model_0123abcd")  # no split reported


def test_training_result_says_the_settings_used_and_spreads_read_like_their_means():
    outcome = _regression_outcome().model_copy(
        update={
            "hyperparameters": {"alpha": 0.5},
            "metrics": {
                "test": {"rmse": 19_878.32},
                "cross_validation": {"folds": 5, "mean_rmse": 34_134.98, "std_rmse": 9_761.0151},
            },
        }
    )
    text = format_training(outcome, model_id="model_0123abcd")
    assert "Settings: alpha=0.5" in text
    assert "• RMSE: 34,134.98 ± 9,761.02" in text
    assert text.endswith("Use this model ID for predictions:\n/predict model_0123abcd")


def test_classification_metrics_skip_the_confusion_matrix_and_undefined_values():
    metrics = {
        "accuracy": 0.9,
        "precision": 0.91,
        "recall": 0.9,
        "f1": 0.895,
        "roc_auc": None,
        "confusion_matrix": {"labels": ["no", "yes"], "matrix": [[5, 1], [0, 4]]},
    }
    outcome = TrainOutcome(
        model_type="random_forest",
        task_type="classification",
        target_column="outcome",
        feature_columns=["a"],
        hyperparameters={"n_estimators": 100},
        metrics={"train": metrics, "test": metrics, "baseline": {**metrics, "accuracy": 0.6, "f1": 0.45}},
        rows_used=50,
        model_format="skops",
        training_time_seconds=0.1,
        classes=["no", "yes"],
    )
    text = format_training(outcome, model_id="model_0123abcd")
    assert "• Accuracy: 0.9000 (90.0%)" in text
    assert "• F1: 0.8950 (89.5%)" in text
    assert "ROC_AUC" not in text and "matrix" not in text.lower()
    assert "Cross-Validation" not in text
    assert "📏 Baseline (always the most common class): Accuracy 0.6000, F1 0.4500" in text


def test_prediction_result_shows_five_rows_then_the_count():
    preview = [{"prediction": "yes", "probability_no": 0.2, "probability_yes": 0.8} for _ in range(7)]
    outcome = PredictOutcome(
        model_type="random_forest",
        task_type="classification",
        rows=7,
        preview=preview,
        warnings=["Column 'city': 2 rows have a category the model never saw."],
        ignored_columns=["notes"],
        prediction_column="prediction",
        probability_columns=["probability_no", "probability_yes"],
        feature_importance={"a": 0.1, "b": -0.7, "c": 0.05, "d": 0.2, "e": 0.01, "f": 0.3},
        classes=["no", "yes"],
    )
    text = format_prediction(outcome, model_id="model_0123abcd")
    assert text.startswith("🔮 Predictions Generated")
    assert "Model: model_0123abcd (Random Forest)" in text
    assert "Row 5: Class yes (confidence: 80%)" in text and "Row 6:" not in text
    assert "... and 2 more" in text
    assert "2 rows have a category the model never saw" in text
    # The five largest by size, the sign kept.
    assert "📊 Feature Importance:\n• b: -0.7000\n• f: 0.3000\n• d: 0.2000\n• a: 0.1000\n• c: 0.0500" in text


def test_regression_predictions_are_numbers():
    outcome = PredictOutcome(
        model_type="linear",
        task_type="regression",
        rows=2,
        # The input had its own "prediction" column, so the runner chose another name.
        preview=[{"prediction_1": 1.5}, {"prediction_1": 2.25}],
        prediction_column="prediction_1",
        probability_columns=[],
    )
    text = format_prediction(outcome, model_id="model_0123abcd")
    assert "Row 1: 1.5000\nRow 2: 2.2500" in text
    assert "more" not in text


def test_classes_without_probabilities_read_as_classes():
    outcome = PredictOutcome(
        model_type="logistic",
        task_type="classification",
        rows=2,
        preview=[{"prediction": 1}, {"prediction": 0}],
        prediction_column="prediction",
        probability_columns=[],
        classes=[0, 1],
    )
    text = format_prediction(outcome, model_id="model_0123abcd")
    assert "Row 1: Class 1\nRow 2: Class 0" in text


def _summary_record(columns: int = 3, **extra) -> DatasetRecord:
    cols = tuple(
        ColumnSummary(
            name=f"col{i}", kind=ColumnKind.NUMERIC, dtype="float64", missing=i, distinct=10, examples=("1", "2", "3")
        )
        for i in range(columns)
    )
    return DatasetRecord(
        dataset_id="ds_0123456789ab",
        user_id="u1",
        filename="houses.csv",
        file_format=DataFormat.CSV,
        content_sha256="0" * 64,
        size_bytes=1000,
        summary=DatasetSummary(rows=1234, columns=cols, notes=("Column 2 had no name; called it 'column_2'.",)),
        created_at=WHEN,
        **extra,
    )


def test_summary_lists_columns_with_kinds_missing_counts_and_a_hint():
    text = format_summary(_summary_record())
    assert text.startswith("📋 houses.csv: 1,234 rows, 3 columns")
    assert "• col0 — numeric (e.g. 1, 2, 3)" in text
    assert "• col2 — numeric, 2 missing (e.g. 1, 2, 3)" in text
    assert "ℹ️ Column 2 had no name" in text
    assert "'train a random forest to predict col2'" in text


def test_summary_of_a_wide_table_is_cut_short():
    text = format_summary(_summary_record(columns=40, already_stored=True))
    assert "col24" in text and "col25" not in text
    assert "... and 15 more columns" in text
    assert "You sent this table before" in text


def _model(model_id: str, **extra) -> ModelRecord:
    fields = dict(
        model_id=model_id,
        user_id="u1",
        job_id="job_0123456789ab",
        model_type="random_forest",
        task_type="classification",
        target_column="outcome",
        feature_columns=("a", "b"),
        metric_name="accuracy",
        metric_value=0.875,
        metadata={
            "hyperparameters": {"n_estimators": 100},
            "metrics": {"test": {"accuracy": 0.875, "f1": 0.86}},
            "training_data_shape": [80, 3],
            "feature_importance": {"a": 0.7, "b": 0.3},
        },
        size_bytes=1000,
        created_at=WHEN,
    )
    return ModelRecord(**{**fields, **extra})


def test_models_list_and_details():
    listing = format_models([_model("model_0000000b"), _model("model_0000000a", metric_name=None, metric_value=None)])
    assert "• model_0000000b — Random Forest, target outcome, Accuracy 0.8750, 2025-10-01 10:30" in listing
    assert "model_0000000a — Random Forest, target outcome, no test metric" in listing
    assert format_models([]).startswith("You have no models yet")

    details = format_model(_model("model_0000000b"))
    assert "Type: Random Forest (classification)" in details
    assert "Training data: 80 rows × 3 columns\n" in details
    split = {"method": "hold_out", "test_size": 0.2, "train_rows": 64, "test_rows": 16, "stratified": True, "seed": 42}
    metadata = {**_model("model_0000000b").metadata, "split": split}
    split_details = format_model(_model("model_0000000b", metadata=metadata))
    assert "Training data: 80 rows × 3 columns (64 trained on, 16 held out for testing)" in split_details
    assert "Settings: n_estimators=100" in details
    assert "• Accuracy: 0.8750 (87.5%)" in details
    assert "• a: 0.7000" in details


def test_jobs_list_shows_state_and_why_a_job_failed():
    def job(job_id: str, state: JobState, message: str | None) -> JobRecord:
        return JobRecord(
            job_id=job_id, user_id="u1", kind=JobKind.TRAIN, state=state, spec={}, dataset_id=None,
            model_id="model_0123abcd", instance_id="i", created_at=WHEN, started_at=None, finished_at=None,
            queue_wait_seconds=None, container_create_seconds=None, container_start_seconds=None,
            run_seconds=None, peak_memory_mb=None, container_id=None, image_id=None, exit_reason=None,
            exit_code=None, error_code=None, user_message=message, log_tail=None, result=None,
        )

    text = format_jobs([
        job("job_00000000000b", JobState.FAILED, "Training took too long and was stopped."),
        job("job_00000000000a", JobState.SUCCEEDED, None),
    ])
    assert "• job_00000000000b — train model_0123abcd: failed, 2025-10-01 10:30\n  Training took too long" in text
    assert "• job_00000000000a — train model_0123abcd: succeeded" in text
    assert format_jobs([]) == "You have no jobs yet."
