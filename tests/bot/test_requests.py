"""How analysts ask: formulas, follow-up edits, questions about a model, and what the bot can't do yet."""

from __future__ import annotations

import re

import pytest
from chatkit import sample

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="session")]

MODEL_ID = re.compile(r"Model ID: (model_[0-9a-f]{8})")


async def test_a_formula_then_follow_up_edits_then_a_question_about_the_model(user):
    olga = user("olga")
    await olga.sends("houses.csv", sample("houses.csv"))

    said = await olga.says("log(price) ~ age + size")
    assert said.startswith("Formulas with a transform such as `log(price)` are not supported yet")

    await olga.says("price ~ age + size", wait=True)
    assert "ℹ️ No model named: 'price' holds numbers, so I will fit linear regression." in olga.sink.texts()
    first = next(t for t in olga.sink.texts() if t.startswith("🎯 Model Training Complete!"))
    assert "Model Type: Linear Regression" in first and "Features: age, size" in first

    await olga.says("now with ridge", wait=True)
    assert "ℹ️ Your last request again, changed: ridge instead of linear." in olga.sink.texts()
    second = [t for t in olga.sink.texts() if t.startswith("🎯 Model Training Complete!")][-1]
    assert "Model Type: Ridge" in second and "Features: age, size" in second

    await olga.says("drop size", wait=True)
    third = [t for t in olga.sink.texts() if t.startswith("🎯 Model Training Complete!")][-1]
    assert "Model Type: Ridge" in third and "Features: age\n" in third

    model_id = MODEL_ID.search(third).group(1)
    jobs_before = await olga.says("/jobs")
    shown = await olga.says(f"explain {model_id}")
    assert shown.startswith(f"🧠 Model {model_id}") and "🔮" not in shown
    assert await olga.says("/jobs") == jobs_before  # asking about a model starts no job


async def test_small_talk_not_yet_and_unknown_commands_get_specific_answers(user):
    pia = user("pia")
    assert (await pia.says("thanks!")).startswith("You're welcome!")
    assert (await pia.says("is age significant?")).startswith("I can't test significance yet")
    assert (await pia.says("plot price against size")).startswith("To look at your data I need a table.")
    # A comparison now answers this; without a table it asks for one first.
    assert (await pia.says("which model is best?")).startswith("To compare models I need a table.")
    assert await pia.says("/trian") == "I do not know /trian. Did you mean /train? /help lists what I can do."
