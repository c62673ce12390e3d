"""Misspelt request words put right by edit distance, and the correction said back.

Only words the parser itself reads are corrected ("trian", "ranodm forrest", "predcit"), never a
word that is, or is close to, a column name: those are matched by the column step, which asks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# The words of requests that a misspelling can lose (model names, verbs, settings).
VOCABULARY = frozenset(
    """train trains trained training predict predicts predicted predicting prediction predictions
    random forest forests regression regress regressor linear logistic gradient boosting boosted
    neural network networks ridge lasso elastic polynomial quadratic support vector machine
    trees estimators depth features classify classifier classification cross validation
    epochs learning layers hidden kernel target column columns model models delete cancel degree
    folds percent scaling standardize normalize missing median dropout iterations excluding
    predictors covariates response outcome variable variables explain describe coefficient coefficients
    significant significance summary""".split()
)
_MIN_LENGTH = 5
_ENDINGS = r"(?:s|es|ed|d|ing|er|ers|ly)$"  # "explained" is "explain", not a misspelling of it
_WORD = re.compile(r"[A-Za-z]+")


def distance(a: str, b: str) -> int:
    """Edit distance with adjacent transpositions (optimal string alignment)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = current[j - 1] + 1, previous[j] + 1, previous[j - 1] + (ca != cb)
            best = min(cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, previous2[j - 2] + 1)
            current.append(best)
        previous2, previous = previous, current
    return previous[-1]


def closest(word: str, vocabulary: Iterable[str]) -> str | None:
    """The one vocabulary word `word` is a misspelling of (one edit; two for long words), else None."""
    word = word.casefold()
    if len(word) < _MIN_LENGTH or re.sub(_ENDINGS, "", word) in vocabulary or word in vocabulary:
        return None
    allowed = 2 if len(word) >= 9 else 1
    scored = [(distance(word, v), v) for v in vocabulary if abs(len(v) - len(word)) <= allowed]
    near = sorted((d, v) for d, v in scored if d <= allowed)
    if not near or (len(near) > 1 and near[0][0] == near[1][0]):
        return None
    return near[0][1]


def correct(text: str, columns: Iterable[str]) -> tuple[str, list[tuple[str, str]]]:
    """`text` with misspelt request words put right, and the (written, meant) pairs."""
    column_words = {w.casefold() for c in columns for w in re.split(r"[\W_]+", c) if w}
    fixes: list[tuple[str, str]] = []

    def fix(match: re.Match[str]) -> str:
        word = match[0]
        if word.casefold() in column_words or closest(word, column_words) is not None:
            return word
        meant = closest(word, VOCABULARY)
        if meant is None:
            return word
        fixes.append((word, meant))
        return meant

    return _WORD.sub(fix, text), fixes


def said(fixes: list[tuple[str, str]]) -> str:
    """ "I read 'trian' as 'train' and 'forrest' as 'forest'." """
    pairs = [f"'{written}' as '{meant}'" for written, meant in dict.fromkeys(fixes)]
    listed = pairs[0] if len(pairs) == 1 else ", ".join(pairs[:-1]) + f" and {pairs[-1]}"
    return f"I read {listed}."
