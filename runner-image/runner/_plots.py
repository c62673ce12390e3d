"""PNG plots meant for a phone: about 1000 px wide, large plain-word text, few elements."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

WIDTH_INCHES, HEIGHT_INCHES, DPI = 10.0, 7.5, 100  # 1000 x 750 px
TOP_FEATURES = 10
MAX_POINTS = 2000
MAX_LABEL = 28
ROC_MAX_CLASSES = 5
_STYLE = {
    "font.size": 18,
    "axes.titlesize": 22,
    "axes.labelsize": 19,
    "xtick.labelsize": 16,
    "ytick.labelsize": 16,
    "legend.fontsize": 16,
    "text.parse_math": False,  # a '$' in a column name is text, not math
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_COLOR = "#1f77b4"


def short(text: Any, limit: int = MAX_LABEL) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextmanager
def canvas(
    path: Path, *, size: tuple[float, float] = (WIDTH_INCHES, HEIGHT_INCHES), metadata: dict[str, str] | None = None
) -> Iterator[Any]:
    """A matplotlib Figure (Agg, the phone style) saved as a PNG at `path` when the block ends."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with rc_context(_STYLE), warnings.catch_warnings():
        # Column names in scripts the font lacks (CJK, emoji) draw as boxes; nothing to report.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figure = Figure(figsize=size, dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        yield figure
        figure.savefig(path, format="png", metadata=metadata)


@contextmanager
def _figure(path: Path) -> Iterator[Any]:
    with canvas(path) as figure:
        yield figure.add_subplot()


def _sample(rng: np.random.Generator, *arrays: np.ndarray) -> list[np.ndarray]:
    if len(arrays[0]) <= MAX_POINTS:
        return list(arrays)
    rows = rng.choice(len(arrays[0]), size=MAX_POINTS, replace=False)
    return [a[rows] for a in arrays]


def predicted_vs_actual(path: Path, actual: np.ndarray, predicted: np.ndarray, *, target: str) -> None:
    actual, predicted = _sample(np.random.default_rng(0), actual, predicted)
    with _figure(path) as ax:
        ax.scatter(actual, predicted, s=40, alpha=0.6, color=_COLOR)
        low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
        ax.plot([low, high], [low, high], color="gray", linestyle="--", linewidth=2, label="Perfect guess")
        ax.set_title(f"Predicted vs real {short(target)} (test rows)")
        ax.set_xlabel(f"Real {short(target)}")
        ax.set_ylabel(f"Predicted {short(target)}")
        ax.legend(loc="upper left")


def residuals(path: Path, actual: np.ndarray, predicted: np.ndarray, *, target: str) -> None:
    actual, predicted = _sample(np.random.default_rng(0), actual, predicted)
    with _figure(path) as ax:
        ax.scatter(predicted, actual - predicted, s=40, alpha=0.6, color=_COLOR)
        ax.axhline(0, color="gray", linestyle="--", linewidth=2)
        ax.set_title("How far off the predictions are")
        ax.set_xlabel(f"Predicted {short(target)}")
        ax.set_ylabel("Real minus predicted")


def confusion_matrix(path: Path, matrix: list[list[int]], labels: list[Any]) -> None:
    counts = np.asarray(matrix)
    with _figure(path) as ax:
        ax.imshow(counts, cmap="Blues")
        names = [short(label, 14) for label in labels]
        ticks = np.arange(len(labels))
        ax.set_xticks(
            ticks, names, rotation=45 if len(labels) > 3 else 0, ha="right" if len(labels) > 3 else "center"
        )
        ax.set_yticks(ticks, names)
        if len(labels) <= 12:
            threshold = counts.max() / 2
            for (row, col), value in np.ndenumerate(counts):
                ax.text(
                    col,
                    row,
                    str(value),
                    ha="center",
                    va="center",
                    color="white" if value > threshold else "black",
                    fontsize=18,
                )
        ax.set_title("Right and wrong guesses (test rows)")
        ax.set_xlabel("Predicted class")
        ax.set_ylabel("Real class")


def roc_curve(path: Path, y_true: np.ndarray, proba: np.ndarray, classes: list[Any]) -> None:
    from sklearn.metrics import auc
    from sklearn.metrics import roc_curve as curve

    shown = [classes[1]] if len(classes) == 2 else classes[:ROC_MAX_CLASSES]
    with _figure(path) as ax:
        for label in shown:
            column = classes.index(label)
            truth = (y_true == label).astype(int)
            if truth.min() == truth.max():
                continue
            fpr, tpr, _ = curve(truth, proba[:, column])
            ax.plot(fpr, tpr, linewidth=3, label=f"Finding '{short(label, 16)}' (AUC {auc(fpr, tpr):.2f})")
        ax.plot([0, 1], [0, 1], color="gray", linestyle="--", linewidth=2, label="Coin flip")
        ax.set_title("How well the model tells classes apart")
        ax.set_xlabel("False alarms (share)")
        ax.set_ylabel("Found (share)")
        ax.legend(loc="lower right")


def feature_importance(path: Path, importance: dict[str, float]) -> None:
    top = sorted(importance.items(), key=lambda kv: -kv[1])[:TOP_FEATURES][::-1]
    with _figure(path) as ax:
        ax.barh([short(name) for name, _ in top], [value for _, value in top], color=_COLOR)
        ax.set_title("What the model relies on most")
        ax.set_xlabel("Share of importance")


def learning_curve(path: Path, history: dict[str, list[float]]) -> None:
    with _figure(path) as ax:
        epochs = np.arange(1, len(history["loss"]) + 1)
        ax.plot(epochs, history["loss"], linewidth=3, label="Training rows")
        if history.get("val_loss"):
            ax.plot(epochs, history["val_loss"], linewidth=3, label="Check rows")
        ax.set_title("Learning progress (lower is better)")
        ax.set_xlabel("Epoch")
        ax.set_ylabel("Error")
        ax.legend(loc="upper right")
