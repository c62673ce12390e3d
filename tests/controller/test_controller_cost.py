"""The training-time estimate: refused before any container when past the limit, with offers that fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from errors import CostError
from controller import Controller, JobProgress, TrainRequest
from controller._cost import Workload, estimate_fit_seconds
from runner.spec import MODEL_TASKS, ModelType

pytestmark = pytest.mark.docker

ROWS = [100, 1_000, 10_000, 100_000, 1_000_000]


@pytest.mark.parametrize("model", list(ModelType), ids=lambda m: m.value)
def test_estimates_grow_with_the_rows(model: ModelType, settings) -> None:
    params = settings.ml_engine.defaults(model)
    for task in MODEL_TASKS[model]:
        for folds in (None, 5):
            seconds = [
                estimate_fit_seconds(
                    model,
                    Workload(task=task, rows=rows, features=12, classes=3),
                    params=params,
                    test_size=0.2,
                    cv_folds=folds,
                )
                for rows in ROWS
            ]
            assert all(a < b for a, b in zip(seconds, seconds[1:])), (model, task, folds, seconds)


def _wide(rows: int, *, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 10)), columns=[f"x{i}" for i in range(10)])
    frame["y"] = frame.to_numpy() @ rng.normal(size=10) + rng.normal(0, 1, rows)
    return frame


@pytest.mark.parametrize("settings", [{"container": {"train_timeout_seconds": 60}}], indirect=True, ids=["60s"])
async def test_an_svm_on_a_large_table_is_refused_before_any_container_with_what_would_fit(
    settings, store, upload, job_containers
) -> None:
    dataset = upload("ivy", _wide(50_000))
    svm = TrainRequest(user_id="ivy", model_type="svm", dataset_id=dataset.dataset_id, target_column="y")
    async with Controller(settings=settings, store=store) as controller:
        with pytest.raises(CostError) as refused:
            await controller.submit(svm)
        assert not store.list_jobs(user_id="ivy")
        assert not job_containers()
        message = refused.value.user_message
        assert "50,000 rows × 10 inputs" in message and "past the limit of 60 s" in message
        assert "grows with the square of the rows" in message
        (sample_label, sample), *others = refused.value.offers
        assert sample_label.startswith("SVM on ") and sample_label in message
        assert 100 <= sample["sample_rows"] < 50_000
        assert others and all(label in message for label, _ in others)
        assert {change["model_type"] for _, change in others} <= {
            "hist_gradient_boosting", "random_forest", "gradient_boosting", "ridge"
        }

        # Each offer passes the same check. A small sample shows what taking one does: the runner
        # trains on that many rows (small, so the test does not hang on the machine's load).
        for _, change in refused.value.offers:
            accepted = await controller.submit(TrainRequest.model_validate({**svm.model_dump(), **change}))
            assert await controller.cancel(job_id=accepted.job_id, user_id="ivy")
        handle = await controller.submit(svm.model_copy(update={"sample_rows": 1_000}))
        outcome = await handle.result()
    train = outcome.result.train
    assert train.rows_used == 1_000
    assert "random sample of 1,000 of the 50,000 rows" in " ".join(train.warnings)
    assert not job_containers()


async def test_normal_jobs_pass_and_their_progress_moves_or_says_it_cannot(
    settings, store, upload, regression_frame
) -> None:
    dataset = upload("jon", regression_frame(300))
    async with Controller(settings=settings, store=store) as controller:
        messages = {}
        for model in ("random_forest", "svm"):
            handle = await controller.submit(
                TrainRequest(user_id="jon", model_type=model, dataset_id=dataset.dataset_id, target_column="price")
            )
            messages[model] = [e.message async for e in handle.events() if isinstance(e, JobProgress)]
            await handle.result()
    forest = [m for m in messages["random_forest"] if m.endswith("of 100 trees")]
    assert forest == [f"Fitted {n} of 100 trees" for n in range(10, 101, 10)]
    one_step = [m for m in messages["svm"] if m.startswith("Fitting (one step")]
    assert len(one_step) == 1 and "no progress available; estimated " in one_step[0]
