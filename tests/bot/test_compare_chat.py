"""'Which model is best?' in chat: a target question, one status message, the leaderboard and its chart."""

from __future__ import annotations

import re

import pytest
from chatkit import sample

from bot import Photo
from bot._compare import CompareRequest, compare_command, compare_request, tune_command, tune_request


PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.docker
@pytest.mark.asyncio(loop_scope="session")
async def test_compare_asks_for_a_target_then_answers_with_a_leaderboard_and_a_chart(user, chat_store) -> None:
    # Every suitable model is a candidate by default (tests/controller/test_controller_compare.py);
    # here the user names three, and the target question keeps them.
    zoe = user("zoe")
    await zoe.sends("customers.csv", sample("customers.csv"))
    asked = await zoe.says("/compare logistic regression, svm and random forest")
    assert asked.startswith("Which column should the models predict?")

    await zoe.presses("outcome", wait=True)
    status = zoe.sink.status("🏁 Comparing 3 models → outcome")
    assert status.endswith("✅ 3 of 3 candidates done")
    assert any("of 3 candidates done" in text for text in zoe.sink.edits_of("🏁 Comparing"))
    board = next(t for t in zoe.sink.texts() if t.startswith("🏆 Which model is best for 'outcome'?"))
    rows = [line for line in board.splitlines() if line[:2].rstrip(".").isdigit()]
    assert sorted(row.split(". ", 1)[1].split(":")[0] for row in rows) == ["Logistic Regression", "Random Forest", "SVM"]
    assert "Baseline (always the most common class)" in board
    assert board.splitlines()[-1].startswith("Best")
    (chart,) = [p for p in zoe.sink.photos() if p.path.name == "leaderboard.png"]
    assert isinstance(chart, Photo) and chart.path.read_bytes().startswith(PNG)
    # The winner is the best mean CV score: the rows come best first and the sentence names the first.
    means = [float(row.split("CV ")[1].split(" ±")[0]) for row in rows]
    assert means == sorted(means, reverse=True)
    winner = rows[0].split(". ", 1)[1].split(":")[0]
    assert f"Best mean score: {winner} (" in board or f"Best: {winner} (" in board

    # Every candidate's model is kept; /model says how to reproduce it.
    model_id = rows[0].rsplit("— ", 1)[1]
    before = len(zoe.sink.texts())
    await zoe.says(f"/model {model_id}")
    # The card is one message; the coefficient table and the fit notes follow it.
    details = next(t for t in zoe.sink.texts()[before:] if "🔁 To reproduce:" in t)
    assert "Seed: 42" in details
    assert re.search(r"Data SHA-256: [0-9a-f]{64}", details) and "Runner image: sha256:" in details

    # A named model that cannot predict classes is refused before any job, with the ones that can.
    jobs = len(chat_store.list_jobs(user_id="zoe"))
    refused = await zoe.says("lasso vs random forest for outcome")
    assert refused.startswith("'outcome' is classes, which lasso does not predict. These can: logistic, SVM,")
    assert len(chat_store.list_jobs(user_id="zoe")) == jobs


@pytest.mark.parametrize(
    ("words", "target", "neural"),
    [
        ("which model is best for price?", "price", False),
        ("compare models for species", "species", False),
        ("What model works best to predict outcome", "outcome", False),
        ("which model is best for price, including neural networks?", "price", True),
        ("compare models", None, False),
        ("which model predicts weather best?", "weather", False),
        ("what's the best model for species?", "species", False),
    ],
)
def test_comparison_words(words, target, neural) -> None:
    assert compare_request(words) == CompareRequest(target=target, include_neural_network=neural)


@pytest.mark.parametrize(
    ("words", "target", "models"),
    [
        ("compare ridge, lasso and elastic net for price", "price", {"ridge", "lasso", "elasticnet"}),
        ("Random forest vs. SVM on species?", "species", {"random_forest", "svm"}),
        ("compare models for price ridge lasso", "price", {"ridge", "lasso"}),  # after /compare
        ("compare the linear and the polynomial models to predict mpg", "mpg", {"linear", "polynomial"}),
        ("ols versus lasso", None, {"linear", "lasso"}),
        ("which is better for violent: random forest or lasso?", "violent", {"random_forest", "lasso"}),
        ("Is ridge or lasso better at predicting murder?", "murder", {"ridge", "lasso"}),
        ("random forest or SVM, which one works best for species", "species", {"random_forest", "svm"}),
        ("compare ridge and neural networks for y", "y", {"ridge", "neural_network"}),
    ],
)
def test_named_candidates(words, target, models) -> None:
    request = compare_request(words)
    assert request is not None and request.target == target
    assert {m.value for m in request.models} == models


def test_a_stand_in_for_a_named_model_is_said() -> None:
    request = compare_request("compare xgboost and random forest for price")
    assert request is not None and {m.value for m in request.models} == {"gradient_boosting", "random_forest"}
    assert request.notes and "XGBoost" in request.notes[0]


def test_other_requests_are_not_comparisons() -> None:
    assert compare_request("train a random forest for price") is None
    assert compare_request("compare model_1a2b3c4d with the new table") is None
    assert compare_request("compare price and age") is None
    assert compare_request("is the price higher for ridge or lasso") is None
    assert compare_request("which is better: more trees or fewer?") is None
    assert compare_request("compare a random forest with 500 trees and lasso for price") is None  # a setting


@pytest.mark.docker
@pytest.mark.asyncio(loop_scope="session")
async def test_tune_in_words_reports_the_best_settings_against_the_defaults(user) -> None:
    tom = user("tom")
    await tom.sends("houses.csv", sample("houses.csv"))
    assert (await tom.says("tune the lasso for price", wait=True)).startswith("🎛 Tuned: tried 20 settings")
    answer = tom.sink.last.text
    assert re.search(r"Cross-validated R²: -?[0-9.]+ against -?[0-9.]+ with the default settings", answer)
    assert any(t.startswith("🎯 Model Training Complete!") for t in tom.sink.texts())


@pytest.mark.parametrize(
    ("words", "model", "target"),
    [
        ("tune the random forest for price", "random_forest", "price"),
        ("optimise the SVM to predict species", "svm", "species"),
        ("find the best settings for gradient boosting on medv", "gradient_boosting", "medv"),
        ("tune random_forest price", "random_forest", "price"),
        ("tune lasso", "lasso", None),
    ],
)
def test_tuning_words(words, model, target) -> None:
    request = tune_request(words)
    assert request is not None and request.model.value == model and request.target == target


@pytest.mark.parametrize(
    ("words", "target", "models", "neural"),
    [
        ("price", "price", set(), False),
        ("price, including neural networks", "price", set(), True),
        ("price ridge lasso", "price", {"ridge", "lasso"}, False),
        ("logistic regression, svm and random forest", None, {"logistic", "svm", "random_forest"}, False),
        ("", None, set(), False),
    ],
)
def test_the_words_after_compare(words, target, models, neural) -> None:
    request = compare_command(words)
    assert (request.target, {m.value for m in request.models}, request.include_neural_network) == (
        target,
        models,
        neural,
    )


@pytest.mark.parametrize(
    ("words", "model", "target"),
    [("random_forest price", "random_forest", "price"), ("the lasso for price", "lasso", "price"), ("", None, None)],
)
def test_the_words_after_tune(words, model, target) -> None:
    request = tune_command(words)
    assert (request.model and request.model.value, request.target) == (model, target)
