"""`statagent parse --data FILE "TEXT"`: the offline parser's task as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

from bot.parsing import register
from config import LoggingSettings, Settings, load_settings
from errors import JobBadInput
from config.log import configure_logging

pytestmark = pytest.mark.docker


@pytest.fixture
def settings(runner_image: str, tmp_path: Path) -> Settings:
    """The checkout's runner image: --data FILE is read by an ingest job, in a container.

    Logs go to stderr, as `statagent` sends them: stdout is the command's JSON.
    """
    configure_logging(LoggingSettings(), stream=sys.__stderr__)
    return load_settings(env={}, overrides={"runner": {"image": runner_image}, "data_dir": str(tmp_path / "data")})


@pytest.fixture
def houses_csv(tmp_path: Path) -> Path:
    path = tmp_path / "houses.csv"
    rows = ["price,Age,size,city,sold"] + [
        f"{100 + i},{i},{50 + i},{'AB'[i % 2]},{'yes' if i % 3 else 'no'}" for i in range(12)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


async def run(argv: list[str], settings: Settings, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    parser = argparse.ArgumentParser(prog="statagent")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = await args.func(args, settings)
    return code, json.loads(capsys.readouterr().out)


async def test_parse_prints_the_task(
    houses_csv: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = await run(
        [
            "parse",
            "--data",
            str(houses_csv),
            "train a random forest with 200 trees to predict Price from age and size",
        ],
        settings,
        capsys,
    )
    assert code == 0
    assert report["intent"] == "train" and report["questions"] == []
    assert report["notes"] == ["Matched 'Price' to column 'price'.", "Matched 'age' to column 'Age'."]
    task = report["task"]
    assert (task["kind"], task["model_type"]) == ("train", "random_forest")
    assert (task["target_column"], task["feature_columns"]) == ("price", ["Age", "size"])
    assert task["hyperparameters"] == {"n_estimators": 200}


async def test_parse_uses_the_kinds_of_the_table(
    houses_csv: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = await run(
        ["parse", "--data", str(houses_csv), "train a model to predict sold"], settings, capsys
    )
    assert code == 0 and report["task"] is None
    [question] = report["questions"]
    assert question["field"] == "model_type"
    assert question["options"] == [
        "logistic", "random_forest", "gradient_boosting", "hist_gradient_boosting", "svm", "neural_network"
    ]


async def test_parse_of_a_prediction_with_model_ids(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = await run(
        [
            "parse",
            "--model-id",
            "model_1a2b3c4d",
            "--model-id",
            "model_00ff00ff",
            "predict with my last model",
        ],
        settings,
        capsys,
    )
    assert code == 0
    assert report["task"]["model_id"] == "model_1a2b3c4d" and report["task"]["kind"] == "predict"


async def test_parse_reports_a_value_the_task_refuses(
    houses_csv: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = await run(
        ["parse", "--data", str(houses_csv), "train ridge for price, hold out 130%"], settings, capsys
    )
    assert code == 2
    assert report["task"] is None and "test_size = 1.3 is not allowed" in report["error"]


async def test_parse_of_an_unreadable_file_raises_the_ingest_jobs_error(
    tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(JobBadInput) as refused:
        await run(["parse", "--data", str(empty), "train a model"], settings, capsys)
    # The dispatcher prints it and exits with 2.
    assert refused.value.user_message.startswith("This file is empty.")


async def test_parse_shows_what_the_bot_answers_instead_of_a_job(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = await run(["parse", "glm(y ~ x, family = poisson)"], settings, capsys)
    assert code == 0 and report["task"] is None
    assert report["reply"].startswith("The poisson family is not supported yet")
