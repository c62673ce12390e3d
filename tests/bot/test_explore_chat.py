"""Describe, correlate and plot in the chat: each a job in its own container, answered with a
monospace table or a photo; what cannot be done is refused in words before any job starts."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from chatkit import sample
from PIL import Image
from scipy import stats

from bot import Photo, Text
from store import JobKind

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="session")]

HOUSES = pd.read_csv(io.BytesIO(sample("houses.csv")))


async def test_describe_then_a_correlation_then_a_plot_arrive(user, chat_store):
    rita = user("rita")
    await rita.sends("houses.csv", sample("houses.csv"))

    await rita.says("describe the data", wait=True)
    table = rita.sink.sent[-1]
    assert isinstance(table, Text) and table.monospace
    lines = table.text.splitlines()
    assert lines[0] == f"📋 {len(HOUSES)} rows, {len(HOUSES.columns)} columns described"
    header = next(line for line in lines if line.split() == ["price", "age", "size"])
    block = lines[lines.index(header) : lines.index(header) + 10]
    rows = {line.split()[0]: line.split()[1:] for line in block[1:]}
    assert rows["n"] == [str(HOUSES[c].count()) for c in ("price", "age", "size")]
    assert rows["mean"][2] == f"{HOUSES['size'].mean():.4g}"
    assert rows["50%"][1] == f"{HOUSES['age'].median():.4g}"
    assert any(line.startswith("city (categorical") for line in lines)
    await rita.says("/describe", wait=True)
    assert rita.sink.sent[-1] == table  # the command describes what the words do

    said = await rita.says("what's the correlation between size and price?", wait=True)
    assert rita.sink.sent[-1].monospace
    both = HOUSES[["size", "price"]].dropna()
    pearson = stats.pearsonr(both["size"], both["price"])
    assert said.splitlines()[0] == f"🔗 size and price: {len(both)} rows with both"
    assert f"Pearson  {pearson.statistic:>8.3f}" in said

    await rita.says("plot price against size", wait=True)
    photo = rita.sink.sent[-1]
    assert isinstance(photo, Photo)
    assert photo.caption.startswith("price against size")
    with Image.open(photo.path) as image:
        assert image.format == "PNG" and image.width >= 800
    jobs = chat_store.list_jobs(user_id=rita.user_id)
    assert [job.kind for job in jobs[:3]] == [JobKind.EXPLORE] * 3
    assert jobs[0].result["explore"]["figures"][0]["axes"] == [["size", "price"]]


async def test_correlations_with_a_column_come_ranked_with_a_heatmap(user):
    sam = user("sam")
    await sam.sends("houses.csv", sample("houses.csv"))
    await sam.says("correlations with price", wait=True)
    texts = [r for r in sam.sink.sent if isinstance(r, Text) and r.monospace]
    assert len(texts) == 1 and texts[0].text.startswith("🔗 Correlations with price, strongest first")
    ranked = [line.split()[0] for line in texts[0].text.splitlines()[3:6]]
    strongest = HOUSES[["age", "size", "rooms"]].corrwith(HOUSES["price"]).abs().sort_values(ascending=False)
    assert ranked == list(strongest.index)
    assert "Left out (not numeric): city, built_date" in texts[0].text
    photo = sam.sink.sent[-1]
    assert isinstance(photo, Photo) and photo.caption.startswith("Correlation heatmap: price")


async def test_what_cannot_be_plotted_is_said_before_any_job(user, chat_store):
    tom = user("tom")
    await tom.sends("houses.csv", sample("houses.csv"))
    before = len(chat_store.list_jobs(user_id=tom.user_id))
    assert await tom.says("correlation between city and price") == (
        "'city' holds no numbers, so I cannot use it for a correlation. "
        "Columns with numbers: price, age, size, rooms."
    )
    said = await tom.says("histogram of weight")
    assert said.startswith("There is no column 'weight'. Which column do you mean?")
    await tom.says("/cancel")
    await tom.says("plot price by city", wait=True)
    assert "ℹ️ 'city' holds categories, so this is a box plot of 'price' by 'city'." in tom.sink.texts()
    assert isinstance(tom.sink.sent[-1], Photo) and tom.sink.sent[-1].caption.startswith("price by city")
    assert len(chat_store.list_jobs(user_id=tom.user_id)) == before + 1
