"""Fitting a scikit-learn Pipeline so that its progress moves, or says that it cannot.

Ensembles that grow (forests, boosting) are fitted in steps with `warm_start`: the
preprocessing once, then the final estimator grown a share of its trees at a time. Each step
reports; the result is the model a single fit would give with the same seed. A neural network
reports each of its epochs. Any other model is one call with no steps inside, which the progress
says, with the host's estimate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from runner.spec import ModelType

# The setting that counts a growing ensemble's members, and what one member is called.
GROWING: dict[ModelType, tuple[str, str]] = {
    ModelType.RANDOM_FOREST: ("n_estimators", "trees"),
    ModelType.GRADIENT_BOOSTING: ("n_estimators", "boosting stages"),
}
# Progress events per stepped fit.
STEPS = 10

Report = Callable[[float, str], None]  # (fraction done, message)


def fit_with_progress(
    pipeline: Any, X: Any, y: Any, *, model_type: ModelType, estimated_seconds: float | None, report: Report
) -> None:
    """Fit `pipeline` (preprocessing steps, then the model) on X, y, reporting as it goes."""
    if model_type is ModelType.NEURAL_NETWORK:
        network = pipeline.steps[-1][1]
        network.set_params(
            on_epoch=lambda epoch, epochs, loss: report(epoch / epochs, f"Epoch {epoch} of {epochs} (loss {loss:.4g})")
        )
        pipeline.fit(X, y)
        network.set_params(on_epoch=None)
        return
    growing = GROWING.get(model_type)
    if growing is None:
        estimate = "" if estimated_seconds is None else f"; estimated {_seconds(estimated_seconds)}"
        report(0.0, f"Fitting (one step, no progress available{estimate})")
        pipeline.fit(X, y)
        return
    setting, members = growing
    final = pipeline.steps[-1][1]
    total = int(final.get_params()[setting])
    inputs = pipeline[:-1].fit_transform(X, y)
    step = max(1, math.ceil(total / STEPS))
    final.set_params(warm_start=True)
    for done in range(step, total + step, step):
        done = min(done, total)
        final.set_params(**{setting: done})
        final.fit(inputs, y)
        report(done / total, f"Fitted {done} of {total} {members}")
    final.set_params(warm_start=False)


def _seconds(seconds: float) -> str:
    if seconds < 1:
        return "under 1 s"
    return f"~{seconds:.0f} s" if seconds < 90 else f"~{seconds / 60:.0f} min"
