"""Single jobs through the Controller: results, refusals, limits, quotas and cancellation."""

from __future__ import annotations

import asyncio
import textwrap

import numpy as np
import pandas as pd
import pytest
from held_runner import Hooked

from errors import (
    JobBadInput,
    JobCancelled,
    JobCrashed,
    JobOutOfMemory,
    JobOutputTooLarge,
    JobTimeout,
    NotFoundError,
    QuotaError,
    TaskError,
)
from controller import (
    Controller,
    JobFinished,
    JobProgress,
    JobStarted,
    PredictRequest,
    TrainRequest,
)
from runner.pipeline import build_pipeline, prepare_training
from runner.spec import TrainSpec
from store import ExitReason, JobState


def _with(**sections):
    return pytest.mark.parametrize("settings", [sections], indirect=True, ids=[""])

pytestmark = pytest.mark.docker


async def _collect_events(handle) -> list:
    return [event async for event in handle.events()]


async def test_train_then_predict_matches_the_same_pipeline_fitted_in_process(
    settings, store, upload, regression_frame, job_containers
) -> None:
    frame = regression_frame(150)
    dataset = upload("alice", frame)
    async with Controller(settings=settings, store=store) as controller:
        train = await controller.submit(
            TrainRequest(
                user_id="alice", model_type="linear", dataset_id=dataset.dataset_id, target_column="price"
            )
        )
        events = await _collect_events(train)
        trained = await train.result()

        new_rows = regression_frame(40, seed=7).drop(columns=["price"])
        scoring = upload("alice", new_rows, "new.csv.parquet")
        predict = await controller.submit(
            PredictRequest(user_id="alice", model_id=trained.model.model_id, dataset_id=scoring.dataset_id)
        )
        predicted = await predict.result()

        # Another user's model is as unknown as a model that does not exist.
        bobs = upload("bob", new_rows)
        with pytest.raises(NotFoundError) as theirs:
            await controller.submit(
                PredictRequest(user_id="bob", model_id=trained.model.model_id, dataset_id=bobs.dataset_id)
            )
        with pytest.raises(NotFoundError) as nobodys:
            await controller.submit(PredictRequest(user_id="bob", model_id="model_00000000", dataset_id=bobs.dataset_id))
        assert theirs.value.user_message.replace(trained.model.model_id, "ID") == nobodys.value.user_message.replace(
            "model_00000000", "ID"
        )

    started = [e for e in events if isinstance(e, JobStarted)]
    assert len(started) == 1 and isinstance(events[-1], JobFinished)
    assert events[-1].reason == ExitReason.SUCCESS
    assert any(isinstance(e, JobProgress) and e.percent == 100 for e in events)

    job = trained.job
    assert job.state == JobState.SUCCEEDED and job.exit_code == 0
    assert job.container_id == started[0].container_id and job.image_id == settings.runner.image
    for timing in (job.queue_wait_seconds, job.container_create_seconds, job.container_start_seconds, job.run_seconds):
        assert timing is not None and timing >= 0
    assert job.peak_memory_mb and 0 < job.peak_memory_mb <= settings.container.memory_mb
    assert trained.model.model_id == job.model_id and trained.plots and all(p.is_file() for p in trained.plots)
    assert store.model_dir(trained.model).is_dir()
    assert not (store.job_dir(job.job_id, "alice") / "input").exists()

    spec = TrainSpec.model_validate(job.spec)
    data = prepare_training(spec=spec, frame=frame)
    from sklearn.model_selection import train_test_split

    X_train, _, y_train, _ = train_test_split(data.X, data.y, test_size=spec.test_size, random_state=spec.seed)
    pipeline = build_pipeline(spec=spec, data=data).fit(X_train, y_train)
    in_process = pipeline.predict(new_rows[data.features])
    in_container = pd.read_parquet(predicted.predictions_parquet)["prediction"].to_numpy()
    np.testing.assert_allclose(in_container, in_process, rtol=0, atol=1e-9)
    assert predicted.predictions_csv is not None and predicted.predictions_csv.is_file()
    assert predicted.result.predict.rows == 40
    assert not job_containers()


HOSTILE = [
    "__import__('os').system('touch /tmp/pwned')",
    "$(rm -rf /); `reboot` && echo ${HOME} | tee /etc/passwd",
    "it's \"quoted\" \\ back\\slashed",
    "größe 📈 面积 ñ",
    "x" * 300,
]


async def test_hostile_column_names_train_and_predict_like_any_other(
    settings, store, upload, job_containers
) -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({name: rng.normal(size=80) for name in HOSTILE[:-1]})
    frame[HOSTILE[-1]] = rng.choice(["a", "b"], size=80)
    target = HOSTILE[0]
    dataset = upload("mallory", frame)
    async with Controller(settings=settings, store=store) as controller:
        trained = await (
            await controller.submit(
                TrainRequest(
                    user_id="mallory",
                    model_type="random_forest",
                    dataset_id=dataset.dataset_id,
                    target_column=target,
                    hyperparameters={"n_estimators": 10},
                )
            )
        ).result()
        predicted = await (
            await controller.submit(
                PredictRequest(user_id="mallory", model_id=trained.model.model_id, dataset_id=dataset.dataset_id)
            )
        ).result()

    outcome = trained.result.train
    assert outcome.target_column == target
    assert set(outcome.feature_columns) == set(HOSTILE[1:])
    assert trained.model.target_column == target and set(trained.model.feature_columns) == set(HOSTILE[1:])
    scored = pd.read_parquet(predicted.predictions_parquet)
    assert list(scored.columns[: len(HOSTILE)]) == HOSTILE
    assert len(scored) == 80
    assert not job_containers()


async def test_the_runners_refusal_comes_back_as_bad_input_with_its_own_message(
    settings, store, upload, regression_frame, job_containers
) -> None:
    dataset = upload("carol", regression_frame(60))
    async with Controller(settings=settings, store=store) as controller:
        handle = await controller.submit(
            TrainRequest(
                user_id="carol",
                model_type="linear",
                dataset_id=dataset.dataset_id,
                target_column="price",
                feature_columns=["size", "no such column"],
            )
        )
        with pytest.raises(JobBadInput) as refused:
            await handle.result()
    assert "no such column" in refused.value.user_message
    assert refused.value.exit_code == 2 and refused.value.error_code == "missing_column"
    job = store.get_job(user_id="carol", job_id=handle.job_id)
    assert job.state == JobState.FAILED and job.exit_reason == ExitReason.BAD_INPUT
    assert job.user_message == refused.value.user_message
    assert not store.list_models(user_id="carol")
    assert not store.job_dir(handle.job_id, "carol").exists()
    assert not job_containers()


# The estimate would refuse this job before it starts; the deadline must hold when it is wrong.
@_with(container={"train_timeout_seconds": 2}, ml_engine={"check_time_estimate": False})
async def test_a_job_past_its_time_limit_is_killed_and_reported_as_a_timeout(
    settings, store, upload, heavy_frame, job_containers
) -> None:
    dataset = upload("dave", heavy_frame(20_000))
    async with Controller(settings=settings, store=store) as controller:
        handle = await controller.submit(
            TrainRequest(
                user_id="dave",
                model_type="random_forest",
                dataset_id=dataset.dataset_id,
                target_column="label",
                hyperparameters={"n_estimators": 500, "max_depth": 50},
            )
        )
        with pytest.raises(JobTimeout) as timed_out:
            await handle.result()
    job = store.get_job(user_id="dave", job_id=handle.job_id)
    assert "2 seconds" in timed_out.value.user_message
    assert job.exit_reason == ExitReason.TIMEOUT and job.state == JobState.FAILED
    assert 2 <= job.run_seconds < 10
    assert not store.list_models(user_id="dave")
    assert not job_containers()


@_with(container={"memory_mb": 200}, uploads={"max_bytes": 200 * 2**20})
async def test_a_job_past_its_memory_cap_is_reported_as_out_of_memory(
    settings, store, upload, heavy_frame, job_containers
) -> None:
    dataset = upload("erin", heavy_frame(300_000, 30))
    async with Controller(settings=settings, store=store) as controller:
        handle = await controller.submit(
            TrainRequest(user_id="erin", model_type="random_forest", dataset_id=dataset.dataset_id, target_column="label")
        )
        with pytest.raises(JobOutOfMemory) as killed:
            await handle.result()
    job = store.get_job(user_id="erin", job_id=handle.job_id)
    assert "200 MB" in killed.value.user_message
    assert job.exit_reason == ExitReason.OUT_OF_MEMORY and job.exit_code == 137
    assert job.peak_memory_mb >= 200
    assert not job_containers()


async def test_a_bad_hyperparameter_is_refused_before_any_container_starts(
    settings, store, upload, regression_frame, job_containers
) -> None:
    dataset = upload("frank", regression_frame(40))
    async with Controller(settings=settings, store=store) as controller:
        for hyperparameters in ({"n_estimators": 100_000}, {"n_estimators": "many"}, {"kernel": "rbf"}):
            with pytest.raises(TaskError) as refused:
                await controller.submit(
                    TrainRequest(
                        user_id="frank",
                        model_type="random_forest",
                        dataset_id=dataset.dataset_id,
                        target_column="price",
                        hyperparameters=hyperparameters,
                    )
                )
            assert refused.value.user_message
        with pytest.raises(NotFoundError):
            await controller.submit(
                TrainRequest(user_id="frank", model_type="linear", dataset_id="ds_000000000000", target_column="price")
            )
    assert not store.list_jobs(user_id="frank")
    assert not job_containers()


async def test_a_classifier_asked_for_a_quantity_is_refused_before_any_container_starts(
    settings, store, upload, regression_frame, job_containers
) -> None:
    dataset = upload("fran", regression_frame(60))
    async with Controller(settings=settings, store=store) as controller:
        with pytest.raises(TaskError) as refused:
            await controller.submit(
                TrainRequest(user_id="fran", model_type="logistic", dataset_id=dataset.dataset_id, target_column="price")
            )
    assert refused.value.user_message.startswith(
        "'price' has 60 different numbers, so it is a quantity to predict, not classes; use a regression model"
    )
    assert not store.list_jobs(user_id="fran")
    assert not job_containers()


@_with(queue={"per_user_queued": 1})
async def test_waiting_cap_and_cancelling_queued_and_running_jobs(
    settings, store, upload, heavy_frame, job_containers
) -> None:
    dataset = upload("gina", heavy_frame(20_000))
    task = TrainRequest(
        user_id="gina",
        model_type="random_forest",
        dataset_id=dataset.dataset_id,
        target_column="label",
        hyperparameters={"n_estimators": 500, "max_depth": 50},
    )
    async with Controller(settings=settings, store=store) as controller:
        running = await controller.submit(task)
        waiting = await controller.submit(task)
        with pytest.raises(QuotaError) as refused:
            await controller.submit(task)
        assert "1 jobs waiting" in refused.value.user_message

        async for event in running.events():
            if isinstance(event, JobStarted):
                break
        assert not await controller.cancel(job_id=running.job_id, user_id="someone_else")
        assert not await controller.cancel(job_id="job_000000000000", user_id=None)
        assert await controller.cancel(job_id=waiting.job_id, user_id="gina")
        assert await controller.cancel(job_id=running.job_id, user_id="gina")
        for handle in (waiting, running):
            with pytest.raises(JobCancelled):
                await asyncio.wait_for(handle.result(), 30)
        assert not await controller.cancel(job_id=running.job_id, user_id="gina")

    for handle in (waiting, running):
        job = store.get_job(user_id="gina", job_id=handle.job_id)
        assert job.state == JobState.CANCELLED and job.exit_reason == ExitReason.CANCELLED
    assert store.get_job(user_id="gina", job_id=waiting.job_id).container_id is None
    assert not store.list_models(user_id="gina")
    assert not job_containers()


@_with(quotas={"max_models_per_user": 1})
async def test_the_model_quota_counts_trainings_in_flight(
    settings, store, upload, regression_frame, job_containers
) -> None:
    dataset = upload("hank", regression_frame(40))
    task = TrainRequest(user_id="hank", model_type="linear", dataset_id=dataset.dataset_id, target_column="price")
    async with Controller(settings=settings, store=store) as controller:
        first = await controller.submit(task)
        with pytest.raises(QuotaError) as pending:
            await controller.submit(task)
        assert "1 more in training" in pending.value.user_message
        await first.result()
        with pytest.raises(QuotaError) as full:
            await controller.submit(task)
    assert "Delete one" in full.value.user_message
    assert len(store.list_models(user_id="hank")) == 1
    assert not job_containers()


# The model folder alone (model file and metadata) is over the cap: refused when it is taken.
@_with(quotas={"max_artifacts": 1})
async def test_output_over_the_artifact_cap_is_refused_and_nothing_is_kept(
    settings, store, upload, regression_frame, job_containers
) -> None:
    dataset = upload("ivy", regression_frame(40))
    async with Controller(settings=settings, store=store) as controller:
        handle = await controller.submit(
            TrainRequest(user_id="ivy", model_type="linear", dataset_id=dataset.dataset_id, target_column="price")
        )
        with pytest.raises(JobOutputTooLarge):
            await handle.result()
    job = store.get_job(user_id="ivy", job_id=handle.job_id)
    assert job.exit_reason == ExitReason.OUTPUT_OVER_QUOTA and job.exit_code == 0
    assert not store.list_models(user_id="ivy")
    assert not store.job_dir(handle.job_id, "ivy").exists()
    assert not job_containers()


@_with(container={"keep_failed_containers": True})
async def test_a_failed_jobs_container_is_kept_for_inspection_when_configured(
    settings, store, upload, regression_frame, job_containers, docker_client
) -> None:
    dataset = upload("jack", regression_frame(40))
    async with Controller(settings=settings, store=store) as controller:
        handle = await controller.submit(
            TrainRequest(user_id="jack", model_type="linear", dataset_id=dataset.dataset_id, target_column="nope")
        )
        with pytest.raises(JobBadInput):
            await handle.result()
    job = store.get_job(user_id="jack", job_id=handle.job_id)
    try:
        async with Controller(settings=settings, store=store):  # its start reconciles: the kept one stays
            kept = job_containers()
        assert [c.id for c in kept] == [job.container_id] and kept[0].status == "exited"
        assert "nope" in docker_client.api.logs(job.container_id).decode()
    finally:
        docker_client.api.remove_container(job.container_id, force=True)


# The real runner trains, then its output is tampered with as a subverted job could: one of
# the plots it reports becomes a link to a host file (a path the container itself never sees).
PLANT_LINK = textwrap.dedent(
    """
    import os, sys
    from runner._progress import Reporter
    from runner.cli import main
    saved = Reporter.saved
    def plant(self, *args):  # the saved model's file becomes a link, then the host is told to take it
        model = next(p for p in os.listdir("/job/output/model") if p.startswith("model."))
        os.remove("/job/output/model/" + model)
        os.symlink(sys.argv[1], "/job/output/model/" + model)
        saved(self, *args)
    Reporter.saved = plant
    sys.exit(main(sys.argv[2:]))
    """
)


async def test_a_link_in_a_jobs_output_fails_the_job_and_nothing_of_it_is_kept(
    settings, store, upload, regression_frame, job_containers, tmp_path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("a host file no job may hand out")
    dataset = upload("kate", regression_frame(40))
    backend = Hooked(PLANT_LINK, str(secret))
    try:
        async with Controller(settings=settings, store=store, backend=backend) as controller:
            handle = await controller.submit(
                TrainRequest(user_id="kate", model_type="linear", dataset_id=dataset.dataset_id, target_column="price")
            )
            with pytest.raises(JobCrashed) as crashed:
                await handle.result()
    finally:
        await backend.close()
    assert "not a file" in str(crashed.value) and "model" in str(crashed.value)
    assert crashed.value.user_message == JobCrashed.default_user_message
    job = store.get_job(user_id="kate", job_id=handle.job_id)
    assert job.state == JobState.FAILED and job.exit_reason == ExitReason.CRASHED and job.exit_code == 0
    assert not store.list_models(user_id="kate")
    assert not store.job_dir(handle.job_id, "kate").exists()
    assert secret.read_text() == "a host file no job may hand out"
    assert not job_containers()


@_with(quotas={"max_result_json_bytes": 1024})
async def test_a_result_over_its_size_cap_is_refused(
    settings, store, upload, regression_frame, job_containers
) -> None:
    dataset = upload("liam", regression_frame(40))
    backend = Hooked("open('/job/output/result.json', 'w').write('{' + ' ' * 2000 + '}')")
    try:
        async with Controller(settings=settings, store=store, backend=backend) as controller:
            handle = await controller.submit(
                TrainRequest(user_id="liam", model_type="linear", dataset_id=dataset.dataset_id, target_column="price")
            )
            with pytest.raises(JobOutputTooLarge) as refused:
                await handle.result()
    finally:
        await backend.close()
    assert "over the cap of 1024" in str(refused.value)
    job = store.get_job(user_id="liam", job_id=handle.job_id)
    assert job.exit_reason == ExitReason.OUTPUT_OVER_QUOTA and job.result is None
    assert not store.job_dir(handle.job_id, "liam").exists()
    assert not job_containers()
