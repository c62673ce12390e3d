"""Requests to look at the data: describe it, correlate columns, plot them.

`read_explore` finds these phrasings ("describe the data", "correlation between a and b",
"correlations with price", "plot price against carat", "histogram of age", "box plot of price
by cut", "pair plot of a, b, c"); `resolve_explore` matches the names to the table's columns
(or asks), as training requests are; `to_explore` makes the controller's ExploreRequest.

The draft of these intents carries an `ExploreAsk`.
"""

from __future__ import annotations

import dataclasses
import re

from pydantic import BaseModel, ConfigDict, Field

from bot.parsing._columns import clean, find_spans, match_column
from bot.parsing._draft import column_question, note
from bot.parsing._types import Draft, Intent, Question, TableInfo
from controller.explore import ExploreRequest
from runner.spec import ExploreWhat, PlotKind



class ExploreAsk(BaseModel):
    """What to look at: `columns` (as written, then the table's names), `target` ("correlations
    with price"), the `plot` and `by` (a box plot's groups)."""

    model_config = ConfigDict(extra="forbid")

    columns: list[str] = Field(default_factory=list)
    target: str | None = None
    plot: PlotKind | None = None
    by: str | None = None


EXPLORE_INTENTS = frozenset({Intent.DESCRIBE, Intent.CORRELATE, Intent.PLOT})
_WHAT = {Intent.DESCRIBE: ExploreWhat.DESCRIBE, Intent.CORRELATE: ExploreWhat.CORRELATE, Intent.PLOT: ExploreWhat.PLOT}

_F = re.IGNORECASE
_LEAD = r"^\W*(?:(?:please|can\s+you|could\s+you|show\s+me|give\s+me|i\s+want|i'?d\s+like)\s+)*"
_ALL = re.compile(
    r"^\W*(?:(?:the|my|this|our|your|all|every|each|of|whole|entire)\s+)*"
    r"(?:data(?:set)?|table|file|spreadsheet|columns?|variables?|everything)?\W*$",
    _F,
)
_DESCRIBE = re.compile(
    _LEAD + r"(?:a\s+|an\s+|the\s+)?(?:describe|summari[sz]e|summary(?:\s+stat(?:istic)?s)?|descriptive\s+stat(?:istic)?s"
    r"|stat(?:istic)?s|overview|describe\(\)|summary\(\))(?:\s+(?:of|for|on))?(?P<rest>(?:\s.*)?)$",
    _F,
)
_TARGET = re.compile(
    r"\b(?:correlations?|correlates?|correlated|associations?)\s+(?:most\s+|best\s+|strongly\s+)?(?:with|to|against|for)"
    r"\s+(?P<target>.+?)\W*$",
    _F,
)
_PAIR = [
    # "is age or tenure more correlated with price?": all of them, for the matrix to compare.
    re.compile(
        r"\b(?:is|are)\s+(?P<rest>.+?)\s+(?:more|less)\s+(?:strongly\s+|closely\s+)?"
        r"(?:correlated|related|associated)\s+(?:with|to)\s+(?P<also>.+?)\W*$",
        _F,
    ),
    re.compile(
        r"\bwhich\s+(?:one\s+|column\s+)?is\s+(?:more|less)\s+(?:strongly\s+|closely\s+)?"
        r"(?:correlated|related|associated)\s+(?:with|to)\s+(?P<also>.+?)\s*[:,]\s*(?P<rest>.+?)\W*$",
        _F,
    ),
    re.compile(
        r"\b(?:correlat\w*|relationships?|associations?)\s+(?:coefficients?\s+)?(?:between|of|for)\s+(?P<rest>.+?)\W*$",
        _F,
    ),
    re.compile(r"\bhow\s+(?:does|do|is|are)\s+(?P<a>.+?)\s+correlat\w*\s+(?:with|to|and)\s+(?P<b>.+?)\W*$", _F),
    re.compile(r"\b(?:is|are)\s+(?P<a>.+?)\s+(?:and\s+(?P<b2>.+?)\s+)?correlated(?:\s+(?:with|to)\s+(?P<b>.+?))?\W*$", _F),
    re.compile(
        r"\bhow\s+(?:are|is|do|does)\s+(?P<a>.+?)\s+and\s+(?P<b>.+?)\s+(?:related|associated|connected|linked)\W*$", _F
    ),
    re.compile(r"\b(?:does|do|how\s+does|how\s+do)\s+(?P<a>.+?)\s+relate\s+to\s+(?P<b>.+?)\W*$", _F),
    re.compile(r"\bcorrelate\s+(?P<rest>.+?)\W*$", _F),
    re.compile(r"^\W*(?P<rest>.+?)\s+correlations?\W*$", _F),
]
_PLOT_WORD = r"(?:plot|chart|graph|draw|show|visuali[sz]e|scatter(?:\s*-?\s*plot)?)"
_HISTOGRAM = re.compile(
    r"\b(?:histogram|hist|distribution|spread)s?\s+(?:of|for)\s+(?P<rest>.+?)\W*$|\bhistogram\s+(?P<bare>.+?)\W*$", _F
)
_BOX = re.compile(
    r"\bbox\s*-?\s*(?:and\s+whiskers?\s+)?(?:plots?)?\s+(?:of\s+|for\s+)?(?P<value>.+?)\s+"
    r"(?:by|per|across|for\s+each|grouped\s+by|over)\s+(?P<by>.+?)\W*$",
    _F,
)
_PAIRPLOT = re.compile(
    r"\b(?:pair\s*-?\s*plots?|pairs\s+plots?|pairs|scatter\s*-?\s*(?:plot\s+)?matrix)\s+(?:of\s+|for\s+)?(?P<rest>.+?)\W*$",
    _F,
)
_SCATTER = re.compile(
    rf"\b{_PLOT_WORD}\s+(?:me\s+)?(?:a\s+)?(?:scatter\s*-?\s*(?:plot\s+)?)?(?:of\s+)?(?P<y>.+?)\s+"
    r"(?:against|vs\.?|versus|over|by|on|as\s+a\s+function\s+of|compared\s+to)\s+(?P<x>.+?)\W*$",
    _F,
)
_SCATTER_AND = re.compile(
    r"\bscatter\s*-?\s*(?:plot)?\s+(?:of\s+|for\s+)?(?P<rest>.+?)\W*$", _F
)
_AS_KIND = re.compile(
    rf"^\W*(?:(?:{_PLOT_WORD}|make|give)\s+(?:me\s+)?)?(?P<rest>.+?)\s+(?:as|in)\s+(?:a\s+)?"
    r"(?P<kind>box\s*-?\s*plot|histogram|scatter\s*-?\s*plot|pair\s*-?\s*plot)s?\W*$",
    _F,
)
_PLOT_ONE = re.compile(r"^\W*(?:plot|chart|graph|draw|visuali[sz]e)\s+(?:the\s+)?(?P<rest>.+?)\W*$", _F)
_ONE_HISTOGRAM = "A histogram shows one column; ask for one at a time, as in 'histogram of price'."
_SEPARATORS = re.compile(r"\s*(?:,|;|&|\band\b|\bor\b|\bwith\b|\bvs\.?|\bversus\b)\s*", _F)
_NOT_DATA = re.compile(r"\bmodel\w*|\bpredict\w*|\btrain\w*|~", _F)


def read_explore(text: str, table: TableInfo | None) -> Draft | None:
    """The draft of a describe, correlate or plot request, or None when `text` is none of these."""
    if _NOT_DATA.search(text):
        return None
    if match := _AS_KIND.search(text):  # "show price by cut as a box plot": "box plot of price by cut"
        text = f"{match['kind']} of {match['rest']}"
    if match := _BOX.search(text):
        return _draft(Intent.PLOT, plot=PlotKind.BOX, columns=[_name(match["value"])], by=_name(match["by"]))
    if match := _PAIRPLOT.search(text):
        return _draft(Intent.PLOT, plot=PlotKind.PAIR, columns=_names(match["rest"], table))
    if match := _HISTOGRAM.search(text):
        names = _names(match["rest"] or match["bare"], table)
        if len(names) > 1:
            return Draft(intent=Intent.UNKNOWN, reply=_ONE_HISTOGRAM)
        return _draft(Intent.PLOT, plot=PlotKind.HISTOGRAM, columns=names)
    if re.search(r"correlat|associat|relationship|\brelated\b|\brelate\s+to\b", text, _F):
        return _correlation(text, table)
    if match := _SCATTER.search(text):
        return _draft(Intent.PLOT, plot=PlotKind.SCATTER, columns=[_name(match["x"]), _name(match["y"])])
    if match := _SCATTER_AND.search(text):
        return _draft(Intent.PLOT, plot=PlotKind.SCATTER, columns=_names(match["rest"], table))
    if match := _DESCRIBE.search(text):
        return read_describe(match["rest"], table)
    if match := _PLOT_ONE.search(text):
        names = _names(match["rest"], table)
        if table is not None and any(match_column(n, table.columns).column is None for n in names):
            return None  # "draw me a picture": no columns named, so not a plot of the data
        if len(names) == 1:  # "plot age": its distribution
            return _draft(Intent.PLOT, plot=PlotKind.HISTOGRAM, columns=names)
        if len(names) > 1:
            return _draft(Intent.PLOT, plot=PlotKind.PAIR if len(names) > 2 else PlotKind.SCATTER, columns=names)
    return None


def read_describe(words: str, table: TableInfo | None) -> Draft | None:
    """The draft describing the columns `words` names, or every column ("", "the data"); None when
    `words` names none."""
    words = words.strip()
    if _ALL.match(words):
        return _draft(Intent.DESCRIBE)
    names = _names(words, table)
    return _draft(Intent.DESCRIBE, columns=names) if names else None


def _correlation(text: str, table: TableInfo | None) -> Draft | None:
    if match := _TARGET.search(text):
        before = text[: match.start()]
        # "the correlation of a with b" names two columns; "correlations with price" one.
        if not re.search(r"\b(?:between|of)\s+\S|\bhow\s+(?:does|do|is)\b|\b(?:is|are)\s+\S", before, _F):
            return _draft(Intent.CORRELATE, target=_name(match["target"]))
    for pattern in _PAIR:
        if match := pattern.search(text):
            found = match.groupdict()
            if found.get("rest"):
                names = _names(found["rest"], table) + ([_name(found["also"])] if found.get("also") else [])
            else:
                names = [_name(found["a"]), _name(found.get("b") or found.get("b2") or "")]
            names = [n for n in names if n]
            if len(names) == 1:
                return _draft(Intent.CORRELATE, target=names[0])
            if names:
                return _draft(Intent.CORRELATE, columns=names)
    return None


def _draft(
    intent: Intent,
    *,
    columns: list[str] | None = None,
    target: str | None = None,
    plot: PlotKind | None = None,
    by: str | None = None,
) -> Draft:
    said = {"columns": columns, "target": target, "plot": plot, "by": by}
    return Draft(intent=intent, request=ExploreAsk(**{k: v for k, v in said.items() if v not in (None, [], "")}))


def _name(text: str) -> str:
    return clean(text)


def _names(text: str, table: TableInfo | None) -> list[str]:
    """Column names in a list as written: the table's names found in it, else its items."""
    if table is not None:
        spans = find_spans(text, table.columns)
        rest = text
        for span in reversed(spans):
            rest = rest[: span.start] + " , " + rest[span.end :]
        if spans and not [p for p in _SEPARATORS.split(rest) if clean(p)]:
            return [span.text.strip() for span in spans]
    return [name for part in _SEPARATORS.split(text) if (name := clean(part))]


def resolve_explore(draft: Draft, table: TableInfo | None) -> Draft:
    """Match the written names to the table's columns, asking about those that fit none or several."""
    request = draft.request
    assert isinstance(request, ExploreAsk)
    notes = list(draft.notes)
    questions: list[Question] = []

    def settle(written: str) -> str:
        if table is None:
            return written
        found = match_column(written, table.columns)
        if found.column is not None:
            if found.noteworthy:
                note(notes, f"Matched '{written}' to column '{found.column}'.")
            return found.column
        if not any(q.field == f"column:{written}" for q in questions):
            questions.append(column_question(found))
        return written

    settled: dict[str, object] = {}
    if "columns" in request.model_fields_set:
        settled["columns"] = list(dict.fromkeys(settle(c) for c in request.columns))
    for key in ("target", "by"):
        if (written := getattr(request, key)) is not None:
            settled[key] = settle(written)
    request = request.model_copy(update=settled)
    if not questions and table is not None:
        request = _box_for_categories(request, table, notes)
    return dataclasses.replace(draft, request=request, notes=notes, questions=questions)


def _box_for_categories(request: ExploreAsk, table: TableInfo, notes: list[str]) -> ExploreAsk:
    """A scatter of numbers against categories is a box plot of the numbers by the categories."""
    columns = request.columns
    if request.plot is not PlotKind.SCATTER or len(columns) != 2:
        return request
    numeric = [c for c in columns if table.kinds.get(c) == "numeric"]
    groups = [c for c in columns if table.kinds.get(c) in ("categorical", "boolean")]
    if len(numeric) != 1 or len(groups) != 1:
        return request
    note(notes, f"'{groups[0]}' holds categories, so this is a box plot of '{numeric[0]}' by '{groups[0]}'.")
    return request.model_copy(update={"plot": PlotKind.BOX, "columns": numeric, "by": groups[0]})


def to_explore(draft: Draft, *, user_id: str, dataset_id: str, conversation_id: str = "") -> ExploreRequest:
    """The controller's request of a complete describe, correlate or plot draft."""
    if draft.questions:
        raise ValueError("the draft still has open questions")
    assert isinstance(draft.request, ExploreAsk)
    return ExploreRequest(
        user_id=user_id,
        dataset_id=dataset_id,
        conversation_id=conversation_id,
        what=_WHAT[draft.intent],
        **draft.request.model_dump(),
    )
