"""End to end: the real aiogram Dispatcher polls the fake Bot API server, with the real dialogue,
store, controller and job containers behind it. One bot serves the whole module."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import pytest_asyncio
from fake_server import FakeTelegramServer, FakeUser

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="session")]

JOB_TIMEOUT = 180
MODEL_ID = re.compile(r"Model ID: (\S+)")
TRAINING_ACCEPTED = "→ price\n⏳ Accepted as"  # a training's status (an upload's reads "📥 Reading ...")


def regression_csv(rows: int, *, seed: int, with_price: bool = True) -> bytes:
    """price = 3·age + 2·size + 5, plus a little noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"age": rng.integers(1, 60, rows), "size": rng.uniform(20, 200, rows).round(1)})
    if with_price:
        frame["price"] = (3 * frame["age"] + 2 * frame["size"] + 5 + rng.normal(0, 1, rows)).round(2)
    return frame.to_csv(index=False).encode()


def classification_csv(rows: int, *, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    income = rng.uniform(10, 100, rows).round(1)
    debt = rng.uniform(0, 50, rows).round(1)
    region = rng.choice(["north", "south", "east"], rows)
    outcome = np.where(income - debt > 35, "approved", "denied")
    frame = pd.DataFrame({"income": income, "debt": debt, "region": region, "outcome": outcome})
    return frame.to_csv(index=False).encode()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def telegram(tmp_path_factory: pytest.TempPathFactory, start_bot: Callable[..., AbstractAsyncContextManager[None]]) -> AsyncIterator[FakeTelegramServer]:
    """The fake server with a bot polling it for the whole module."""
    server = FakeTelegramServer()
    await server.start()
    try:
        async with start_bot(server, tmp_path_factory.mktemp("e2e-data")):
            yield server
    finally:
        await server.close()


async def upload(user: FakeUser, filename: str, data: bytes) -> str:
    """The summary of the table, once its ingest job has read it."""
    user.upload(filename, data)
    return (await user.expect("sendMessage", f"📋 {filename}", timeout=JOB_TIMEOUT)).text


async def train_result(user: FakeUser) -> tuple[str, str]:
    result = await user.expect("sendMessage", "Model Training Complete", timeout=JOB_TIMEOUT)
    match = MODEL_ID.search(result.text)
    assert match, result.text
    return result.text, match.group(1)


async def test_regression_with_progress_plots_and_predictions(telegram: FakeTelegramServer, tmp_path: Path) -> None:
    alice = telegram.user(1001, "Alice")
    summary = await upload(alice, "houses.csv", regression_csv(80, seed=1))
    assert "80 rows, 3 columns" in summary

    alice.say("Train a linear regression model to predict price using age and size")
    status = await alice.expect("sendMessage", TRAINING_ACCEPTED)
    text, model_id = await train_result(alice)
    assert "R2" in text and "Linear Regression" in text
    assert f"/predict {model_id}" in text

    # The metrics come as soon as the model is saved; the plots after the job's end.
    photo = await alice.expect("sendPhoto")
    assert photo.file.data.startswith(b"\x89PNG")
    # Progress: the training's one status message was edited as the job moved, ending with "Done".
    edits = [e for e in alice.calls("editMessageText") if "Reading houses.csv" not in e.text]
    assert edits and {e.message_id for e in edits} == {status.message_id}
    assert any("%" in e.text for e in edits)
    assert "Done" in edits[-1].text

    new_rows = regression_csv(7, seed=2, with_price=False)
    await upload(alice, "new_houses.csv", new_rows)
    alice.say(f"Use model {model_id} to make predictions")
    answer = await alice.expect("sendMessage", "Predictions Generated", timeout=JOB_TIMEOUT)
    assert "Row 1:" in answer.text and "... and 2 more" in answer.text
    document = await alice.expect("sendDocument", timeout=30)
    assert document.file.filename.endswith(".csv")

    sent = pd.read_csv(io.StringIO(new_rows.decode()))
    predicted = pd.read_csv(io.BytesIO(document.file.data))
    pd.testing.assert_frame_equal(predicted[["age", "size"]], sent)
    expected = 3 * sent["age"] + 2 * sent["size"] + 5
    assert np.allclose(predicted["prediction"], expected, atol=2.0)
    assert f"Row 1: {predicted['prediction'][0]:.4f}" in answer.text


async def test_random_forest_classifier_in_words(telegram: FakeTelegramServer) -> None:
    bob = telegram.user(1002, "Bob")
    await upload(bob, "loans.csv", classification_csv(120, seed=3))
    bob.say("Train a random forest to classify outcome using all features")
    text, _ = await train_result(bob)
    assert "Random Forest" in text
    assert "Accuracy" in text and "F1" in text
    assert "income" in text and "region" in text  # all features, the target excluded


async def test_two_users_at_once_see_only_their_own(telegram: FakeTelegramServer) -> None:
    carol, dave = telegram.user(1003, "Carol"), telegram.user(1004, "Dave")
    await asyncio.gather(
        upload(carol, "carol.csv", regression_csv(60, seed=4)),
        upload(dave, "dave.csv", regression_csv(50, seed=5)),
    )
    carol.say("Train a random forest to predict price using age and size")
    await carol.expect("sendMessage", TRAINING_ACCEPTED)

    # While Carol's container runs, Dave is answered at once.
    dave.say("/help")
    await dave.expect("sendMessage", "I train machine-learning models", timeout=5)
    assert not carol.calls("sendPhoto"), "Carol's job should still be running"

    _, carol_model = await train_result(carol)
    dave.say(f"Use model {carol_model} to make predictions")
    await dave.expect("sendMessage", f"Model '{carol_model}' not found", timeout=30)
    dave.say("/models")
    assert "no models yet" in (await dave.expect("sendMessage", "models", timeout=10)).text

    # Nothing of one chat ever reached the other, and no message went to any other chat.
    dave_jobs = [c for c in dave.calls("editMessageText") if "Reading dave.csv" not in c.text]
    assert not dave_jobs and not dave.calls("sendPhoto") and not [c for c in dave.calls() if "carol.csv" in c.text]
    assert not [c for c in carol.calls() if "dave.csv" in c.text or "I train machine-learning models" in c.text]
    assert {c.chat_id for c in telegram.calls} <= {None, 1001, 1002, carol.chat_id, dave.chat_id}


async def test_a_correlation_table_and_a_plot_photo(telegram: FakeTelegramServer) -> None:
    erin = telegram.user(1005, "Erin")
    await upload(erin, "houses.csv", regression_csv(80, seed=6))
    erin.say("correlation between age and price")
    table = await erin.expect("sendMessage", "🔗 age and price: 80 rows with both", timeout=JOB_TIMEOUT)
    assert table.params["entities"] == [{"type": "pre", "offset": 0, "length": len(table.text.encode("utf-16-le")) // 2}]
    assert "Pearson" in table.text and "Spearman" in table.text

    erin.say("plot price against size")
    photo = await erin.expect("sendPhoto", "price against size", timeout=JOB_TIMEOUT)
    assert photo.file.data.startswith(b"\x89PNG")
