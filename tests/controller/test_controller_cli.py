"""`statagent job ...` and `statagent admin ...`, run through `controller.cli.register`."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from config import Settings
from controller import ContainerRequest, DockerBackend
from controller._lock import ControllerLock
from controller.cli import register
from runner.spec import ModelType
from store import ExitReason, JobKind, JobState, Store

pytestmark = pytest.mark.docker


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="statagent")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


async def _run(settings: Settings, *argv: str) -> int:
    args = _parser().parse_args(argv)
    return await args.func(args, settings)


def test_params_are_json_when_they_can_be_and_text_otherwise() -> None:
    args = _parser().parse_args(
        ["job", "train", "--user", "u", "--data", "t.csv", "--target", "y", "--features", "a, b ,c"]
        + ["--param", "n_estimators=200", "--param", "hidden_layers=[64,32]", "--param", "kernel=rbf"]
        + ["--param", "learning_rate=0.05"]
    )
    assert args.param == [
        ("n_estimators", 200),
        ("hidden_layers", [64, 32]),
        ("kernel", "rbf"),
        ("learning_rate", 0.05),
    ]
    assert args.features == ["a", "b", "c"] and args.model == "random_forest"
    with pytest.raises(SystemExit):
        _parser().parse_args(["job", "train", "--user", "u", "--data", "t.csv", "--target", "y", "--param", "oops"])


def test_model_and_state_choices_are_the_enum_values(capsys: pytest.CaptureFixture[str]) -> None:
    train = ["job", "train", "--user", "u", "--data", "t.csv", "--target", "y"]
    assert _parser().parse_args([*train, "--model", "ridge"]).model == ModelType.RIDGE.value
    assert _parser().parse_args(train).model == ModelType.RANDOM_FOREST.value
    with pytest.raises(SystemExit):
        _parser().parse_args([*train, "--model", "nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err
    assert _parser().parse_args(["admin", "jobs", "--state", "failed"]).state == JobState.FAILED.value
    with pytest.raises(SystemExit):
        _parser().parse_args(["admin", "jobs", "--state", "nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _parser().parse_args(["job", "train", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert all(model.value in shown for model in ModelType)


async def test_job_train_and_predict_print_their_results_and_admin_shows_them(
    settings, regression_frame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "houses.csv"
    regression_frame(80).to_csv(table, index=False)
    assert await _run(settings, "job", "train", "--user", "olga", "--data", str(table), "--target", "price",
                      "--model", "ridge", "--param", "alpha=0.5") == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["state"] == "succeeded" and trained["model_id"].startswith("model_")
    assert trained["image_id"] == settings.runner.image and trained["container_id"]
    assert trained["metrics"]["test"]["r2"] > 0.9
    assert trained["result"]["train"]["hyperparameters"] == {"alpha": 0.5}
    assert trained["timings"]["run_seconds"] > 0

    new_rows = tmp_path / "new.csv"
    regression_frame(10, seed=5).drop(columns=["price"]).to_csv(new_rows, index=False)
    assert await _run(settings, "job", "predict", "--user", "olga", "--model", trained["model_id"],
                      "--data", str(new_rows)) == 0
    predicted = json.loads(capsys.readouterr().out)
    assert predicted["result"]["predict"]["rows"] == 10
    assert Path(predicted["predictions_csv"]).is_file()

    assert await _run(settings, "job", "predict", "--user", "pete", "--model", trained["model_id"],
                      "--data", str(new_rows)) == 2
    assert "not found" in capsys.readouterr().err

    assert await _run(settings, "admin", "jobs", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    # Each --data FILE was read by an ingest job of its own, before the job it was for; pete's
    # unknown model was refused before his file was read.
    assert [job["kind"] for job in listed] == ["predict", "ingest", "train", "ingest"]
    assert [job["job_id"] for job in listed if job["kind"] != "ingest"] == [predicted["job_id"], trained["job_id"]]
    assert await _run(settings, "admin", "jobs", "--user", "olga", "--state", "succeeded") == 0
    table_out = capsys.readouterr().out
    assert trained["job_id"] in table_out and "succeeded" in table_out

    assert await _run(settings, "admin", "job", trained["job_id"]) == 0
    shown = capsys.readouterr().out
    assert trained["container_id"] in shown and "(removed)" in shown
    with Store.from_settings(settings) as store:
        runtime = store.get_job_admin(trained["job_id"]).runtime
    assert runtime in ("runc", "runsc") and re.search(rf"^runtime +{runtime}$", shown, re.MULTILINE)
    assert '"target_column": "price"' in shown and "log tail:" in shown
    assert await _run(settings, "admin", "job", trained["job_id"], "--json") == 0
    assert json.loads(capsys.readouterr().out)["peak_memory_mb"] > 0


async def _orphan(settings: Settings, store: Store, backend: DockerBackend, *, user_id: str, instance_id: str) -> str:
    """A running job of `instance_id` whose container just sleeps."""
    job = store.create_job(user_id=user_id, kind=JobKind.TRAIN, spec={}, instance_id=instance_id)
    folder = store.job_dir(job.job_id, user_id)
    (folder / "input").mkdir(parents=True)
    (folder / "output").mkdir()
    started = await backend.start(
        ContainerRequest(
            job_id=job.job_id,
            user_id=user_id,
            kind=JobKind.TRAIN,
            instance_id=instance_id,
            data_dir=settings.data_dir,
            image_id=settings.runner.image,
            input_dir=folder / "input",
            output_dir=folder / "output",
            limits=settings.container,
            runner_user=settings.runner.user,
            max_file_bytes=2**20,
            cpu_seconds=120,
            entrypoint=("python", "-c", "import time; time.sleep(120)"),
        )
    )
    store.update_job(job.job_id, state=JobState.RUNNING, container_id=started.container_id)
    return job.job_id


async def test_admin_gc_spares_the_live_controller_and_kill_cancels_a_job(
    settings, store, capsys: pytest.CaptureFixture[str], job_containers
) -> None:
    async with DockerBackend() as backend:
        with ControllerLock.acquire(settings.data_dir, instance_id="ctl-alive"):
            dead_job = await _orphan(settings, store, backend, user_id="quinn", instance_id="ctl-dead")
            live_job = await _orphan(settings, store, backend, user_id="quinn", instance_id="ctl-alive")

            assert await _run(settings, "admin", "containers", "--json") == 0
            listed = json.loads(capsys.readouterr().out)
            assert {dead_job, live_job} <= {c["labels"]["statagent.job_id"] for c in listed}
            runtime = await backend.resolve_runtime(settings.container.runtime)
            assert {c["runtime"] for c in listed if c["labels"]["statagent.job_id"] in (dead_job, live_job)} == {runtime}

            assert await _run(settings, "admin", "gc", "--json") == 0
            report = json.loads(capsys.readouterr().out)
            assert report["live_controller"] == "ctl-alive"
            assert [c.labels["statagent.job_id"] for c in job_containers()] == [live_job]
            assert store.get_job_admin(dead_job).state == JobState.INTERRUPTED
            assert store.get_job_admin(live_job).state == JobState.RUNNING

            assert await _run(settings, "admin", "kill", live_job) == 0
            assert "cancelled" in capsys.readouterr().out
            killed = store.get_job_admin(live_job)
            assert killed.state == JobState.CANCELLED and killed.exit_reason == ExitReason.CANCELLED
            assert not [c for c in job_containers() if c.status == "running"]

    # With no controller alive, gc removes the rest, as a starting controller would.
    assert await _run(settings, "admin", "gc") == 0
    assert "containers removed: 1" in capsys.readouterr().out
    assert not job_containers()
    assert not store.job_dir(live_job, "quinn").exists() and not store.job_dir(dead_job, "quinn").exists()
    assert await _run(settings, "admin", "kill", "job_000000000000") == 2
