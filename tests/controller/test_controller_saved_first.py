"""A training's model and numbers come as soon as the model is saved; its plots follow, or fail alone."""

from __future__ import annotations

import asyncio

import pytest
from held_runner import DIE_PLOTTING, HOLD_PLOTS, Hooked, job_input, let_plots_draw

from controller import Controller, JobFinished, JobSaved, JobStarted, TrainRequest
from store import ExitReason, JobState

pytestmark = pytest.mark.docker

_READY_SECONDS = 120


async def _warm(controller: Controller) -> str | None:
    """The id of the pool's ready container, when the controller has a pool."""
    if controller.pool is None:
        return None
    for _ in range(int(_READY_SECONDS / 0.1)):
        if controller.pool.idle and controller.pool.idle[0].ready:
            return controller.pool.idle[0].container_id
        await asyncio.sleep(0.1)
    raise AssertionError("the pool container did not get ready")


@pytest.mark.parametrize(
    "settings", [{}, {"pool": {"size": 1}, "queue": {"max_running": 1}}], indirect=True, ids=["cold", "warm"]
)
async def test_the_saved_model_and_its_numbers_come_before_the_plots_and_the_end(
    settings, store, upload, regression_frame, docker_client, job_containers
) -> None:
    dataset = upload("mia", regression_frame(120))
    backend = Hooked(HOLD_PLOTS)
    events: list = []
    try:
        async with Controller(settings=settings, store=store, backend=backend) as controller:
            warm = await _warm(controller)
            handle = await controller.submit(
                TrainRequest(user_id="mia", model_type="linear", dataset_id=dataset.dataset_id, target_column="price")
            )
            async for event in handle.events():
                events.append(event)
                if isinstance(event, JobSaved):
                    # The plots wait for the host's word: the model is the user's while the job still runs.
                    assert store.get_model(user_id="mia", model_id=event.model.model_id).job_id == handle.job_id
                    assert store.get_job(user_id="mia", job_id=handle.job_id).state == JobState.RUNNING
                    started = next(e for e in events if isinstance(e, JobStarted))
                    let_plots_draw(job_input(docker_client, started.container_id))
            outcome = await handle.result()
    finally:
        await backend.close()
    kinds = [type(event) for event in events]
    assert kinds.count(JobSaved) == 1 and kinds.index(JobSaved) < kinds.index(JobFinished) == len(kinds) - 1
    saved = events[kinds.index(JobSaved)]
    assert saved.result.train.plots == [] and saved.result.train.metrics["test"]["r2"] is not None
    assert outcome.plots and outcome.plots_failed is None
    assert outcome.model.model_id == saved.model.model_id == outcome.job.model_id
    assert outcome.result.train.metrics == saved.result.train.metrics
    assert {plot.name for plot in outcome.plots} == set(outcome.result.train.plots)
    assert outcome.job.state == JobState.SUCCEEDED
    if warm is not None:
        assert outcome.job.container_id == warm
    assert len(store.list_models(user_id="mia")) == 1
    assert not job_containers()


async def test_a_job_killed_while_drawing_keeps_its_saved_model_and_says_the_plots_failed(
    settings, store, upload, regression_frame, job_containers
) -> None:
    dataset = upload("noa", regression_frame(120))
    backend = Hooked(DIE_PLOTTING)
    try:
        async with Controller(settings=settings, store=store, backend=backend) as controller:
            handle = await controller.submit(
                TrainRequest(user_id="noa", model_type="linear", dataset_id=dataset.dataset_id, target_column="price")
            )
            events = [event async for event in handle.events()]
            outcome = await handle.result()
    finally:
        await backend.close()
    (saved,) = [event for event in events if isinstance(event, JobSaved)]
    assert outcome.plots == [] and outcome.plots_failed == ExitReason.KILLED.value
    assert outcome.model.model_id == saved.model.model_id and outcome.result == saved.result
    kept = store.get_model(user_id="noa", model_id=saved.model.model_id)
    assert (store.model_dir(kept) / "metadata.json").is_file()
    job = store.get_job(user_id="noa", job_id=handle.job_id)
    assert job.state == JobState.SUCCEEDED and job.exit_code == 137 and job.result["train"]["plots"] == []
    assert not job_containers()


# The real runner, then a link to a host file in place of a plot: the saved model stays, the plots go.
LINKED_PLOT = """
import json, os, sys
from runner.cli import main
code = main(sys.argv[2:])
plot = "/job/output/plots/" + json.load(open("/job/output/result.json"))["train"]["plots"][0]
os.remove(plot)
os.symlink(sys.argv[1], plot)
sys.exit(code)
"""


async def test_a_link_among_the_plots_is_never_followed_and_costs_only_the_plots(
    settings, store, upload, regression_frame, job_containers, tmp_path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("a host file no job may hand out")
    dataset = upload("ora", regression_frame(60))
    backend = Hooked(LINKED_PLOT, str(secret))
    try:
        async with Controller(settings=settings, store=store, backend=backend) as controller:
            handle = await controller.submit(
                TrainRequest(user_id="ora", model_type="linear", dataset_id=dataset.dataset_id, target_column="price")
            )
            outcome = await handle.result()
    finally:
        await backend.close()
    assert outcome.plots == [] and outcome.plots_failed == ExitReason.CRASHED.value
    assert store.get_model(user_id="ora", model_id=outcome.model.model_id)
    assert not (store.job_dir(handle.job_id, "ora") / "output").exists()
    assert secret.read_text() == "a host file no job may hand out"
    assert not job_containers()
