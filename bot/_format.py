"""Plain-text messages of the chat: table summaries, results, model lists. Pure functions.

Texts are plain (no Markdown/HTML), so column names are shown exactly as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

# model_label is the catalogue's own, exported here with the other labels of the replies.
from runner.spec import PredictOutcome, TaskType, TrainOutcome, TrainSplit, model_label
from store import DatasetRecord, JobKind, JobRecord, ModelRecord, human_size

__all__ = [
    "HELP_INTRO",
    "clip",
    "format_datasets",
    "format_jobs",
    "format_model",
    "format_models",
    "format_prediction",
    "format_retrain",
    "format_summary",
    "format_training",
    "metric_label",
    "model_label",
]

HELP_INTRO = """🤖 I train machine-learning models on your tables and use them for predictions.

1. Send me a table (CSV, Excel .xlsx or Parquet).
2. Tell me what to do in your own words, for example:
   • Train a linear regression model to predict price using age and size
   • Train a random forest to classify outcome using all features
   • Use model model_1a2b3c4d to make predictions (on the table you sent last)
   • Correlation between price and size · correlations with price
   • Plot price against size · histogram of age · box plot of price by city · pair plot of a, b, c
   • Which model is best for price? · ridge vs lasso for price · tune the random forest for price"""

# Shown in a summary; the rest is counted ("... and 12 more columns").
_SUMMARY_COLUMNS = 25
_LIST_ITEMS = 20
_JOB_ITEMS = 10
_NAME_WIDTH = 60

_METRIC_LABELS = {
    "r2": "R2",
    "mse": "MSE",
    "rmse": "RMSE",
    "mae": "MAE",
    "explained_variance": "Explained variance",
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "roc_auc": "ROC_AUC",
}
# Shares, shown with a percentage as well.
_RATIO_METRICS = frozenset({"r2", "accuracy", "precision", "recall", "f1", "roc_auc"})

_PREDICTION_ROWS = 5
# Kinds of column a model can predict, for the example in a table's summary.
_TARGET_KINDS = frozenset({"numeric", "categorical", "boolean"})

# What a model that ignores the features scores, and which of its figures to show.
_BASELINES = {
    TaskType.REGRESSION: ("always predicting the average", ("r2", "rmse", "mae")),
    TaskType.CLASSIFICATION: ("always the most common class", ("accuracy", "f1")),
}


def metric_label(name: str) -> str:
    """'r2' -> 'R2', 'f1' -> 'F1', 'roc_auc' -> 'ROC_AUC'."""
    return _METRIC_LABELS.get(name, name.replace("_", " ").capitalize())


def format_summary(record: DatasetRecord) -> str:
    """The answer to an upload and to /data: rows, columns with kinds, missing counts, examples."""
    summary = record.summary
    columns = summary.columns
    lines = [
        f"📋 {clip(record.filename)}: {summary.rows:,} rows, {len(columns)} columns",
        "",
    ]
    for column in columns[:_SUMMARY_COLUMNS]:
        facts = [column.kind.value]
        if column.missing:
            facts.append(f"{column.missing:,} missing")
        examples = ", ".join(clip(e, 20) for e in column.examples[:3])
        tail = f" (e.g. {examples})" if examples else ""
        lines.append(f"• {clip(column.name)} — {', '.join(facts)}{tail}")
    if len(columns) > _SUMMARY_COLUMNS:
        lines.append(f"... and {len(columns) - _SUMMARY_COLUMNS} more columns")
    if summary.notes:
        lines += ["", *(f"ℹ️ {note}" for note in summary.notes)]
    if record.already_stored:
        lines += ["", "ℹ️ You sent this table before; I use the copy I kept."]
    if columns:
        targets = [c for c in columns if c.kind.value in _TARGET_KINDS] or list(columns)
        example_target = clip(targets[-1].name)
        lines += [
            "",
            "Now tell me what to predict, e.g. "
            f"'train a random forest to predict {example_target}', "
            "or use a saved model: 'use model <id> to make predictions'.",
        ]
    return "\n".join(lines)


def format_training(outcome: TrainOutcome, *, model_id: str) -> str:
    """The plan's training result: metrics, baseline, verdicts, left-out columns, the model id."""
    metrics = outcome.metrics
    lines = [
        "🎯 Model Training Complete!",
        "",
        f"Model ID: {model_id}",
        f"Model Type: {model_label(outcome.model_type.value)} ({outcome.task_type.value})",
        f"Target: {clip(outcome.target_column)}",
        f"Features: {_names(outcome.feature_columns)}",
        f"Rows: {outcome.rows_used:,}{_split_text(outcome.split)}",
    ]
    if outcome.hyperparameters:
        lines.append(_settings_line(outcome.hyperparameters))
    for why, count in outcome.rows_dropped.items():
        if count:
            lines.append(f"Rows left out ({why.replace('_', ' ')}): {count:,}")
    for title, key in (("📊 Training Metrics", "train"), ("📈 Test Metrics", "test")):
        if metrics.get(key):
            lines += ["", f"{title}:", *_metric_lines(metrics[key])]
    if cv := metrics.get("cross_validation"):
        lines += ["", _cv_title(cv), *_cv_lines(cv)]
    if baseline := metrics.get("baseline"):
        lines += ["", _baseline_line(baseline, outcome.task_type)]
    if outcome.verdicts or outcome.warnings:
        lines.append("")
        lines += [f"⚠️ {v}" for v in outcome.verdicts]
        lines += [f"⚠️ {w}" for w in outcome.warnings]
    if outcome.dropped_columns:
        lines += ["", "Columns left out:"]
        lines += [f"• {clip(d.column)}: {d.reason}" for d in outcome.dropped_columns]
    lines += [
        "",
        "✅ Model saved and ready for predictions!",
        "",
        f"Use this model ID for predictions:\n/predict {model_id}",
    ]
    return "\n".join(lines)


def format_retrain(outcome: TrainOutcome, *, model_id: str) -> str | None:
    """A retrain's comparison: the earlier and the new model's main metrics on the same test rows."""
    reference = outcome.reference
    if reference is None:
        return None
    old, new = reference.metrics, outcome.metrics.get("test") or {}
    lines = [
        f"🔁 Old vs new on the same test rows ({reference.test_rows:,} rows of the current table):",
    ]
    for name in _BASELINES[outcome.task_type][1]:
        if _is_number(old.get(name)) and _is_number(new.get(name)):
            lines.append(
                f"• {metric_label(name)}: old {reference.model_id} {_metric_value(name, old[name])} → "
                f"new {model_id} {_metric_value(name, new[name])}"
            )
    lines += ["", f"The new model is {model_id}; the old one, {reference.model_id}, is kept."]
    return "\n".join(lines)


def format_prediction(outcome: PredictOutcome, *, model_id: str) -> str:
    """The plan's prediction result: the first rows, warnings, feature importance."""
    lines = [
        "🔮 Predictions Generated",
        "",
        f"Model: {model_id} ({model_label(outcome.model_type.value)})",
        "",
        f"Results (showing first {min(_PREDICTION_ROWS, outcome.rows)} of {outcome.rows:,}):",
    ]
    for number, row in enumerate(outcome.preview[:_PREDICTION_ROWS], start=1):
        text = _prediction_text(row, outcome.prediction_column, outcome.probability_columns, outcome.task_type)
        lines.append(f"Row {number}: {text}")
    if outcome.rows > _PREDICTION_ROWS:
        lines.append(f"... and {outcome.rows - _PREDICTION_ROWS:,} more")
    if outcome.warnings:
        lines += ["", "⚠️ About your new data:", *(f"• {w}" for w in outcome.warnings)]
    if outcome.feature_importance:
        lines += ["", "📊 Feature Importance:", *_importance_lines(outcome.feature_importance)]
    lines += ["", "📎 All predictions are in the CSV file below."]
    return "\n".join(lines)


def format_datasets(datasets: Sequence[DatasetRecord], *, current_id: str | None) -> str:
    """/datasets: newest first with file name, shape, size and date; which one is current."""
    if not datasets:
        return "You have no tables yet. Send me one: a CSV, Excel (.xlsx) or Parquet file."
    lines = [f"📚 Your tables ({len(datasets)}), newest first:", ""]
    for dataset in datasets[:_LIST_ITEMS]:
        summary = dataset.summary
        line = (
            f"• {dataset.dataset_id} — {clip(dataset.filename, 30)}: {summary.rows:,} rows × "
            f"{len(summary.columns)} columns, {human_size(dataset.size_bytes)}, {_date(dataset.created_at)}"
        )
        lines.append(line + (" ← current" if dataset.dataset_id == current_id else ""))
    if len(datasets) > _LIST_ITEMS:
        lines.append(f"... and {len(datasets) - _LIST_ITEMS} older ones")
    lines += ["", "Delete one: /dataset delete ID · Add one: send me a file"]
    return "\n".join(lines)


def format_models(models: Sequence[ModelRecord]) -> str:
    """/models: newest first with type, target, main metric and date."""
    if not models:
        return "You have no models yet. Send a table and ask me to train one."
    lines = [f"🗂 Your models ({len(models)}), newest first:", ""]
    for model in models[:_LIST_ITEMS]:
        lines.append(
            f"• {model.model_id} — {model_label(model.model_type)}, "
            f"target {clip(model.target_column, 30)}, {_main_metric(model)}, {_date(model.created_at)}"
        )
    if len(models) > _LIST_ITEMS:
        lines.append(f"... and {len(models) - _LIST_ITEMS} older ones")
    lines += ["", "Details: /model ID · Predictions: /predict ID · Delete: /delete ID"]
    return "\n".join(lines)


def format_model(model: ModelRecord) -> str:
    """/model ID: what the model's metadata says (the model file itself is never loaded here).

    `model` comes from `Store.get_model`: a listed record has no metadata.
    """
    meta = model.metadata or {}
    lines = [
        f"🧠 Model {model.model_id}",
        "",
        f"Type: {model_label(model.model_type)} ({model.task_type})",
        f"Target: {clip(model.target_column)}",
        f"Features: {_names(model.feature_columns)}",
        f"Trained: {_date(model.created_at)}",
        f"Main metric: {_main_metric(model)}",
    ]
    if shape := meta.get("training_data_shape"):
        split = TrainSplit.model_validate(meta["split"]) if meta.get("split") else None
        lines.append(f"Training data: {shape[0]:,} rows × {shape[1]} columns{_split_text(split)}")
    if hyper := meta.get("hyperparameters"):
        lines.append(_settings_line(hyper))
    if prep := meta.get("preprocessing"):
        shown = [f"{k}={v}" for k, v in prep.items() if isinstance(v, (str, int, float, bool))]
        if shown:
            lines.append("Preprocessing: " + ", ".join(shown))
    metrics = meta.get("metrics") or {}
    if metrics.get("test"):
        lines += ["", "📈 Test Metrics:", *_metric_lines(metrics["test"])]
    if importance := meta.get("feature_importance"):
        lines += ["", "📊 Feature Importance:", *_importance_lines(importance)]
    if meta.get("data_sha256"):
        lines += [
            "",
            "🔁 To reproduce:",
            f"Data SHA-256: {meta['data_sha256']}",
            f"Runner image: {meta.get('runner_image') or 'not recorded'}",
            f"Seed: {meta.get('seed')}",
        ]
    lines += ["", f"Predictions: /predict {model.model_id} · Delete: /delete {model.model_id}"]
    return "\n".join(lines)


def format_jobs(jobs: Sequence[JobRecord]) -> str:
    """/jobs: recent jobs with their state."""
    if not jobs:
        return "You have no jobs yet."
    lines = ["🧾 Your recent jobs:", ""]
    for job in jobs[:_JOB_ITEMS]:
        if job.kind == JobKind.INGEST:
            what = f"reading {clip(str(job.spec.get('filename', 'a file')))}"
        else:
            what = f"{job.kind.value} {job.model_id}" if job.model_id else job.kind.value
        line = f"• {job.job_id} — {what}: {job.state.value}, {_date(job.created_at)}"
        if job.user_message and job.state.finished and job.state.value != "succeeded":
            line += f"\n  {job.user_message}"
        lines.append(line)
    return "\n".join(lines)


def _split_text(split: TrainSplit | None) -> str:
    """' (353 trained on, 89 held out for testing)', with the folds under cross-validation."""
    if split is None:
        return ""
    text = f"{split.train_rows:,} trained on, {split.test_rows:,} held out for testing"
    if split.cv_folds:
        text += f"; {split.cv_folds}-fold cross-validation on the training rows"
    return f" ({text})"


def _metric_lines(values: Mapping[str, Any]) -> list[str]:
    lines = []
    for name, value in values.items():
        if _is_number(value):
            lines.append(f"• {metric_label(name)}: {_metric_value(name, value)}")
    return lines


def _metric_value(name: str, value: float) -> str:
    text = _number(value)
    if name in _RATIO_METRICS:
        text += f" ({value * 100:.1f}%)"
    return text


def _cv_title(cv: Mapping[str, Any]) -> str:
    folds = cv.get("folds")
    return f"🔄 Cross-Validation ({folds} folds):" if folds else "🔄 Cross-Validation:"


def _cv_lines(cv: Mapping[str, Any]) -> list[str]:
    """Mean ± spread per metric, from the runner's {"mean_r2": .., "std_r2": .., ...}."""
    lines = []
    for key, mean in cv.items():
        if not key.startswith("mean_") or not _is_number(mean):
            continue
        name = key.removeprefix("mean_")
        std = cv.get(f"std_{name}")
        spread = f" ± {_number(std, like=mean)}" if _is_number(std) else ""
        lines.append(f"• {metric_label(name)}: {_number(mean)}{spread}")
    return lines


def _baseline_line(baseline: Mapping[str, Any], task_type: TaskType) -> str:
    how, names = _BASELINES[task_type]
    shown = ", ".join(
        f"{metric_label(name)} {_number(baseline[name])}" for name in names if _is_number(baseline.get(name))
    )
    return f"📏 Baseline ({how}): {shown}"


def _prediction_text(
    row: Mapping[str, Any], column: str, probability_columns: Sequence[str], task_type: TaskType
) -> str:
    prediction = row.get(column)
    shares = [row[name] for name in probability_columns if _is_number(row.get(name))]
    if shares:
        return f"Class {prediction} (confidence: {max(shares) * 100:.0f}%)"
    if task_type is TaskType.CLASSIFICATION:  # a class labelled 1 is not the number 1.0000
        return f"Class {prediction}"
    if _is_number(prediction):
        return _number(prediction)
    return str(prediction)


def _importance_lines(importance: Mapping[str, float]) -> list[str]:
    top = sorted(importance.items(), key=lambda item: abs(item[1]), reverse=True)[:5]
    return [f"• {clip(name)}: {value:.4f}" for name, value in top]


def _main_metric(model: ModelRecord) -> str:
    if model.metric_name and model.metric_value is not None:
        return f"{metric_label(model.metric_name)} {model.metric_value:.4f}"
    return "no test metric"


def _names(names: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(clip(n, 30) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def clip(text: str, width: int = _NAME_WIDTH) -> str:
    """One line of at most `width` characters (long column names end in '…')."""
    text = str(text).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _number(value: float, *, like: float | None = None) -> str:
    """4 decimals, or thousands separators and 2 decimals for large figures (prices, MSE).

    `like`: a figure shown beside this one (a mean beside its spread) that sets the style.
    """
    scale = max(abs(value), abs(like)) if like is not None else abs(value)
    return f"{value:,.2f}" if scale >= 10_000 else f"{value:.4f}"


def _settings_line(hyperparameters: Mapping[str, Any]) -> str:
    return "Settings: " + ", ".join(f"{name}={value}" for name, value in hyperparameters.items())


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
