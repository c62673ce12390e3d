"""The data plots a user asks for, drawn in the phone style of `_plots`, axes named after the columns.

Each figure's labels are read back from its axes after drawing: they go into the job's result
(PlotFigure) and into the PNG's own text chunks, so a test checks what was actually drawn.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from runner._plots import DPI, WIDTH_INCHES, canvas, short
from runner.spec import MAX_BOX_GROUPS, PlotFigure, PlotKind

MAX_POINTS = 5000  # points a scatter draws; the line is fitted on every row
MAX_PAIR_POINTS = 1000
MAX_BINS = 50
_ANNOTATED_CELLS = 12  # a heatmap of at most this many columns prints its values
_COLOR = "#1f77b4"
_LINE = "#d62728"
_PAIR_INCHES = 1200 / DPI
PNG_LABELS_KEY = "Description"  # the PNG text chunk holding the figure's PlotFigure as JSON


def draw(
    folder: Path, kind: PlotKind, frame: pd.DataFrame, *, columns: list[str], by: str | None
) -> tuple[PlotFigure, list[str]]:
    """Draw one plot of `kind` into `folder`; the figure and notes on what was drawn."""
    match kind:
        case PlotKind.SCATTER:
            return _scatter(folder / "scatter.png", frame, x=columns[0], y=columns[1])
        case PlotKind.HISTOGRAM:
            return _histogram(folder / "histogram.png", frame[columns[0]])
        case PlotKind.BOX:
            assert by is not None
            return _box(folder / "box.png", frame, value=columns[0], by=by)
        case PlotKind.PAIR:
            return _pair(folder / "pair.png", frame[columns])


def heatmap(folder: Path, matrix: pd.DataFrame) -> PlotFigure:
    """The correlation matrix as coloured cells, each axis labelled with the column names."""
    path = folder / "heatmap.png"
    names = [short(c, 18) for c in matrix.columns]
    side = max(WIDTH_INCHES, min(16.0, 4 + 0.4 * len(names)))
    title = "Correlations (Pearson r)"
    metadata: dict[str, str] = {}
    with canvas(path, size=(side, side * 0.85), metadata=metadata) as figure:
        ax = figure.add_subplot()
        image = ax.imshow(matrix.to_numpy(dtype=float), cmap="RdBu_r", vmin=-1, vmax=1)
        ticks = np.arange(len(names))
        small = {"fontsize": 16 if len(names) <= _ANNOTATED_CELLS else 10}
        ax.set_xticks(ticks, names, rotation=45, ha="right", **small)
        ax.set_yticks(ticks, names, **small)
        if len(names) <= _ANNOTATED_CELLS:
            for (row, col), value in np.ndenumerate(matrix.to_numpy(dtype=float)):
                text = "" if np.isnan(value) else f"{value:.2f}"
                ax.text(col, row, text, ha="center", va="center", fontsize=14,
                        color="white" if abs(value) > 0.6 else "black")
        ax.set_title(title)
        figure.colorbar(image, ax=ax, shrink=0.8)
        found = _read_back(path.name, "heatmap", title, [ax])
        found.tick_labels = [label.get_text() for label in ax.get_xticklabels()]
        _stamp(metadata, found)
    return found


def _scatter(path: Path, frame: pd.DataFrame, *, x: str, y: str) -> tuple[PlotFigure, list[str]]:
    both = frame[[x, y]].astype("float64").dropna()
    both = both[np.isfinite(both).all(axis=1)]
    notes = []
    shown = both
    if len(both) > MAX_POINTS:
        shown = both.sample(MAX_POINTS, random_state=0)
        notes.append(f"The plot shows {MAX_POINTS:,} of the {len(both):,} rows; the line is fitted on all of them.")
    title = f"{short(y)} against {short(x)}"
    metadata: dict[str, str] = {}
    with canvas(path, metadata=metadata) as figure:
        ax = figure.add_subplot()
        ax.scatter(shown[x], shown[y], s=30, alpha=0.5, color=_COLOR)
        if len(both) >= 2 and both[x].nunique() > 1:
            slope, intercept = np.polyfit(both[x], both[y], 1)
            ends = np.array([both[x].min(), both[x].max()])
            ax.plot(ends, intercept + slope * ends, color=_LINE, linewidth=3,
                    label=f"Least-squares line (slope {slope:.4g})")
            ax.legend(loc="best")
        ax.set_title(title)
        ax.set_xlabel(short(x))
        ax.set_ylabel(short(y))
        found = _read_back(path.name, PlotKind.SCATTER.value, title, [ax])
        _stamp(metadata, found)
    return found, notes


def _histogram(path: Path, column: pd.Series) -> tuple[PlotFigure, list[str]]:
    values = column.astype("float64")
    values = values[np.isfinite(values)]
    bins = np.histogram_bin_edges(values, bins="auto") if len(values) else 10
    if not isinstance(bins, int) and len(bins) - 1 > MAX_BINS:
        bins = MAX_BINS
    name = str(column.name)
    title = f"Distribution of {short(name)}"
    metadata: dict[str, str] = {}
    with canvas(path, metadata=metadata) as figure:
        ax = figure.add_subplot()
        ax.hist(values, bins=bins, color=_COLOR, edgecolor="white")
        ax.set_title(title)
        ax.set_xlabel(short(name))
        ax.set_ylabel("Number of rows")
        found = _read_back(path.name, PlotKind.HISTOGRAM.value, title, [ax])
        _stamp(metadata, found)
    return found, _missing_note(column)


def _box(path: Path, frame: pd.DataFrame, *, value: str, by: str) -> tuple[PlotFigure, list[str]]:
    rows = frame[[value, by]].dropna()
    groups = rows[by].astype(str)
    order = groups.value_counts().index[:MAX_BOX_GROUPS]
    notes = []
    if groups.nunique() > MAX_BOX_GROUPS:
        notes.append(f"'{by}' has {groups.nunique():,} values; the plot shows the {MAX_BOX_GROUPS} most frequent.")
    order = sorted(order, key=str)
    data = [rows[value][groups == group].astype("float64").to_numpy() for group in order]
    title = f"{short(value)} by {short(by)}"
    metadata: dict[str, str] = {}
    with canvas(path, metadata=metadata) as figure:
        ax = figure.add_subplot()
        names = [f"{short(g, 14)}\n(n={len(values):,})" for g, values in zip(order, data, strict=True)]
        ax.boxplot(data, tick_labels=names, patch_artist=True,
                   boxprops={"facecolor": "#aec7e8"}, medianprops={"color": _LINE, "linewidth": 2})
        if len(order) > 4:
            ax.tick_params(axis="x", labelrotation=45)
        ax.set_title(title)
        ax.set_xlabel(short(by))
        ax.set_ylabel(short(value))
        found = _read_back(path.name, PlotKind.BOX.value, title, [ax])
        _stamp(metadata, found)
    return found, notes


def _pair(path: Path, frame: pd.DataFrame) -> tuple[PlotFigure, list[str]]:
    columns = list(frame.columns)
    rows = frame.astype("float64").dropna()
    notes = []
    if len(rows) > MAX_PAIR_POINTS:
        notes.append(f"The plot shows {MAX_PAIR_POINTS:,} of the {len(rows):,} rows with every value.")
        rows = rows.sample(MAX_PAIR_POINTS, random_state=0)
    count = len(columns)
    title = "Pair plot"
    metadata: dict[str, str] = {}
    with canvas(path, size=(_PAIR_INCHES, _PAIR_INCHES), metadata=metadata) as figure:
        grid = figure.subplots(count, count, squeeze=False)
        label_size = 16 if count <= 3 else 12
        for i, y in enumerate(columns):
            for j, x in enumerate(columns):
                ax = grid[i][j]
                if i == j:
                    ax.hist(rows[x], bins=20, color=_COLOR, edgecolor="white")
                else:
                    ax.scatter(rows[x], rows[y], s=8, alpha=0.5, color=_COLOR)
                ax.tick_params(labelsize=9)
                ax.set_xlabel(short(x, 16) if i == count - 1 else "", fontsize=label_size)
                ax.set_ylabel(short(y, 16) if j == 0 else "", fontsize=label_size)
        figure.suptitle(title)
        found = _read_back(path.name, PlotKind.PAIR.value, title, [ax for line in grid for ax in line])
        _stamp(metadata, found)
    return found, notes


def _read_back(file: str, kind: str, title: str, axes: list[Any]) -> PlotFigure:
    return PlotFigure(file=file, kind=kind, title=title, axes=[(ax.get_xlabel(), ax.get_ylabel()) for ax in axes])


def _stamp(metadata: dict[str, str], found: PlotFigure) -> None:
    """Put the labels into the PNG's text chunks (`canvas` saves the figure with `metadata` as it ends)."""
    metadata["Title"] = found.title
    metadata[PNG_LABELS_KEY] = json.dumps(found.model_dump(mode="json"))


def _missing_note(column: pd.Series) -> list[str]:
    missing = int(column.isna().sum())
    return [f"{missing:,} rows without a value are left out."] if missing else []

