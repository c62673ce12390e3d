"""Column names in a user's words matched to a table's columns: loosely, never by guessing.

Names are compared as data only: case-folded, with spaces, underscores and hyphens ignored,
then by closeness (difflib). A name that fits two columns equally, or none, is reported as
such so the caller can ask.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

_LOOSE = re.compile(r"[\s_\-]+")
_EDGE_PUNCTUATION = ",.;:!?\"'()[]{}«»“”‘’`"
# Words around a column name that are not part of it ("the price column", "its size").
STOPWORDS = frozenset(
    """a an the my our your their its his her this that these those it them
    column columns col cols field fields variable variables var feature features value values
    attribute attributes predictor predictors input inputs of in to for please only just also
    data dataset table sheet file rows row as each model""".split()
)
_CLOSE_ENOUGH = 0.75  # difflib ratio: "sise" ~ "size" is 0.75, "prise" ~ "price" is 0.8
_SIMILAR = 0.5  # ordering of the options offered when nothing fits
_MIN_FUZZY_LENGTH = 3
_MAX_SPAN_WORDS = 12


def loose(name: str) -> str:
    """The form two names are compared in: case-folded, no spaces, underscores or hyphens."""
    return _LOOSE.sub("", name.casefold())


def clean(text: str) -> str:
    """`text` without the filler words around a name ("the price column" -> "price")."""
    words = [w for w in text.split() if w.casefold().strip(_EDGE_PUNCTUATION) not in STOPWORDS]
    return " ".join(words).strip(_EDGE_PUNCTUATION + " ")


@dataclass(frozen=True)
class Match:
    """How a name written by the user fits the table.

    `column` is set when exactly one column fits; otherwise `candidates` lists the columns that
    fit equally well (`ambiguous`), or all columns, the most similar first (nothing fits).
    """

    written: str
    column: str | None = None
    candidates: list[str] = field(default_factory=list)
    ambiguous: bool = False

    @property
    def noteworthy(self) -> bool:
        """True when the column is not simply what the user wrote (the user should be told)."""
        return self.column is not None and self.column not in (self.written.strip(), clean(self.written))


def match_column(written: str, columns: list[str]) -> Match:
    """Find the one column `written` means: exactly, loosely, inside it, or by a close spelling."""
    if written in columns:
        return Match(written, written)
    for text in dict.fromkeys((written.strip(), clean(written))):
        if not text:
            continue
        if text in columns:
            return Match(written, text)
        same = [c for c in columns if loose(c) == loose(text)]
        if len(same) == 1:
            return Match(written, same[0])
        if same:
            return Match(written, candidates=same, ambiguous=True)
    inside = list(dict.fromkeys(c for s in find_spans(written, columns) for c in s.candidates))
    if len(inside) == 1:
        return Match(written, inside[0])
    if inside:
        return Match(written, candidates=inside, ambiguous=True)
    described = _described(written, columns)
    if len(described) == 1:
        return Match(written, described[0])
    if described:
        return Match(written, candidates=described, ambiguous=True)
    return _close(written, columns)


def _described(written: str, columns: list[str]) -> list[str]:
    """The columns `written` describes rather than names.

    Its words are among the column's ("body weight" for body_weight_kg: units and other words
    dropped), or else the column's name abbreviates it ("weight" for wt, "miles per gallon" for mpg).
    """
    words = _words(clean(written) or written)
    if not words:
        return []
    by_words = [c for c in columns if words <= _words(c)]
    if by_words:
        return by_words
    keys = {loose(written), loose(clean(written))}
    return [
        c
        for c in columns
        if len(loose(c)) >= 2 and any(len(k) >= 2 * len(loose(c)) and _abbreviates(loose(c), k) for k in keys)
    ]


def _words(name: str) -> set[str]:
    """The words of a name, case-folded and singular ("Bill_Lengths" -> {"bill", "length"})."""
    parts = re.findall(r"[^\W_]+", name.casefold())
    return {p[:-1] if len(p) > 3 and p.endswith("s") and not p.endswith("ss") else p for p in parts}


def _abbreviates(short: str, long: str) -> bool:
    """`short` is `long` with letters left out, starting with the same letter ("wt" for "weight")."""
    if short[0] != long[0]:
        return False
    rest = iter(long[1:])
    return all(letter in rest for letter in short[1:])


def _close(written: str, columns: list[str]) -> Match:
    key = loose(clean(written) or written)
    scores = {c: round(difflib.SequenceMatcher(None, key, loose(c)).ratio(), 3) for c in columns}
    best = max(scores.values(), default=0.0)
    if len(key) >= _MIN_FUZZY_LENGTH and best >= _CLOSE_ENOUGH:
        tied = [c for c in columns if scores[c] == best]
        if len(tied) == 1:
            return Match(written, tied[0])
        return Match(written, candidates=tied, ambiguous=True)
    similar = sorted((c for c in columns if scores[c] >= _SIMILAR), key=lambda c: -scores[c])
    return Match(written, candidates=similar + [c for c in columns if c not in similar])


@dataclass(frozen=True)
class Span:
    """A stretch of text that is loosely a column name (`column`), or several (`candidates`)."""

    start: int
    end: int
    text: str
    column: str | None
    candidates: list[str]


def find_spans(text: str, columns: list[str]) -> list[Span]:
    """Column names written in `text`, leftmost-longest and not overlapping.

    "using Profit and Loss and size" finds "Profit and Loss" and "size" for those columns.
    """
    index: dict[str, list[str]] = {}
    for column in columns:
        if key := loose(column):
            index.setdefault(key, []).append(column)
    if not index:
        return []
    longest = min(_MAX_SPAN_WORDS, max(len(c.split()) for c in columns) + 1)
    words = list(re.finditer(r"\S+", text))
    spans: list[Span] = []
    i = 0
    while i < len(words):
        for j in range(min(len(words), i + longest), i, -1):
            span = _span_at(text, words[i].start(), words[j - 1].end(), index)
            if span:
                spans.append(span)
                i = j
                break
        else:
            i += 1
    return spans


def _span_at(text: str, start: int, end: int, index: dict[str, list[str]]) -> Span | None:
    raw = text[start:end]
    stripped = raw.strip(_EDGE_PUNCTUATION)
    for piece in dict.fromkeys((raw, stripped)):
        found = index.get(loose(piece))
        if found:
            offset = raw.find(piece)
            exact = [c for c in found if c == piece]
            chosen = exact or found
            return Span(
                start + offset,
                start + offset + len(piece),
                piece,
                chosen[0] if len(chosen) == 1 else None,
                chosen,
            )
    return None
