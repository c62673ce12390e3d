"""Targets with nothing to learn are refused in chat before any job starts, with the reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="session")]


def _table(rows: int = 80) -> bytes:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "row": np.arange(1, rows + 1),
            "code": [f"c{n:04d}" for n in range(rows)],
            "size": rng.uniform(20, 200, rows).round(1),
        }
    )
    frame["price"] = (3 * frame["size"] + rng.normal(0, 60, rows)).round(2)
    return frame.to_csv(index=False).encode()


async def test_an_id_target_is_refused_for_the_reason_such_a_feature_is_dropped(user):
    ida = user("ida")
    await ida.sends("prices.csv", _table())
    jobs = await ida.says("/jobs")

    assert await ida.says("random forest for row") == "'row' cannot be predicted: it numbers the rows one by one, like an ID."
    assert await ida.says("random forest for code") == (
        "'code' cannot be predicted: it has a different value in every row, like an ID."
    )
    assert await ida.says("/jobs") == jobs  # refused before any job

    # As a feature, the same column is dropped for the same reason.
    answer = await ida.says("random forest for price", wait=True)
    assert "row: it numbers the rows one by one, like an ID" in answer


async def test_a_classifier_for_a_many_valued_number_is_refused_with_the_reason(user):
    ivo = user("ivo")
    await ivo.sends("prices.csv", _table())
    jobs = await ivo.says("/jobs")

    refused = await ivo.says("random forest classifier for price")
    assert refused.startswith("'price' has 80 different numbers, so it is a quantity to predict, not classes;")
    # A model that only classifies is questioned by the parser, with the same reason in short.
    asked = await ivo.says("logistic regression for price")
    assert asked.startswith("'price' holds numbers, and a logistic model only predicts classes.")
    assert await ivo.says("/jobs") == jobs
