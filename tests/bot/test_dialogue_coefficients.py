"""The coefficient table in the chat: after training, again by /model ID, and on a question."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from chatkit import User, sample

from bot import Photo, Text

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="session")]

MODEL_ID = re.compile(r"Model ID: (model_[0-9a-f]{8})")


def _tables(who: User) -> list[str]:
    return [r.text for r in who.sink.sent if isinstance(r, Text) and r.monospace]


async def test_the_table_follows_the_training_answer_and_comes_back_by_id_and_by_question(user):
    ana = user("ana")
    await ana.sends("houses.csv", sample("houses.csv"))
    await ana.says("lm(price ~ age + size + city)", wait=True)

    sent = ana.sink.sent
    answer = next(i for i, r in enumerate(sent) if isinstance(r, Text) and r.text.startswith("🎯 Model Training Complete!"))
    model_id = MODEL_ID.search(sent[answer].text).group(1)
    table, notes = sent[answer + 1], sent[answer + 2]
    assert isinstance(table, Text) and table.monospace and not notes.monospace
    assert all(isinstance(r, Photo) for r in sent[answer + 3 :])  # then the plots
    houses = pd.read_csv(io.BytesIO(sample("houses.csv")))
    complete = len(houses[["price", "age", "size", "city"]].dropna())
    assert table.text.startswith(f"Coefficients of price: OLS on {complete} rows")
    first, *others = sorted(houses["city"].dropna().unique())
    assert all(f"city[{level}]" in table.text for level in others) and f"city[{first}]" not in table.text
    assert "Signif. codes: 0 '***'" in table.text and "Multiple R-squared:" in table.text
    assert notes.text.startswith(f"Fitted on all {complete} usable rows, as R's lm does")

    await ana.says(f"/model {model_id}")
    assert any(t.startswith(f"🧠 Model {model_id}") for t in ana.sink.texts())
    assert _tables(ana) == [table.text, table.text]

    jobs = await ana.says("/jobs")
    answer = await ana.says("is size significant?")
    assert f"ℹ️ Using your latest model, {model_id}." in ana.sink.texts()
    assert _tables(ana) == [table.text] * 2  # only the sentence, from the stored record: no new job
    assert re.fullmatch(r"size: [\d.]+ per unit, p [<=] \S+ \*+: significant at the 5% level\.", answer)
    assert await ana.says("/jobs") == jobs

    cards = sum(t.startswith("🧠 Model") for t in ana.sink.texts())
    verdict = await ana.says("which predictors are significant?")
    assert _tables(ana) == [table.text] * 3  # the table, then which terms pass
    assert sum(t.startswith("🧠 Model") for t in ana.sink.texts()) == cards  # not the model's card again
    assert verdict.startswith("At the 5% level ") and "size" in verdict


async def test_a_coefficient_question_before_any_model_says_how_to_get_one(user):
    assert (await user("ben").says("what are the coefficients?")).startswith(
        "Coefficients and p-values come with a trained linear or logistic regression"
    )


async def test_a_new_request_while_a_question_is_open_is_answered_as_itself(user):
    cai = user("cai")
    await cai.sends("houses.csv", sample("houses.csv"))
    asked = await cai.says("logistic regression for price")
    assert asked.startswith("'price' holds numbers, and a logistic model only predicts classes.")
    assert (await cai.says("what are the coefficients?")).startswith("Coefficients and p-values come with a trained")
    # The question was left: a model name now starts nothing half-asked.
    assert (await cai.says("banana bread")).startswith("I did not understand")
