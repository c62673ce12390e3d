"""Tune: a randomized search in the job's container, on the same folds, within its budget."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from errors import TaskError
from controller import Controller, TrainRequest

pytestmark = pytest.mark.docker


def _small_effects(rows: int = 400, *, seed: int = 4) -> pd.DataFrame:
    """A target of small effects: lasso's default alpha (1.0) zeroes them all."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 4)), columns=["a", "b", "c", "d"])
    frame["y"] = 0.05 * frame["a"] - 0.03 * frame["b"] + rng.normal(0, 0.01, rows)
    return frame


@pytest.mark.parametrize("settings", [{"ml_engine": {"tune_candidates": 8}}], indirect=True, ids=["8"])
async def test_tuning_beats_poor_defaults_within_its_budget_and_keeps_the_tuned_model(
    settings, store, upload, job_containers
) -> None:
    dataset = upload("tia", _small_effects())
    async with Controller(settings=settings, store=store) as controller:
        handle = await controller.submit(
            TrainRequest(user_id="tia", model_type="lasso", dataset_id=dataset.dataset_id, target_column="y", tune=True)
        )
        outcome = await handle.result()
        with pytest.raises(TaskError):
            await controller.submit(
                TrainRequest(user_id="tia", model_type="neural_network", dataset_id=dataset.dataset_id,
                           target_column="y", tune=True)
            )
    train = outcome.result.train
    tuning = train.tuning
    assert tuning["tried"] == 8 and tuning["metric"] == "r2"
    assert tuning["best_cv"] >= tuning["default_cv"] + 0.5
    assert tuning["best_settings"]["alpha"] < 1.0
    assert train.hyperparameters["alpha"] == tuning["best_settings"]["alpha"]
    assert train.metrics["cross_validation"]["mean_r2"] == pytest.approx(tuning["best_cv"])
    model = store.get_model(user_id="tia", model_id=outcome.result.model_id)
    assert model.metadata["hyperparameters"]["alpha"] == tuning["best_settings"]["alpha"]
    assert not job_containers()
