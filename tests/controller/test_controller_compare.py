"""Compare: one job per candidate in its own container, same split and folds, a chart from a container."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import pytest

from errors import QuotaError, TaskError
from controller import Controller, TrainRequest
from controller._compare import CANDIDATES, cv_score, start_comparison
from runner.spec import ModelType, TaskType

pytestmark = pytest.mark.docker

SAMPLES = Path(__file__).resolve().parents[2] / "runner-image" / "runner" / "sample_data"
PNG = b"\x89PNG\r\n\x1a\n"


# Regression has the most candidates; every classifier is trained in a container by
# test_controller_catalogue.py and compared in chat by tests/bot/test_compare_chat.py.
async def test_every_candidate_has_a_row_on_the_same_split_and_the_chart_is_a_png(
    settings, store, upload, job_containers
) -> None:
    kind, name, target = TaskType.REGRESSION, "houses.csv", "price"
    dataset = upload("cmp", pd.read_csv(SAMPLES / name), name)
    async with Controller(settings=settings, store=store) as controller:
        comparison = await start_comparison(
            controller, settings=settings, user_id="cmp", dataset=dataset, target=target
        )
        progress: list[tuple[int, int]] = []

        async def on_done(done: int, total: int) -> None:
            progress.append((done, total))

        candidates = await comparison.run(on_done)
    total = len(CANDIDATES[kind])
    assert comparison.task_type is kind and not comparison.skipped
    assert sorted(c.model_type for c in candidates) == sorted(CANDIDATES[kind])
    assert progress == [(n, total) for n in range(1, total + 1)]
    assert all(c.failure is None and c.outcome is not None for c in candidates), [c.failure for c in candidates]
    splits = {c.outcome.split.model_dump_json() for c in candidates}
    assert len(splits) == 1 and candidates[0].outcome.split.rows_sha256
    scores = {c.model_type: cv_score(c.outcome) for c in candidates}
    assert all(mean is not None and std is not None for mean, std in scores.values())
    # Every candidate's model is kept and can be used.
    assert {m.model_id for m in store.list_models(user_id="cmp")} == {c.model_id for c in candidates}
    # The last candidate drew the chart with everyone's scores.
    last = candidates[-1]
    assert "leaderboard.png" in last.outcome.plots
    chart = next(p for p in last.plots if p.name == "leaderboard.png")
    assert chart.read_bytes().startswith(PNG)
    assert not job_containers()


@pytest.mark.parametrize("settings", [{"queue": {"max_running": 2}}], indirect=True, ids=["two"])
async def test_another_users_job_starts_before_a_comparison_finishes(settings, store, upload) -> None:
    houses = pd.read_csv(SAMPLES / "houses.csv")
    mine, theirs = upload("amy", houses), upload("bob", houses)
    async with Controller(settings=settings, store=store) as controller:
        # Four candidates queued and the last one after them: bob's job is queued behind two of amy's.
        five = (ModelType.LINEAR, ModelType.RIDGE, ModelType.LASSO, ModelType.ELASTICNET, ModelType.RANDOM_FOREST)
        comparison = await start_comparison(
            controller, settings=settings, user_id="amy", dataset=mine, target="price", models=five
        )
        running = asyncio.create_task(comparison.run())
        single = await controller.submit(
            TrainRequest(user_id="bob", model_type="linear", dataset_id=theirs.dataset_id, target_column="price")
        )
        await single.result()
        assert not running.done()  # bob's job started, and even finished, while amy's compare ran
        await running


@pytest.mark.parametrize("settings", [{"quotas": {"max_models_per_user": 4}}], indirect=True, ids=["quota"])
async def test_a_comparison_past_the_model_quota_is_refused_before_any_container(
    settings, store, upload, job_containers
) -> None:
    dataset = upload("cy", pd.read_csv(SAMPLES / "houses.csv"))
    async with Controller(settings=settings, store=store) as controller:
        with pytest.raises(QuotaError) as refused:
            await start_comparison(controller, settings=settings, user_id="cy", dataset=dataset, target="price")
    assert "needs 9 new models" in refused.value.user_message and "at most 4" in refused.value.user_message
    assert not store.list_jobs(user_id="cy")
    assert not job_containers()


async def test_a_named_model_unsuited_to_the_target_is_refused_before_any_job(
    settings, store, upload, job_containers
) -> None:
    dataset = upload("di", pd.read_csv(SAMPLES / "customers.csv"))
    async with Controller(settings=settings, store=store) as controller:
        with pytest.raises(TaskError) as refused:
            await start_comparison(
                controller, settings=settings, user_id="di", dataset=dataset, target="outcome",
                models=(ModelType.LASSO, ModelType.RIDGE, ModelType.RANDOM_FOREST),
            )
    assert refused.value.user_message.startswith("'outcome' is classes, which lasso, ridge do not predict.")
    assert not store.list_jobs(user_id="di")
    assert not job_containers()
