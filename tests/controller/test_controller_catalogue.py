"""Every model of the catalogue trains and predicts in a real job container, through the controller.

Neural networks take ~20 s a job; they run in containers in tests/runner/test_in_container.py.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd
import pytest

from controller import Controller, PredictRequest, TrainRequest
from runner.spec import MODEL_TASKS, ModelType, TaskType

pytestmark = pytest.mark.docker

CATALOGUE = [
    (model, task)
    for model, tasks in MODEL_TASKS.items()
    if model is not ModelType.NEURAL_NETWORK
    for task in sorted(tasks, key=lambda t: t.value)
]
LABELS = ["low", "middle", "high"]


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """The same houses with the price turned into three price bands (the user's words)."""
    out = frame.copy()
    out["band"] = pd.qcut(out.pop("price"), 3, labels=LABELS).astype(str)
    return out


@pytest.mark.parametrize(
    "settings",
    [{"queue": {"per_user_running": 2, "per_user_queued": 30}}],
    indirect=True,
    ids=["catalogue"],
)
async def test_every_model_type_trains_and_predicts_in_a_container(
    settings, store, upload, regression_frame
) -> None:
    frame = regression_frame(180)
    tables = {
        TaskType.REGRESSION: (upload("cat", frame, "houses.parquet"), "price"),
        TaskType.CLASSIFICATION: (upload("cat", _labelled(frame), "bands.parquet"), "band"),
    }
    new_rows = regression_frame(25, seed=11).drop(columns=["price"])
    scoring = upload("cat", new_rows, "new.parquet")

    async with Controller(settings=settings, store=store) as controller:

        async def train_and_predict(model: ModelType, task: TaskType):
            dataset, target = tables[task]
            handle = await controller.submit(
                TrainRequest(
                    user_id="cat",
                    model_type=model,
                    learning_task=task,
                    dataset_id=dataset.dataset_id,
                    target_column=target,
                )
            )
            trained = await handle.result()
            handle = await controller.submit(
                PredictRequest(user_id="cat", model_id=trained.model.model_id, dataset_id=scoring.dataset_id)
            )
            return trained, await handle.result()

        outcomes = await asyncio.gather(*(train_and_predict(m, t) for m, t in CATALOGUE))

    for (model, task), (trained, predicted) in zip(CATALOGUE, outcomes, strict=True):
        what = f"{model.value}/{task.value}"
        train = trained.result.train
        assert (train.model_type, train.task_type) == (model, task), what
        test, baseline = train.metrics["test"], train.metrics["baseline"]
        predictions = pd.read_csv(predicted.predictions_csv)
        assert len(predictions) == len(new_rows), what
        assert predicted.result.predict.rows == len(new_rows), what
        if task is TaskType.REGRESSION:
            assert test["r2"] > 0.8, (what, test)
            assert np.isfinite(predictions["prediction"]).all(), what
        else:
            assert test["accuracy"] > baseline["accuracy"], (what, test, baseline)
            assert set(predictions["prediction"]) <= set(LABELS), what
            probabilities = predictions[[f"probability_{label}" for label in sorted(LABELS)]]
            assert np.allclose(probabilities.sum(axis=1), 1.0), what
        assert trained.plots, what
