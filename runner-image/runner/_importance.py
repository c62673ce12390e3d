"""Which input columns matter: the model's own weights where it has them, else permutation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from runner.pipeline import output_columns
from runner.spec import TaskType

# Permutation importance stays cheap: a sample of rows, a few shuffles per column.
PERMUTATION_ROWS = 500
PERMUTATION_REPEATS = 3


def feature_importance(
    model: Any, X: pd.DataFrame, y: pd.Series, *, task: TaskType, seed: int
) -> tuple[dict[str, float], str]:
    """Shares per input column (summing to 1 unless all are zero) and the method used."""
    own = _own_importance(model, list(X.columns))
    if own is not None:
        return _shares(own), "model"
    return _shares(_permutation_importance(model, X, y, task=task, seed=seed)), "permutation"


def _own_importance(model: Any, columns: list[str]) -> dict[str, float] | None:
    """feature_importances_ or |coef_|, summed over the one-hot parts of each input column."""
    steps = getattr(model, "named_steps", None)
    if steps is None or set(steps) != {"preprocess", "model"}:
        return None  # neural networks, and polynomial terms that mix columns
    estimator = steps["model"]
    if hasattr(estimator, "feature_importances_"):
        weights = np.asarray(estimator.feature_importances_, dtype=float)
    elif hasattr(estimator, "coef_"):
        weights = np.abs(np.atleast_2d(np.asarray(estimator.coef_, dtype=float))).mean(axis=0)
    else:
        return None
    sources = output_columns(steps["preprocess"])
    if len(sources) != len(weights):
        return None
    totals = dict.fromkeys(columns, 0.0)
    for source, weight in zip(sources, weights, strict=True):
        totals[source] += float(weight)
    return totals


def _permutation_importance(
    model: Any, X: pd.DataFrame, y: pd.Series, *, task: TaskType, seed: int
) -> dict[str, float]:
    """How much the score drops when a column's values are shuffled."""
    from sklearn.metrics import accuracy_score, r2_score

    rng = np.random.default_rng(seed)
    if len(X) > PERMUTATION_ROWS:
        rows = rng.choice(len(X), size=PERMUTATION_ROWS, replace=False)
        X, y = X.iloc[rows], y.iloc[rows]
    metric = r2_score if task is TaskType.REGRESSION else accuracy_score
    reference = metric(y, model.predict(X))
    drops: dict[str, float] = {}
    for column in X.columns:
        losses = []
        for _ in range(PERMUTATION_REPEATS):
            shuffled = X.copy()
            shuffled[column] = rng.permutation(shuffled[column].to_numpy())
            losses.append(reference - metric(y, model.predict(shuffled)))
        drops[column] = float(np.mean(losses))
    return drops


def _shares(raw: dict[str, float]) -> dict[str, float]:
    clipped = {k: max(v, 0.0) if np.isfinite(v) else 0.0 for k, v in raw.items()}
    total = sum(clipped.values())
    shares = {k: (v / total if total > 0 else 0.0) for k, v in clipped.items()}
    return {k: round(v, 6) for k, v in sorted(shares.items(), key=lambda kv: -kv[1])}
