"""Explore requests are checked against the table's summary before any container starts."""

from __future__ import annotations

import pytest

from errors import TaskError
from controller.explore import ExploreRequest, explore_spec
from runner.spec import ColumnKind, ColumnSummary, DatasetSummary, ExploreWhat, PlotKind

SUMMARY = DatasetSummary(
    rows=100,
    columns=tuple(
        ColumnSummary(name=name, kind=kind, dtype="float64", missing=0, distinct=50, examples=())
        for name, kind in [
            ("price", ColumnKind.NUMERIC),
            ("carat", ColumnKind.NUMERIC),
            ("depth", ColumnKind.NUMERIC),
            ("x", ColumnKind.NUMERIC),
            ("y", ColumnKind.NUMERIC),
            ("z", ColumnKind.NUMERIC),
            ("table", ColumnKind.NUMERIC),
            ("cut", ColumnKind.CATEGORICAL),
        ]
    ),
)
JOB = "job_0123456789ab"


def spec(**fields):
    request = ExploreRequest(user_id="u1", dataset_id="ds_0123456789ab", **fields)
    return explore_spec(request, job_id=JOB, summary=SUMMARY)


def refusal(**fields) -> str:
    with pytest.raises(TaskError) as refused:
        spec(**fields)
    return refused.value.user_message


def test_a_complete_request_becomes_the_runners_spec():
    made = spec(what=ExploreWhat.PLOT, plot=PlotKind.BOX, columns=["price"], by="cut")
    assert (made.command, made.job_id, made.plot, made.columns, made.by) == ("explore", JOB, PlotKind.BOX, ["price"], "cut")
    assert spec(what=ExploreWhat.CORRELATE, target="price").target == "price"
    assert spec(what=ExploreWhat.DESCRIBE).columns == []


def test_unknown_text_and_too_many_columns_are_refused_in_one_sentence():
    assert refusal(what=ExploreWhat.DESCRIBE, columns=["weight"]) == (
        "Your table has no column 'weight'. Its columns: price, carat, depth, x, y, z, table, cut."
    )
    assert refusal(what=ExploreWhat.CORRELATE, columns=["cut", "price"]) == (
        "'cut' holds no numbers, so I cannot use it for a correlation. "
        "Columns with numbers: price, carat, depth, x, y, z, table."
    )
    assert refusal(what=ExploreWhat.PLOT, plot=PlotKind.PAIR, columns=["price", "carat", "depth", "x", "y", "z", "table"]) == (
        "A pair plot shows at most 6 columns, and you named 7. Name fewer, or ask for 'correlations with' one "
        "column to see them all at once."
    )
    assert refusal(what=ExploreWhat.PLOT, plot=PlotKind.HISTOGRAM, columns=["cut"]) == (
        "'cut' holds no numbers, so I cannot use it for a histogram. "
        "Columns with numbers: price, carat, depth, x, y, z, table."
    )
    assert refusal(what=ExploreWhat.PLOT, plot=PlotKind.SCATTER, columns=["price"]) == (
        "Name the columns as in 'plot price against carat'."
    )
    assert refusal(what=ExploreWhat.CORRELATE, columns=["price", "carat", "depth"]) == (
        "Name two columns, as in 'correlation between price and carat', or one, as in 'correlations with price'."
    )
