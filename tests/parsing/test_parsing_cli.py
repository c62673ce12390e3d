"""`statagent parse --data FILE "TEXT"`: the offline parser's task as JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bot.parsing import register
from config import Settings, load_settings
from config.errors import UploadError


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(env={})


@pytest.fixture
def houses_csv(tmp_path: Path) -> Path:
    path = tmp_path / "houses.csv"
    rows = ["price,Age,size,city,sold"] + [
        f"{100 + i},{i},{50 + i},{'AB'[i % 2]},{'yes' if i % 3 else 'no'}" for i in range(12)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def run(argv: list[str], settings: Settings, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    parser = argparse.ArgumentParser(prog="statagent")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.func(args, settings)
    return code, json.loads(capsys.readouterr().out)


def test_parse_prints_the_task(
    houses_csv: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = run(
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
    assert (task["task_type"], task["operation"], task["model_type"]) == (
        "ml_train",
        "train_model",
        "random_forest",
    )
    assert (task["target_column"], task["feature_columns"]) == ("price", ["Age", "size"])
    assert task["hyperparameters"] == {"n_estimators": 200}


def test_parse_uses_the_kinds_of_the_table(
    houses_csv: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = run(
        ["parse", "--data", str(houses_csv), "train a model to predict sold"], settings, capsys
    )
    assert code == 0 and report["task"] is None
    [question] = report["questions"]
    assert question["field"] == "model_type"
    assert question["options"] == ["logistic", "random_forest", "gradient_boosting", "svm", "neural_network"]


def test_parse_of_a_prediction_with_model_ids(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run(
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
    assert report["task"]["model_id"] == "model_1a2b3c4d" and report["task"]["operation"] == "predict"


def test_parse_reports_a_value_the_task_refuses(
    houses_csv: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = run(
        ["parse", "--data", str(houses_csv), "train ridge for price, hold out 130%"], settings, capsys
    )
    assert code == 2
    assert report["task"] is None and "test_size = 1.3 is not allowed" in report["error"]


def test_parse_of_an_unreadable_file_raises_its_upload_error(
    tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(UploadError) as refused:
        run(["parse", "--data", str(empty), "train a model"], settings, capsys)
    assert refused.value.user_message  # the dispatcher prints it and exits with 2
