"""What an explore job's answer reads like: narrow monospace tables a phone shows whole.

Numbers are those of R's summary() and cor.test(): n, missing, mean, sd, quartiles; Pearson's r
and Spearman's rho with two-sided p-values (below 2.2e-16 shown as R shows it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot._format import clip
from runner.spec import PLOT_LABELS, ColumnDescription, Correlation, ExploreOutcome, ExploreWhat, PlotFigure, PlotKind

__all__ = ["explore_caption", "explore_header", "explore_subject", "format_explore"]

_STAT_WIDTH = 7  # the row labels of a describe table
_CELL = 9  # one column of numbers; three fit a phone's width beside the labels
_PER_BLOCK = 3
_NAME = 10  # a column name in the correlation list
_RANKED_SHOWN = 25
_DESCRIBED_SHOWN = 30
_R_EPS = 2.2e-16  # R prints smaller p-values as "< 2.2e-16"
_STATS = [("mean", "mean"), ("sd", "sd"), ("min", "min"), ("q25", "25%"), ("median", "50%"), ("q75", "75%"),
          ("max", "max")]


def explore_header(spec: Mapping[str, Any]) -> str:
    """The status header of an explore job, from its spec (or request) fields."""
    icon = {ExploreWhat.DESCRIBE.value: "📋", ExploreWhat.CORRELATE.value: "🔗"}.get(spec.get("what"), "📈")
    subject = explore_subject(spec)
    return f"{icon} {subject[:1].upper()}{subject[1:]}"


def explore_subject(spec: Mapping[str, Any]) -> str:
    """What an explore job does, in a few words: 'correlations with price', 'box plot: price by cut'."""
    columns = [clip(c, 30) for c in spec.get("columns") or []]
    match spec.get("what"):
        case ExploreWhat.DESCRIBE.value:
            return f"describing {', '.join(columns) if columns else 'the table'}"
        case ExploreWhat.CORRELATE.value:
            if spec.get("target"):
                return f"correlations with {clip(spec['target'], 30)}"
            return f"correlation of {' and '.join(columns)}"
    plot = PlotKind(spec.get("plot"))
    if plot is PlotKind.SCATTER and len(columns) == 2:
        return f"{PLOT_LABELS[plot]}: {columns[1]} against {columns[0]}"
    if plot is PlotKind.BOX and spec.get("by"):
        return f"{PLOT_LABELS[plot]}: {', '.join(columns)} by {clip(spec['by'], 30)}"
    return f"{PLOT_LABELS[plot]}: {', '.join(columns)}"


def format_explore(outcome: ExploreOutcome) -> str | None:
    """The monospace text answer of a describe or correlate job (None for a plot: its photo says it)."""
    if outcome.what is ExploreWhat.DESCRIBE:
        return _describe(outcome)
    if outcome.what is ExploreWhat.CORRELATE:
        return _ranked(outcome) if outcome.target else _pair(outcome.correlations[0], outcome.notes)
    return None


def explore_caption(figure: PlotFigure, outcome: ExploreOutcome) -> str:
    """A photo's caption: its title and what was left out of it."""
    if figure.kind == "heatmap" and outcome.target:
        title = f"Correlation heatmap: {clip(outcome.target, 30)} and the columns most correlated with it"
    else:
        title = figure.title
    return "\n".join([title, *outcome.notes])


def _describe(outcome: ExploreOutcome) -> str:
    columns = outcome.columns[:_DESCRIBED_SHOWN]
    numeric = [c for c in columns if c.numeric is not None]
    other = [c for c in columns if c.numeric is None]
    lines = [f"📋 {outcome.rows:,} rows, {len(outcome.columns)} columns described"]
    for start in range(0, len(numeric), _PER_BLOCK):
        lines += ["", *_numeric_block(numeric[start : start + _PER_BLOCK])]
    for column in other:
        lines += ["", *_category_lines(column)]
    if len(outcome.columns) > _DESCRIBED_SHOWN:
        lines += ["", f"… and {len(outcome.columns) - _DESCRIBED_SHOWN} more columns: name them, as in "
                      "'describe price and carat'."]
    return "\n".join(lines)


def _numeric_block(columns: Sequence[ColumnDescription]) -> list[str]:
    def row(label: str, cells: list[str]) -> str:
        return label.ljust(_STAT_WIDTH) + "".join(cell.rjust(_CELL) for cell in cells)

    lines = [row("", [clip(c.name, _CELL - 1) for c in columns])]
    lines.append(row("n", [f"{c.count:,}" for c in columns]))
    lines.append(row("missing", [f"{c.missing:,}" for c in columns]))
    for key, label in _STATS:
        lines.append(row(label, [number(getattr(c.numeric, key)) for c in columns]))
    return lines


def _category_lines(column: ColumnDescription) -> list[str]:
    if column.earliest is not None:
        missing = f", {column.missing:,} missing" if column.missing else ""
        return [f"{clip(column.name, 30)} ({column.kind.value}{missing})", f"  {column.earliest} to {column.latest}"]
    head = f"{clip(column.name, 30)} ({column.kind.value}, {column.distinct or 0:,} values"
    head += f", {column.missing:,} missing)" if column.missing else ")"
    width = max((len(clip(t.value, 20)) for t in column.top), default=0)
    lines = [head]
    lines += [f"  {clip(t.value, 20).ljust(width)}  {t.count:>8,}" for t in column.top]
    if column.distinct and column.distinct > len(column.top):
        lines.append(f"  … {column.distinct - len(column.top):,} more")
    return lines


def _pair(pair: Correlation, notes: list[str]) -> str:
    lines = [f"🔗 {clip(pair.x, 30)} and {clip(pair.y, 30)}: {pair.n:,} rows with both", ""]
    if pair.pearson is None:
        lines.append("No correlation: one of them has the same value in every row (or too few rows).")
        return "\n".join(lines)
    lines += [
        f"{'':9}{'coef':>8}{'p-value':>12}",
        f"{'Pearson':9}{_coef(pair.pearson, 3):>8}{p_value(pair.pearson_p):>12}",
        f"{'Spearman':9}{_coef(pair.spearman, 3):>8}{p_value(pair.spearman_p):>12}",
        "",
        _in_words(pair),
        *notes,
    ]
    return "\n".join(lines)


def _ranked(outcome: ExploreOutcome) -> str:
    target = clip(outcome.target or "", 30)
    ranked = outcome.correlations
    lines = [f"🔗 Correlations with {target}, strongest first", ""]
    if ranked:
        lines.append(f"{'column':{_NAME}}{'r':>7}{'p':>9}{'rho':>7}{'n':>7}")
        for pair in ranked[:_RANKED_SHOWN]:
            lines.append(
                f"{clip(pair.y, _NAME - 1):{_NAME}}{_coef(pair.pearson, 2):>7}"
                f"{p_value(pair.pearson_p, short=True):>9}{_coef(pair.spearman, 2):>7}{_count(pair.n):>7}"
            )
        if len(ranked) > _RANKED_SHOWN:
            lines.append(f"… and {len(ranked) - _RANKED_SHOWN} weaker ones")
        lines += ["", "r: Pearson, rho: Spearman, p: Pearson's p-value, n: rows with both."]
    else:
        lines.append(f"No other column holds numbers to correlate with {target}.")
    if outcome.skipped:
        by_reason: dict[str, list[str]] = {}
        for skipped in outcome.skipped:
            by_reason.setdefault(skipped.reason, []).append(clip(skipped.column, 20))
        for reason, names in by_reason.items():
            shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            lines.append(f"Left out ({reason}): {shown}")
    return "\n".join(lines)


def _in_words(pair: Correlation) -> str:
    r = pair.pearson or 0.0
    size = abs(r)
    strength = "hardly any" if size < 0.1 else "a weak" if size < 0.3 else "a moderate" if size < 0.5 else "a strong"
    direction = "" if size < 0.1 else (" positive" if r > 0 else " negative")
    text = f"{strength.capitalize()}{direction} linear correlation"
    if size >= 0.1:
        text += f": higher {clip(pair.x, 30)} goes with {'higher' if r > 0 else 'lower'} {clip(pair.y, 30)}"
    significant = pair.pearson_p is not None and pair.pearson_p < 0.05
    return text + (". It is significant at the 5% level." if significant else ". It is not significant at the 5% level.")


def number(value: float | None) -> str:
    """A number in few characters: 4 significant digits, thousands separated, tiny or huge ones in e-notation."""
    if value is None:
        return "–"
    size = abs(value)
    if size >= 1e7 or (0 < size < 1e-3):
        return f"{value:.2e}".replace("e+0", "e+").replace("e-0", "e-")
    if size >= 1e4:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _coef(value: float | None, places: int) -> str:
    return "–" if value is None else f"{value:.{places}f}"


def p_value(p: float | None, *, short: bool = False) -> str:
    """As R prints it: '< 2.2e-16' below machine precision, e-notation below 0.001."""
    if p is None:
        return "–"
    if p < _R_EPS:
        return "<2e-16" if short else "< 2.2e-16"
    if p < 0.001:
        return f"{p:.0e}" if short else f"{p:.2e}"
    return f"{p:.3f}"


def _count(n: int) -> str:
    return f"{n:,}" if n < 1_000_000 else f"{n / 1e6:.1f}M"
