"""Explore jobs: describe the table, correlate its columns, draw the plots a user asks for.

The numbers are those of pandas' describe() and scipy.stats' pearsonr/spearmanr, which is
what R's summary() and cor.test() print too.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from runner import _explore_plots as plots
from runner._data import read_table
from runner._errors import JobError, quoted
from runner._paths import JobPaths
from runner._progress import Reporter
from runner.spec import (
    MAX_HEATMAP_COLUMNS,
    MAX_TOP_CATEGORIES,
    PLOT_LABELS,
    CategoryCount,
    ColumnDescription,
    ColumnKind,
    Correlation,
    DroppedColumn,
    ErrorCode,
    ExploreOutcome,
    ExploreSpec,
    ExploreWhat,
    NumericStats,
    PlotKind,
)

_MIN_PAIRS = 3  # rows with both values a correlation needs


def explore(job: ExploreSpec, paths: JobPaths, reporter: Reporter) -> ExploreOutcome:
    """Run one explore job on input/data.parquet; plots go to output/plots."""
    reporter.stage("reading", 10, "Reading the table")
    frame = read_table(paths.data_file, what="table")
    _require(frame, [*job.columns, *(c for c in (job.target, job.by) if c is not None)])
    outcome = ExploreOutcome(what=job.what, rows=len(frame))
    if job.what is ExploreWhat.DESCRIBE:
        reporter.stage("describing", 40, "Describing the columns")
        outcome.columns = [describe_column(frame[name]) for name in (job.columns or list(frame.columns))]
        return outcome
    paths.plots_dir.mkdir(parents=True, exist_ok=True)
    if job.what is ExploreWhat.CORRELATE:
        reporter.stage("correlating", 40, "Computing correlations")
        if job.target is None:
            x, y = job.columns
            _require_numeric(frame, [x, y], why="a correlation")
            outcome.correlations = [correlate(frame[x], frame[y])]
            return outcome
        _require_numeric(frame, [job.target], why="correlations with it")
        outcome.target = job.target
        outcome.correlations, outcome.skipped = _ranked(frame, job.target)
        if outcome.correlations:
            reporter.stage("drawing", 80, "Drawing the heatmap")
            shown = [job.target, *(c.y for c in outcome.correlations[: MAX_HEATMAP_COLUMNS - 1])]
            outcome.figures = [plots.heatmap(paths.plots_dir, frame[shown].corr(method="pearson"))]
            if len(outcome.correlations) + 1 > MAX_HEATMAP_COLUMNS:
                outcome.notes.append(
                    f"The heatmap shows '{job.target}' and the {MAX_HEATMAP_COLUMNS - 1} columns most correlated with it."
                )
        return outcome
    reporter.stage("drawing", 50, "Drawing the plot")
    assert job.plot is not None
    numeric = job.columns if job.plot is not PlotKind.BOX else job.columns[:1]
    _require_numeric(frame, numeric, why=f"a {PLOT_LABELS[job.plot]}")
    figure, notes = plots.draw(paths.plots_dir, job.plot, frame, columns=job.columns, by=job.by)
    outcome.figures, outcome.notes = [figure], notes
    return outcome


def describe_column(column: pd.Series) -> ColumnDescription:
    """count, missing and pandas' describe() of a numeric column; the top categories of any other."""
    present = column.dropna()
    kind = _kind(column)
    base = {"name": str(column.name), "kind": kind, "count": int(present.size), "missing": int(column.isna().sum())}
    if kind is ColumnKind.NUMERIC:
        values = present.astype("float64")
        if values.empty:
            return ColumnDescription(**base, numeric=NumericStats(**dict.fromkeys(NumericStats.model_fields)))
        q25, median, q75 = (float(v) for v in values.quantile([0.25, 0.5, 0.75]))
        return ColumnDescription(
            **base,
            numeric=NumericStats(
                mean=_finite(values.mean()),
                sd=_finite(values.std(ddof=1)) if values.size > 1 else None,
                min=_finite(values.min()),
                q25=_finite(q25),
                median=_finite(median),
                q75=_finite(q75),
                max=_finite(values.max()),
            ),
        )
    if kind is ColumnKind.DATETIME and not present.empty:
        return ColumnDescription(
            **base,
            distinct=int(present.nunique()),
            earliest=_when(present.min()),
            latest=_when(present.max()),
        )
    counts = present.astype(str).value_counts(sort=True)
    return ColumnDescription(
        **base,
        distinct=int(counts.size),
        top=[CategoryCount(value=str(v), count=int(n)) for v, n in counts.head(MAX_TOP_CATEGORIES).items()],
    )


def correlate(x: pd.Series, y: pd.Series) -> Correlation:
    """Pearson and Spearman with their two-sided p-values, on the rows where both have a value."""
    from scipy import stats

    both = pd.concat([x.astype("float64"), y.astype("float64")], axis=1, keys=["x", "y"]).dropna()
    both = both[np.isfinite(both).all(axis=1)]
    n = len(both)
    result = {"x": str(x.name), "y": str(y.name), "n": n}
    if n < _MIN_PAIRS or both["x"].nunique() < 2 or both["y"].nunique() < 2:
        return Correlation(**result, pearson=None, pearson_p=None, spearman=None, spearman_p=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # near-constant columns: scipy warns, and says nan
        pearson = stats.pearsonr(both["x"], both["y"])
        spearman = stats.spearmanr(both["x"], both["y"])
    return Correlation(
        **result,
        pearson=_finite(pearson.statistic),
        pearson_p=_finite(pearson.pvalue),
        spearman=_finite(spearman.statistic),
        spearman_p=_finite(spearman.pvalue),
    )


def _ranked(frame: pd.DataFrame, target: str) -> tuple[list[Correlation], list[DroppedColumn]]:
    """Every other numeric column against `target`, strongest Pearson |r| first."""
    found: list[Correlation] = []
    skipped: list[DroppedColumn] = []
    for name in frame.columns:
        if name == target:
            continue
        if _kind(frame[name]) is not ColumnKind.NUMERIC:
            skipped.append(DroppedColumn(column=name, reason="not numeric"))
            continue
        pair = correlate(frame[target], frame[name])
        if pair.pearson is None:
            skipped.append(DroppedColumn(column=name, reason=_why_none(pair)))
        else:
            found.append(pair)
    found.sort(key=lambda c: -abs(c.pearson or 0.0))
    return found, skipped


def _why_none(pair: Correlation) -> str:
    if pair.n < _MIN_PAIRS:
        return f"only {pair.n} rows with both values"
    return "the same value in every row"


def _kind(column: pd.Series) -> ColumnKind:
    if pd.api.types.is_bool_dtype(column.dtype):
        return ColumnKind.BOOLEAN
    if pd.api.types.is_numeric_dtype(column.dtype):
        return ColumnKind.NUMERIC
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return ColumnKind.DATETIME
    return ColumnKind.CATEGORICAL


def _require(frame: pd.DataFrame, names: list[str]) -> None:
    missing = [name for name in dict.fromkeys(names) if name not in frame.columns]
    if missing:
        raise JobError(
            ErrorCode.MISSING_COLUMN,
            f"The table has no column {quoted(missing)}.",
            details={"missing": missing},
        )


def _require_numeric(frame: pd.DataFrame, names: list[str], *, why: str) -> None:
    text = [name for name in dict.fromkeys(names) if _kind(frame[name]) is not ColumnKind.NUMERIC]
    if text:
        verb = "holds" if len(text) == 1 else "hold"
        raise JobError(
            ErrorCode.NON_NUMERIC_COLUMN,
            f"{quoted(text)} {verb} no numbers, so I cannot use it for {why}.",
            details={"columns": text},
        )


def _when(moment: pd.Timestamp) -> str:
    """A date as 2015-01-17, a moment with a time of day in full ISO form."""
    return moment.date().isoformat() if moment == moment.normalize() else moment.isoformat()


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
