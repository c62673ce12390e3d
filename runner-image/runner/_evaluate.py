"""Honest numbers: a held-out test set, optional cross-validation, a dummy baseline, verdicts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from runner._errors import JobError
from runner.spec import ErrorCode, TaskType, TrainSpec

# A model counts as overfitting when train beats test by more than this (R² or accuracy).
OVERFIT_GAP = {TaskType.REGRESSION: 0.15, TaskType.CLASSIFICATION: 0.10}
# The metric each task is judged and cross-validated by.
PRIMARY_METRIC = {TaskType.REGRESSION: "r2", TaskType.CLASSIFICATION: "accuracy"}


def split(
    X: pd.DataFrame, y: pd.Series, *, spec: TrainSpec, task: TaskType
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """The hold-out split: seeded, shuffled, stratified for classification."""
    from sklearn.model_selection import train_test_split

    stratify = y if task is TaskType.CLASSIFICATION else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=spec.test_size, random_state=spec.seed, stratify=stratify
    )
    return X_train, X_test, y_train, y_test


def folds(y: pd.Series, *, spec: TrainSpec, task: TaskType) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds over the training part (stratified for classification)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if len(y) < spec.cv_folds:
        raise JobError(
            ErrorCode.INSUFFICIENT_DATA,
            f"Cross-validation with {spec.cv_folds} folds needs at least {spec.cv_folds} training rows, "
            f"but only {len(y)} are left after setting the test rows aside.",
        )
    if task is TaskType.CLASSIFICATION:
        counts = y.value_counts()
        if counts.min() < spec.cv_folds:
            raise JobError(
                ErrorCode.TOO_FEW_PER_CLASS,
                f"Class '{counts.idxmin()}' has only {counts.min()} training rows, fewer than the "
                f"{spec.cv_folds} cross-validation folds; use fewer folds or a hold-out check.",
            )
        splitter: Any = StratifiedKFold(n_splits=spec.cv_folds, shuffle=True, random_state=spec.seed)
    else:
        splitter = KFold(n_splits=spec.cv_folds, shuffle=True, random_state=spec.seed)
    return list(splitter.split(np.zeros(len(y)), y))


@dataclass(frozen=True)
class Predictions:
    """A fitted model's outputs on some rows: what `predict` gives, and class probabilities."""

    values: Any
    proba: np.ndarray | None = None


def predict(model: Any, X: pd.DataFrame, task: TaskType) -> Predictions:
    """The model's outputs on X, made once for the metrics and the plots of the same rows."""
    if task is TaskType.REGRESSION:
        return Predictions(model.predict(X))
    proba = model.predict_proba(X)
    if _predicts_most_probable(model):  # what its predict would compute again from the same probabilities
        return Predictions(model.classes_.take(np.argmax(proba, axis=1), axis=0), proba)
    return Predictions(model.predict(X), proba)


def _predicts_most_probable(model: Any) -> bool:
    """True when the model's predict is, in scikit-learn's code, the class of its highest predict_proba
    (forests, calibrated SVMs); others (boosting, logistic regression) decide from their own scores."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

    final = model.steps[-1][1] if hasattr(model, "steps") else model
    return isinstance(final, RandomForestClassifier | ExtraTreesClassifier | CalibratedClassifierCV)


def score(
    model: Any, X: pd.DataFrame, y: pd.Series, task: TaskType, *, predictions: Predictions | None = None
) -> dict[str, Any]:
    """All metrics of a fitted model (anything with predict, and predict_proba for classes),
    from its `predictions` on X when they are made already."""
    made = predictions if predictions is not None else predict(model, X, task)
    if task is TaskType.REGRESSION:
        return regression_metrics(y, made.values)
    assert made.proba is not None
    return classification_metrics(y, made.values, made.proba, list(model.classes_))


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, Any]:
    from sklearn.metrics import (
        explained_variance_score,
        mean_absolute_error,
        mean_squared_error,
        r2_score,
    )

    mse = float(mean_squared_error(y_true, y_pred))
    single = len(y_true) < 2  # R² is undefined on one row
    return {
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "r2": None if single else float(r2_score(y_true, y_pred)),
        "explained_variance": None if single else float(explained_variance_score(y_true, y_pred)),
    }


def classification_metrics(y_true: Any, y_pred: Any, proba: np.ndarray, classes: list[Any]) -> dict[str, Any]:
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_score,
        recall_score,
    )

    # scikit-learn sorts and compares the labels again for every metric, slowly when they are text.
    # Their positions in the same sorted order give every metric the very same numbers, faster.
    labels = sorted(set(pd.unique(np.asarray(y_true))) | set(pd.unique(np.asarray(y_pred))) | set(classes))
    true_codes, pred_codes = (pd.Categorical(np.asarray(y), categories=labels).codes for y in (y_true, y_pred))
    weighted = {"average": "weighted", "zero_division": 0}
    return {
        "accuracy": float(accuracy_score(true_codes, pred_codes)),
        "precision": float(precision_score(true_codes, pred_codes, **weighted)),
        "recall": float(recall_score(true_codes, pred_codes, **weighted)),
        "f1": float(f1_score(true_codes, pred_codes, **weighted)),
        "roc_auc": _roc_auc(np.asarray(y_true), proba, classes),
        "confusion_matrix": {
            "labels": classes,
            "matrix": confusion_matrix(true_codes, pred_codes, labels=[labels.index(c) for c in classes]).tolist(),
        },
    }


def _roc_auc(y_true: np.ndarray, proba: np.ndarray, classes: list[Any]) -> float | None:
    """Binary: the second class's probability; multiclass: one-vs-rest. None when undefined."""
    from sklearn.metrics import roc_auc_score

    present = set(np.unique(y_true).tolist())
    if len(present) < 2:
        return None
    if len(classes) == 2:
        return float(roc_auc_score((y_true == classes[1]).astype(int), proba[:, 1]))
    if present != set(classes):
        return None
    return float(roc_auc_score(y_true, proba, multi_class="ovr", labels=classes))


def baseline(
    X_train: pd.DataFrame, y_train: pd.Series, X_test: pd.DataFrame, y_test: pd.Series, task: TaskType
) -> dict[str, Any]:
    """Test metrics of a model that ignores the features: the mean, or the most frequent class."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    dummy = (
        DummyRegressor(strategy="mean")
        if task is TaskType.REGRESSION
        else DummyClassifier(strategy="most_frequent")
    )
    dummy.fit(X_train, y_train)
    return score(dummy, X_test, y_test, task)


def cross_validation(
    make_model: Callable[[], Any],
    X: pd.DataFrame,
    y: pd.Series,
    *,
    spec: TrainSpec,
    task: TaskType,
    on_fold: Callable[[int, int], None],
) -> dict[str, Any]:
    """Fit a fresh model per fold; the mean and spread of each metric, and the per-fold scores."""
    per_fold: list[dict[str, Any]] = []
    splits = folds(y, spec=spec, task=task)
    for number, (fit_rows, check_rows) in enumerate(splits, start=1):
        on_fold(number, len(splits))
        model = make_model()
        model.fit(X.iloc[fit_rows], y.iloc[fit_rows])
        per_fold.append(score(model, X.iloc[check_rows], y.iloc[check_rows], task))
    summary: dict[str, Any] = {
        "folds": len(splits),
        "metric": PRIMARY_METRIC[task],
        "scores": [fold[PRIMARY_METRIC[task]] for fold in per_fold],
    }
    for name, value in per_fold[0].items():
        if isinstance(value, float):
            values = np.array([np.nan if f[name] is None else f[name] for f in per_fold], dtype=float)
            summary[f"mean_{name}"] = float(np.nanmean(values)) if np.isfinite(values).any() else None
            summary[f"std_{name}"] = float(np.nanstd(values)) if np.isfinite(values).any() else None
    return summary


def verdicts(metrics: dict[str, Any], *, task: TaskType, target: str, majority: Any) -> list[str]:
    """One line each when the model overfits or is no better than the baseline."""
    lines: list[str] = []
    key = PRIMARY_METRIC[task]
    train, test, base = metrics["train"].get(key), metrics["test"].get(key), metrics["baseline"].get(key)
    label = "R²" if task is TaskType.REGRESSION else "accuracy"
    if train is not None and test is not None and train - test > OVERFIT_GAP[task]:
        lines.append(
            f"The model does much better on the rows it learned from than on new rows "
            f"({label} {train:.2f} vs {test:.2f}): it is probably overfitting."
        )
    if test is None or base is None:
        return lines
    if task is TaskType.REGRESSION and test <= base + 0.01:
        lines.append(
            f"The model predicts '{target}' no better than always guessing its average "
            f"(R² {test:.2f} vs {base:.2f})."
        )
    auc = metrics["test"].get("roc_auc")
    if task is TaskType.CLASSIFICATION and test <= base and (auc is None or auc < 0.6):
        lines.append(
            f"The model is no better than always guessing the most common class '{majority}' "
            f"(accuracy {test:.2f} vs {base:.2f})."
        )
    return lines
