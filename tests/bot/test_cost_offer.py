"""A training estimated past the time limit: told in chat before any job, with buttons that fit."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="session")]


def _big_table() -> bytes:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(size=(60_000, 10)), columns=[f"x{i}" for i in range(10)])
    frame["y"] = frame.to_numpy() @ rng.normal(size=10) + rng.normal(0, 1, len(frame))
    out = io.BytesIO()
    frame.to_parquet(out, index=False)
    return out.getvalue()


async def test_an_svm_past_the_limit_is_refused_with_offers_and_a_button_starts_one(user, chat_store) -> None:
    ivy = user("ivy")
    assert (await ivy.sends("big.parquet", _big_table())).startswith("📋")
    refusal = await ivy.says("train an svm to predict y")
    assert refusal.startswith("⏱ Training this SVM model on 60,000 rows × 10 inputs would take about")
    assert "past the limit of 2 min per job, so I did not start it" in refusal
    assert not [j for j in chat_store.list_jobs(user_id=ivy.user_id) if j.kind.value == "train"]
    offered = next(r for r in reversed(ivy.sink.sent) if r.buttons)
    labels = [b.label for b in offered.buttons]
    assert labels[0].startswith("SVM on ") and "sampled rows" in labels[0]

    await ivy.presses(labels[0])
    status = ivy.sink.status("🚀 SVM → y")
    assert "Accepted as job_" in status or "⏳" in status or "⚙️" in status
    await ivy.says("/cancel", wait=True)
    (job,) = [j for j in chat_store.list_jobs(user_id=ivy.user_id) if j.kind.value == "train"]
    assert job.spec["model_type"] == "svm" and 100 <= job.spec["sample_rows"] < 60_000

    assert await ivy.presses(labels[0]) == "That choice is no longer open."
