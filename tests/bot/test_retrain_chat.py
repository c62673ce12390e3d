"""'Retrain model_x on the new table' in chat: the same training on the current table, old and new
scored on the same test rows, the new model saved beside the old one."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest
from chatkit import sample

from bot import Incoming
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

COMPARED = "🔁 Old vs new on the same test rows"
R2_LINE = re.compile(r"• R2: old (model_[0-9a-f]{8}) (-?\d+\.\d{4}) \(.*?\) → new (model_[0-9a-f]{8}) (-?\d+\.\d{4}) ")


def _houses() -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(sample("houses.csv")))


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def _a_year_later(houses: pd.DataFrame) -> pd.DataFrame:
    """The houses a year on: dearer, unevenly, and listed in another order."""
    rng = np.random.default_rng(7)
    later = houses.sample(frac=1.0, random_state=3).reset_index(drop=True)
    later["price"] = (later["price"] * rng.uniform(1.0, 1.3, len(later))).round(-2)
    return later


async def _train(person) -> str:
    """Train a linear regression for price on `person`'s table; its model id."""
    await person.says("train a linear regression to predict price using age, size and rooms", wait=True)
    trained = next(t for t in person.sink.texts() if t.startswith("🎯 Model Training Complete!"))
    return re.search(r"Model ID: (model_[0-9a-f]{8})", trained)[1]


def _line(card: str, start: str) -> str:
    return next(line for line in card.splitlines() if line.startswith(start))


def _comparison(person) -> re.Match[str]:
    text = next(t for t in reversed(person.sink.texts()) if t.startswith(COMPARED))
    found = R2_LINE.search(text)
    assert found is not None, text
    return found


@pytest.mark.docker
@pytest.mark.asyncio(loop_scope="session")
async def test_retrain_on_a_new_table_compares_old_and_new_on_the_same_test_rows(user) -> None:
    ann = user("ann")
    await ann.sends("houses.csv", sample("houses.csv"))
    old_id = await _train(ann)
    await ann.says(f"/model {old_id}")
    card = next(t for t in ann.sink.texts() if t.startswith(f"🧠 Model {old_id}"))
    recorded_r2 = re.search(r"Main metric: R2 (-?\d+\.\d{4})", card)[1]

    # On the table it was trained on, the old model scores exactly what its card says.
    await ann.says(f"/retrain {old_id}", wait=True)
    assert ann.sink.status(f"🔁 Retraining {old_id} (Linear Regression → price) on houses.csv").endswith("s")
    same = _comparison(ann)
    assert same[1] == old_id and same[2] == recorded_r2 and same[3] != old_id

    # A changed table: retrained there, the old model is measured on the new table's test rows.
    later = _a_year_later(_houses())
    await ann.sends("houses_2026.csv", _csv(later))
    await ann.says(f"retrain {old_id} on the new table", wait=True)
    compared = _comparison(ann)
    new_id = compared[3]
    assert compared[1] == old_id and new_id not in (old_id, same[3])
    assert f"The new model is {new_id}; the old one, {old_id}, is kept." in compared.string
    trained = next(t for t in reversed(ann.sink.texts()) if t.startswith("🎯 Model Training Complete!"))
    assert f"Model ID: {new_id}" in trained and f"• R2: {compared[4]} (" in trained

    # The old number, recomputed apart: the old model's predictions on the new table (a prediction
    # job), on the rows the seeded 80/20 split holds out.
    await ann.says(f"/predict {old_id}", wait=True)
    (document,) = [d for d in ann.sink.documents() if d.filename == f"predictions_{old_id}.csv"]
    predicted = pd.read_csv(document.path)
    _, test_rows = train_test_split(np.arange(len(later)), test_size=0.2, random_state=42)
    expected = r2_score(later["price"].to_numpy()[test_rows], predicted["prediction"].to_numpy()[test_rows])
    assert compared[2] == f"{expected:.4f}" != recorded_r2

    listed = await ann.says("/models")
    assert all(model_id in listed for model_id in (old_id, same[3], new_id))
    # Same model, columns, preprocessing and seed; trained on other data.
    await ann.says(f"/model {new_id}")
    new_card = next(t for t in reversed(ann.sink.texts()) if t.startswith(f"🧠 Model {new_id}"))
    for line in ("Type:", "Target:", "Features:", "Preprocessing:", "Seed:"):
        assert _line(new_card, line) == _line(card, line)
    assert _line(new_card, "Data SHA-256:") != _line(card, "Data SHA-256:")


@pytest.mark.docker
@pytest.mark.asyncio(loop_scope="session")
async def test_retrain_on_a_table_without_a_needed_column_says_which_and_runs_nothing(user) -> None:
    bo = user("bo")
    await bo.sends("houses.csv", sample("houses.csv"))
    old_id = await _train(bo)
    await bo.sends("houses_no_rooms.csv", _csv(_houses().drop(columns=["rooms"])))
    sent = len(bo.sink.sent)
    answer = await bo.says(f"retrain {old_id} on this table")
    assert answer == (
        f"{old_id} needs the column 'rooms', which your current table does not have, so I cannot retrain it "
        f"on this table. Send a table with it; {old_id} is kept as it was."
    )
    assert len(bo.sink.sent) == sent + 1  # no job, no status message
    listed = await bo.says("/models")
    assert listed.startswith("🗂 Your models (1)") and old_id in listed


@pytest.mark.parametrize("words", ["/retrain model_deadbeef", "retrain model_deadbeef on the new data"])
async def test_retrain_of_an_unknown_model_says_so(idle_dialogue, sink, words) -> None:
    await idle_dialogue.handle(Incoming(user_id="cy", chat_id="cy", text=words), sink)
    assert sink.last.text == "Model 'model_deadbeef' not found. Use /models to see your available models."


async def test_retrain_without_an_id_asks_which(idle_dialogue, sink) -> None:
    await idle_dialogue.handle(Incoming(user_id="di", chat_id="di", text="/retrain"), sink)
    assert sink.last.text == "Which model? Write /retrain ID; /models lists your models."
