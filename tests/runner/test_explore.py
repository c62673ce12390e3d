"""Explore jobs in their locked-down container: describe equals pandas, correlations equal scipy,
and every plot is a PNG whose axes are named after the columns."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import stats

from runner.spec import MAX_TOP_CATEGORIES, ExploreSpec, ExploreWhat, PlotKind

pytestmark = pytest.mark.docker

PNG_LABELS_KEY = "Description"  # runner._explore_plots.PNG_LABELS_KEY; the host test reads the PNG itself


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """Numbers with gaps in different rows, a count, categories with gaps, and a flag."""
    rng = np.random.default_rng(7)
    rows = 400
    carat = rng.gamma(2.0, 0.4, rows)
    price = 3000 * carat + rng.normal(0, 800, rows)
    depth = rng.normal(61.5, 1.4, rows)
    frame = pd.DataFrame(
        {
            "carat": carat,
            "price": price,
            "depth": depth,
            "rooms": rng.integers(1, 7, rows),
            "cut": rng.choice(["Ideal", "Premium", "Good", "Fair"], rows, p=[0.4, 0.3, 0.2, 0.1]),
            "in stock": rng.random(rows) > 0.5,
            "sold": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, rows), unit="D"),
        }
    )
    frame.loc[rng.choice(rows, 25, replace=False), "carat"] = np.nan
    frame.loc[rng.choice(rows, 40, replace=False), "price"] = np.nan
    frame.loc[rng.choice(rows, 10, replace=False), "cut"] = None
    return frame


def _run(container_job, job_ids, frame: pd.DataFrame, **fields):
    ids = job_ids()
    ids.pop("model_id")
    done = container_job("explore", ExploreSpec(**ids, **fields), frame)
    assert done.exit_code == 0, done.result["error"]
    assert done.result["command"] == "explore" and done.result["ok"]
    return done


def _labels(done, figure: dict) -> dict:
    """The labels the PNG itself carries, checked against the result's account of the figure."""
    path = done.output / "plots" / figure["file"]
    with Image.open(path) as image:
        assert image.format == "PNG"
        stamped = json.loads(image.text[PNG_LABELS_KEY])
    assert stamped == figure
    return stamped


def test_describe_equals_pandas(container_job, job_ids, table):
    done = _run(container_job, job_ids, table, what=ExploreWhat.DESCRIBE)
    outcome = done.result["explore"]
    assert outcome["rows"] == len(table)
    described = {c["name"]: c for c in outcome["columns"]}
    assert list(described) == list(table.columns)
    expected = table.describe()  # count, mean, std, min, 25%, 50%, 75%, max of the numeric columns
    for name in ("carat", "price", "depth", "rooms"):
        got = described[name]
        assert got["kind"] == "numeric"
        assert got["count"] == expected.loc["count", name]
        assert got["missing"] == table[name].isna().sum()
        numbers = got["numeric"]
        for ours, theirs in [("mean", "mean"), ("sd", "std"), ("min", "min"), ("q25", "25%"),
                             ("median", "50%"), ("q75", "75%"), ("max", "max")]:
            assert numbers[ours] == pytest.approx(expected.loc[theirs, name], rel=1e-12), (name, ours)
    cut = described["cut"]
    counts = table["cut"].value_counts()
    assert cut["kind"] == "categorical" and cut["missing"] == 10 and cut["count"] == len(table) - 10
    assert cut["distinct"] == table["cut"].nunique()
    assert [(t["value"], t["count"]) for t in cut["top"]] == list(counts.head(MAX_TOP_CATEGORIES).items())
    assert described["in stock"]["kind"] == "boolean"
    sold = described["sold"]
    assert (sold["kind"], sold["earliest"], sold["latest"]) == (
        "datetime", table["sold"].min().date().isoformat(), table["sold"].max().date().isoformat()
    )


def test_correlation_between_two_columns_equals_scipy(container_job, job_ids, table):
    done = _run(container_job, job_ids, table, what=ExploreWhat.CORRELATE, columns=["carat", "price"])
    (pair,) = done.result["explore"]["correlations"]
    both = table[["carat", "price"]].dropna()
    pearson = stats.pearsonr(both["carat"], both["price"])
    spearman = stats.spearmanr(both["carat"], both["price"])
    assert (pair["x"], pair["y"], pair["n"]) == ("carat", "price", len(both))
    assert pair["pearson"] == pytest.approx(pearson.statistic, abs=1e-9)
    assert pair["pearson_p"] == pytest.approx(pearson.pvalue, abs=1e-9, rel=1e-9)
    assert pair["spearman"] == pytest.approx(spearman.statistic, abs=1e-9)
    assert pair["spearman_p"] == pytest.approx(spearman.pvalue, abs=1e-9, rel=1e-9)
    assert pair["pearson"] == pytest.approx(table["carat"].corr(table["price"]), abs=1e-9)  # pandas: pairwise too


def test_correlations_with_a_column_are_ranked_with_a_heatmap(container_job, job_ids, table):
    done = _run(container_job, job_ids, table, what=ExploreWhat.CORRELATE, target="price")
    outcome = done.result["explore"]
    ranked = outcome["correlations"]
    assert outcome["target"] == "price"
    assert {c["y"] for c in ranked} == {"carat", "depth", "rooms"}
    strengths = [abs(c["pearson"]) for c in ranked]
    assert strengths == sorted(strengths, reverse=True) and ranked[0]["y"] == "carat"
    for found in ranked:
        both = table[["price", found["y"]]].dropna()
        assert found["n"] == len(both)
        assert found["pearson_p"] == pytest.approx(stats.pearsonr(both["price"], both[found["y"]]).pvalue, abs=1e-9)
        assert found["spearman"] == pytest.approx(stats.spearmanr(both["price"], both[found["y"]]).statistic, abs=1e-9)
    assert {s["column"]: s["reason"] for s in outcome["skipped"]} == dict.fromkeys(["cut", "in stock", "sold"], "not numeric")
    (figure,) = outcome["figures"]
    labels = _labels(done, figure)
    assert labels["kind"] == "heatmap"
    assert labels["tick_labels"] == ["price", *(c["y"] for c in ranked)]


@pytest.mark.parametrize(
    ("plot", "columns", "by", "axes"),
    [
        (PlotKind.SCATTER, ["carat", "price"], None, [["carat", "price"]]),
        (PlotKind.HISTOGRAM, ["depth"], None, [["depth", "Number of rows"]]),
        (PlotKind.BOX, ["price"], "cut", [["cut", "price"]]),
        (
            PlotKind.PAIR,
            ["carat", "price", "depth"],
            None,
            [["", "carat"], ["", ""], ["", ""], ["", "price"], ["", ""], ["", ""],
             ["carat", "depth"], ["price", ""], ["depth", ""]],
        ),
    ],
)
def test_each_plot_is_a_png_with_axes_named_after_the_columns(container_job, job_ids, table, plot, columns, by, axes):
    done = _run(container_job, job_ids, table, what=ExploreWhat.PLOT, plot=plot, columns=columns, by=by)
    (figure,) = done.result["explore"]["figures"]
    labels = _labels(done, figure)
    assert labels["kind"] == plot.value
    assert labels["axes"] == axes


def test_a_correlation_of_text_is_refused_in_words(jobs, job_ids, table):
    ids = job_ids()
    ids.pop("model_id")
    done = jobs.run("explore", ExploreSpec(**ids, what=ExploreWhat.CORRELATE, columns=["cut", "price"]), table)
    assert done.exit_code == 2
    assert done.error["code"] == "non_numeric_column"
    assert done.error["message"] == "'cut' holds no numbers, so I cannot use it for a correlation."
