"""'Which model is best?' in chat: a target question, one status message, the leaderboard and its chart."""

from __future__ import annotations

import re

import pytest
from chatkit import sample

from bot import Photo
from bot._compare import CompareRequest, compare_request, tune_request


PNG = b"\x89PNG\r\n\x1a\n"
CLASSIFIERS = ["Logistic Regression", "SVM", "Random Forest", "Gradient Boosting", "Hist Gradient Boosting"]


@pytest.mark.docker
@pytest.mark.asyncio(loop_scope="session")
async def test_compare_asks_for_a_target_then_answers_with_a_leaderboard_and_a_chart(user) -> None:
    zoe = user("zoe")
    await zoe.sends("customers.csv", sample("customers.csv"))
    asked = await zoe.says("/compare")
    assert asked.startswith("Which column should the models predict?")

    await zoe.presses("outcome", wait=True)
    status = zoe.sink.status("🏁 Comparing 5 models → outcome")
    assert status.endswith("✅ 5 of 5 candidates done")
    assert any("of 5 candidates done" in text for text in zoe.sink.edits_of("🏁 Comparing"))
    board = next(t for t in zoe.sink.texts() if t.startswith("🏆 Which model is best for 'outcome'?"))
    rows = [line for line in board.splitlines() if line[:2].rstrip(".").isdigit()]
    assert sorted(row.split(". ", 1)[1].split(":")[0] for row in rows) == sorted(CLASSIFIERS)
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
    await zoe.says(f"/model {model_id}")  # a logistic winner's card is followed by its coefficient table
    details = next(t for t in zoe.sink.texts() if t.startswith(f"🧠 Model {model_id}"))
    assert "🔁 To reproduce:" in details and "Seed: 42" in details
    assert re.search(r"Data SHA-256: [0-9a-f]{64}", details) and "Runner image: sha256:" in details


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


def test_other_requests_are_not_comparisons() -> None:
    assert compare_request("train a random forest for price") is None
    assert compare_request("compare model_1a2b3c4d with the new table") is None


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
