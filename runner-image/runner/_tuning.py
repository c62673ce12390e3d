"""Tuning: a randomized search over the host's ranges, scored on the job's own folds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from runner import _evaluate
from runner._estimators import resolve_hyperparameters
from runner._prepare import TrainingData
from runner.spec import HyperValue, SearchRange, TrainSpec


def search(
    spec: TrainSpec,
    data: TrainingData,
    X: pd.DataFrame,
    y: pd.Series,
    *,
    make_model: Callable[[TrainSpec], Any],
    report: Callable[[float, str], None],
) -> tuple[dict[str, HyperValue], dict[str, Any]]:
    """The best settings by mean CV score (the defaults win ties) and what the search did."""
    assert spec.tuning is not None
    rng = np.random.default_rng(spec.seed)
    defaults = dict(spec.hyperparameters)
    tried: list[dict[str, HyperValue]] = [defaults]
    for _ in range(spec.tuning.candidates - 1):
        tried.append({**defaults, **{name: _draw(rng, space) for name, space in spec.tuning.space.items()}})
    metric = _evaluate.PRIMARY_METRIC[data.task]
    scores: list[float] = []
    for number, settings in enumerate(tried, start=1):
        report((number - 1) / len(tried), f"Trying settings {number} of {len(tried)}")
        candidate = spec.model_copy(update={"hyperparameters": resolve_hyperparameters(spec.model_type, settings)})
        cv = _evaluate.cross_validation(
            lambda: make_model(candidate), X, y, spec=spec, task=data.task, on_fold=lambda n, k: None
        )
        mean = cv.get(f"mean_{metric}")
        scores.append(float("-inf") if mean is None else float(mean))
    best = int(np.argmax(scores))  # the first of equals: the defaults when nothing beats them
    summary = {
        "metric": metric,
        "tried": len(tried),
        "default_cv": scores[0],
        "best_cv": scores[best],
        "best_settings": {k: v for k, v in tried[best].items() if defaults.get(k) != v},
    }
    return tried[best], summary


def _draw(rng: np.random.Generator, space: SearchRange) -> HyperValue:
    if space.choices:
        return str(rng.choice(list(space.choices)))
    assert space.low is not None and space.high is not None
    if space.log and space.low > 0:
        value = float(np.exp(rng.uniform(np.log(space.low), np.log(space.high))))
    else:
        value = float(rng.uniform(space.low, space.high))
    return int(round(value)) if space.integer else round(value, 6)
