"""The chart of a comparison: each candidate's cross-validated score with its spread."""

from __future__ import annotations

from pathlib import Path

from runner._plots import _COLOR, _figure, short
from runner.spec import LeaderboardEntry

CHART_FILE = "leaderboard.png"


def leaderboard_chart(
    path: Path, entries: list[LeaderboardEntry], *, metric: str, folds: int, baseline: float | None
) -> None:
    """Horizontal bars, best on top, error bars of one fold standard deviation; the baseline dashed."""
    ranked = sorted(entries, key=lambda e: e.mean)
    with _figure(path) as ax:
        rows = range(len(ranked))
        ax.barh(
            rows,
            [e.mean for e in ranked],
            xerr=[e.std for e in ranked],
            color=_COLOR,
            capsize=8,
            error_kw={"linewidth": 2},
        )
        ax.set_yticks(list(rows), [short(e.label) for e in ranked])
        if baseline is not None:
            ax.axvline(baseline, color="gray", linestyle="--", linewidth=2, label="Baseline (test rows)")
            ax.legend(loc="lower right")
        ax.set_title(f"Which model is best? {folds}-fold cross-validation")
        ax.set_xlabel(f"Mean {metric} across the folds (bars: ± one standard deviation)")
