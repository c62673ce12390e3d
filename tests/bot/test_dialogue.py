"""The dialogue core with the real store, the real controller (job containers) and the offline parser."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from chatkit import User, sample

from bot import Dialogue, Incoming, Text, Upload
from bot.parsing import OfflineParser

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="session")]

PNG = b"\x89PNG\r\n\x1a\n"
MODEL_ID = re.compile(r"Model ID: (model_[0-9a-f]{8})")


def _houses() -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(sample("houses.csv")))


def _new_houses() -> bytes:
    """Houses to price: the last rows of the sample without their price."""
    return _houses().drop(columns="price").tail(8).to_csv(index=False).encode()


def _result(who: User, head: str) -> str:
    return next(t for t in who.sink.texts() if t.startswith(head))


async def test_regression_in_words_then_predictions_on_new_rows(user):
    alice = user("alice")
    summary = await alice.sends("houses.csv", sample("houses.csv"))
    assert summary.startswith(f"📋 houses.csv: {len(_houses())} rows, {len(_houses().columns)} columns")
    assert "• price — numeric" in summary and "Now tell me what to predict" in summary

    await alice.says("Train a linear regression model to predict price using age and size", wait=True)

    # One status message, edited as the job moved, ending in "done".
    assert any("%" in text for text in alice.sink.edits_of("🚀 Linear Regression → price"))
    assert re.search(r"✅ Done in \d+ s$", alice.sink.status("🚀 Linear Regression → price"))

    result = _result(alice, "🎯 Model Training Complete!")
    model_id = MODEL_ID.search(result).group(1)
    assert "Model Type: Linear Regression" in result and "Features: age, size" in result
    assert "📈 Test Metrics:" in result and "• R2: " in result
    assert "📏 Baseline" in result
    rows = re.search(r"Rows: [\d,]+ \(([\d,]+) trained on, ([\d,]+) held out for testing\)", result)
    assert rows is not None
    await alice.says(f"/model {model_id}")
    assert f"{rows.group(1)} trained on, {rows.group(2)} held out for testing" in _result(alice, "🧠 Model")
    assert result.endswith(f"Use this model ID for predictions:\n/predict {model_id}")
    photos = alice.sink.photos()
    assert photos and all(p.path.read_bytes().startswith(PNG) for p in photos)

    listing = await alice.says("/models")
    assert f"• {model_id} — Linear Regression, target price, R2 " in listing

    await alice.sends("new_houses.csv", _new_houses())
    await alice.says(f"Use model {model_id} to make predictions", wait=True)
    predictions = _result(alice, "🔮 Predictions Generated")
    assert f"Model: {model_id} (Linear Regression)" in predictions
    assert "... and 3 more" in predictions
    document = alice.sink.documents()[-1]
    assert document.filename == f"predictions_{model_id}.csv"
    scored = pd.read_csv(document.path)
    sent = pd.read_csv(io.BytesIO(_new_houses()))
    pd.testing.assert_frame_equal(scored[sent.columns], sent)
    for number, value in enumerate(scored["prediction"].head(5), start=1):
        assert f"Row {number}: {value:,.2f}" in predictions

    jobs = await alice.says("/jobs")
    assert f"train {model_id}: succeeded" in jobs and f"predict {model_id}: succeeded" in jobs
    assert jobs.count("— reading ") == 2 and jobs.count("succeeded") == 4  # each upload was read by a job

    # Another user gets the very answer an id that does not exist gets, everywhere.
    mallory = user("mallory")
    await mallory.sends("new_houses.csv", _new_houses())
    for ask in ("/model {}", "/delete {}", "/predict {}", "Use model {} to make predictions"):
        theirs = await mallory.says(ask.format(model_id))
        nobodys = await mallory.says(ask.format("model_00000000"))
        assert theirs == nobodys.replace("model_00000000", model_id)
        assert "not found" in theirs
    assert model_id not in await mallory.says("/models")
    mallorys_jobs = await mallory.says("/jobs")
    assert model_id not in mallorys_jobs and mallorys_jobs.count("• ") == 1  # only reading her own file


async def test_missing_target_is_asked_with_buttons_and_a_model_is_deleted_after_confirmation(user):
    bob = user("bob")
    await bob.sends("customers.csv", sample("customers.csv"))

    question = await bob.says("train a random forest")
    assert question == "Which column should the model predict?"
    likely_first = ["outcome", "income", "age", "visits", "plan", "region"]
    assert [b.label for b in bob.sink.last.buttons] == [*likely_first, "✖ Cancel"]

    await bob.presses("outcome", wait=True)
    result = _result(bob, "🎯 Model Training Complete!")
    model_id = MODEL_ID.search(result).group(1)
    assert "Model Type: Random Forest (classification)" in result
    assert "• Accuracy: " in result and "• F1: " in result

    confirm = await bob.says(f"/delete {model_id}")
    assert "This cannot be undone" in confirm
    assert [b.label for b in bob.sink.last.buttons] == ["🗑 Delete", "Keep it"]
    assert await bob.presses("Keep it") == f"OK, model {model_id} stays."
    assert model_id in await bob.says("/models")

    await bob.says(f"/delete {model_id}")
    assert await bob.presses("🗑 Delete") == f"🗑 Model {model_id} deleted."
    assert model_id not in await bob.says("/models")
    assert "not found" in await bob.says(f"/model {model_id}")


async def test_a_failed_job_ends_in_one_friendly_sentence(user):
    carol = user("carol")
    await carol.sends("tiny.csv", b"x,y\n1,2\n2,4\n3,6\n4,8\n5,10\n")
    await carol.says("train a linear regression to predict y using x", wait=True)
    assert "❌ Stopped" in carol.sink.status("🚀 Linear Regression → y")
    failure = carol.sink.last.text
    assert failure.startswith("❌ ") and "10" in failure and "Traceback" not in failure
    assert "Model Training Complete" not in "\n".join(carol.sink.texts())


async def test_upload_summary_survives_a_restart(user, chat_settings, chat_store, controller):
    dave = user("dave")
    assert (await dave.says("/data")).startswith("No table yet.")
    summary = await dave.sends("houses.csv", sample("houses.csv"))
    assert await dave.says("/data") == summary

    restarted = Dialogue(settings=chat_settings, store=chat_store, controller=controller, parser=OfflineParser())
    again = User(restarted, dave.user_id)
    assert await again.says("/data") == summary


async def test_unusable_uploads_get_a_clear_message(user):
    erin = user("erin")
    reply = await erin.sends("data.csv", bytes(range(256)) * 8)
    assert "Traceback" not in reply and "table" in reply.lower()

    too_big = Upload(filename="big.csv", data=None, size=25 * 1024 * 1024)
    await erin.dialogue.handle(Incoming(user_id=erin.user_id, chat_id="c", document=too_big), erin.sink)
    assert erin.sink.last.text.startswith("This file is 25 MB; I can receive files up to 20 MB.")
    assert (await erin.says("/data")).startswith("No table yet.")


async def test_training_needs_a_table(user):
    frank = user("frank")
    reply = await frank.says("Train a random forest to predict price")
    assert reply.startswith("To train a model I need a table.")


async def test_cancel_leaves_the_question_and_closes_its_buttons(user):
    grace = user("grace")
    await grace.sends("houses.csv", sample("houses.csv"))
    await grace.says("train a model")
    asked = grace.sink.last
    assert asked.text == "Which column should the model predict?"

    assert await grace.says("/cancel") == "OK, I dropped that request. What would you like to do?"
    stale = next(b for b in asked.buttons if b.label == "price")
    await grace.dialogue.handle(Incoming(user_id=grace.user_id, chat_id="c", button=stale.data), grace.sink)
    assert grace.sink.last.text.startswith("That question is closed.")
    assert await grace.says("/cancel") == "There is nothing to cancel."

    # The Cancel button does the same.
    await grace.says("train a model")
    assert await grace.presses("✖ Cancel") == "OK, I dropped that request. What would you like to do?"


async def test_typed_answers_are_checked_and_notes_said_back(user):
    heidi = user("heidi")
    await heidi.sends("houses.csv", sample("houses.csv"))
    await heidi.says("train a model")
    follow_up = await heidi.says("PRICE")  # typed, not pressed: matched to the column
    assert follow_up.startswith("ℹ️ Matched 'PRICE' to column 'price'.")
    assert "Which model should I train to predict 'price'?" in follow_up
    labels = [b.label for b in heidi.sink.last.buttons]
    assert labels[0] == "Linear Regression" and "Random Forest" in labels and labels[-1] == "✖ Cancel"

    await heidi.says("/cancel")
    unknown_column = await heidi.says("train a random forest to predict prise tag")
    assert "prise tag" in unknown_column
    assert heidi.sink.last.buttons


async def test_long_option_lists_become_twelve_buttons_and_a_hint(user):
    ivan = user("ivan")
    wide = pd.DataFrame({f"c{i}": range(20) for i in range(20)}).to_csv(index=False).encode()
    await ivan.sends("wide.csv", wide)
    question = await ivan.says("train a model")
    buttons = ivan.sink.last.buttons
    assert len(buttons) == 13 and buttons[-1].label == "✖ Cancel"
    assert "12 of 20 are buttons; type the name of any other." in question


async def test_help_unknown_words_and_models_of_a_new_user(user):
    judy = user("judy")
    assert "/models" in await judy.says("/start")
    assert (await judy.says("/help")) == (await judy.says("help"))
    assert (await judy.says("hello there")).startswith("I did not understand that.")
    assert await judy.says("/frobnicate") == "I do not know /frobnicate. /help lists what I can do."
    assert (await judy.says("/models")).startswith("You have no models yet.")
    assert (await judy.says("/model")).startswith("Which model?")
    assert "not found" in await judy.says("/model ../../etc/passwd")
    assert await judy.says("/cancel") == "There is nothing to cancel."
    assert isinstance(judy.sink.last, Text)


async def test_cancel_stops_a_running_job(user):
    kim = user("kim")
    await kim.sends("houses.csv", sample("houses.csv"))
    await kim.says("Train a random forest to predict price using all other columns")
    job_id = re.search(r"Accepted as (job_[0-9a-f]{12})", kim.sink.last.text).group(1)
    assert await kim.says("/cancel") == f"Stopping job {job_id}…"
    await kim.dialogue.drain()
    assert kim.sink.last.text == "❌ The job was cancelled."
    assert "❌ Stopped: cancelled" in kim.sink.status("🚀 Random Forest → price")
    assert f"{job_id} — train" in await kim.says("/jobs") and "cancelled" in kim.sink.last.text
