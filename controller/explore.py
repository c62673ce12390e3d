"""An explore request (describe, correlate, plot the current table) checked against the table's summary.

The request names columns as data; `explore_spec` refuses unknown columns, columns of text where
numbers are needed and too many columns with one sentence each, before any container starts.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from errors import TaskError
from runner.spec import (
    MAX_EXPLORE_COLUMNS,
    MAX_PAIR_COLUMNS,
    PLOT_LABELS,
    ColumnKind,
    DatasetSummary,
    ExploreSpec,
    ExploreWhat,
    PlotKind,
)

__all__ = ["ExploreRequest", "explore_spec"]


class ExploreRequest(BaseModel):
    """What the user asked to see of their current table; columns as the table names them."""

    model_config = ConfigDict(extra="forbid")

    user_id: str
    dataset_id: str
    conversation_id: str = ""
    what: ExploreWhat
    columns: list[str] = Field(default_factory=list)
    target: str | None = None
    plot: PlotKind | None = None
    by: str | None = None


def explore_spec(request: ExploreRequest, *, job_id: str, summary: DatasetSummary) -> ExploreSpec:
    """The explore job's spec, or TaskError with the one sentence saying what to change."""
    kinds = {column.name: column.kind for column in summary.columns}
    named = [*request.columns, *(c for c in (request.target, request.by) if c is not None)]
    unknown = [c for c in dict.fromkeys(named) if c not in kinds]
    if unknown:
        raise TaskError(
            f"unknown columns {unknown}",
            user_message=f"Your table has no column {_quoted(unknown)}. Its columns: {_listed(kinds)}.",
        )
    numbers = [c for c, kind in kinds.items() if kind is ColumnKind.NUMERIC]
    match request.what:
        case ExploreWhat.DESCRIBE:
            if len(request.columns) > MAX_EXPLORE_COLUMNS:
                raise _too_many(f"I describe at most {MAX_EXPLORE_COLUMNS} named columns; name none for all of them.")
        case ExploreWhat.CORRELATE:
            if request.target is None and len(request.columns) != 2:
                raise TaskError(
                    f"correlation of {len(request.columns)} columns",
                    user_message="Name two columns, as in 'correlation between price and carat', or one, as in "
                    "'correlations with price'.",
                )
            _numeric(kinds, [*request.columns, *([request.target] if request.target else [])], why="a correlation",
                     numbers=numbers)
        case ExploreWhat.PLOT:
            _check_plot(request, kinds, numbers)
    try:
        return ExploreSpec(
            job_id=job_id,
            user_id=request.user_id,
            what=request.what,
            columns=request.columns,
            target=request.target,
            plot=request.plot,
            by=request.by,
        )
    except ValueError as error:  # a combination the checks above do not name
        raise TaskError(str(error), user_message="I could not make a plot of that; name the columns again.") from error


def _check_plot(request: ExploreRequest, kinds: dict[str, ColumnKind], numbers: list[str]) -> None:
    plot, columns = request.plot, request.columns
    if plot is None:
        raise TaskError("no plot kind", user_message="Which plot: a scatter, a histogram, a box plot or a pair plot?")
    if plot is PlotKind.PAIR and len(columns) > MAX_PAIR_COLUMNS:
        raise _too_many(
            f"A pair plot shows at most {MAX_PAIR_COLUMNS} columns, and you named {len(columns)}. "
            "Name fewer, or ask for 'correlations with' one column to see them all at once."
        )
    wanted = {PlotKind.SCATTER: 2, PlotKind.HISTOGRAM: 1, PlotKind.BOX: 1}.get(plot)
    if (wanted is not None and len(columns) != wanted) or (plot is PlotKind.PAIR and len(columns) < 2):
        example = {
            PlotKind.SCATTER: "'plot price against carat'",
            PlotKind.HISTOGRAM: "'histogram of price'",
            PlotKind.BOX: "'box plot of price by cut'",
            PlotKind.PAIR: "'pair plot of price, carat and depth'",
        }[plot]
        raise TaskError(f"{plot.value} with {len(columns)} columns", user_message=f"Name the columns as in {example}.")
    if plot is PlotKind.BOX and request.by is None:
        raise TaskError("box plot without groups", user_message="Box plot of what by what? As in 'box plot of price by cut'.")
    _numeric(kinds, columns, why=f"a {PLOT_LABELS[plot]}", numbers=numbers)


def _numeric(kinds: dict[str, ColumnKind], names: list[str], *, why: str, numbers: list[str]) -> None:
    text = [c for c in dict.fromkeys(names) if kinds[c] is not ColumnKind.NUMERIC]
    if text:
        verb = "holds" if len(text) == 1 else "hold"
        hint = f" Columns with numbers: {_listed(numbers)}." if numbers else ""
        raise TaskError(
            f"non-numeric columns {text} for {why}",
            user_message=f"{_quoted(text)} {verb} no numbers, so I cannot use it for {why}.{hint}",
        )


def _too_many(message: str) -> TaskError:
    return TaskError("too many columns", user_message=message)


_LISTED = 20


def _listed(names: dict[str, ColumnKind] | list[str]) -> str:
    names = list(names)
    shown = ", ".join(names[:_LISTED])
    return shown + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")


def _quoted(names: list[str]) -> str:
    items = [f"'{name}'" for name in names]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
