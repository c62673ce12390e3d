"""The phrasing corpus: requests over public tables, each with the draft it should become, and its score.

A corpus is a JSON Lines file; each line is one case:

    {"table": "boston", "text": "medv ~ rm + lstat", "intent": "train",
     "fields": {"model_type": "linear", ...}, "asks": [], "model_id": null, "reply": null}

`table` names a CSV beside the corpus (`boston.csv`). A case is right when the intent, the fields,
the fields asked about and the model id are as expected; a case with a `reply` is right when the
draft answers with a sentence starting so (its fields are not compared).

The tables are the project's own test data, so they are read here, in-process, by
`corpus_table`; a user's upload is never read this way (uploads are read by ingest jobs).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.parsing._draft import asked
from bot.parsing._types import Draft, Parser, TableInfo

EVAL_BAR = 0.95  # the share of the corpus the offline parser must get fully right
EVAL_MODEL_IDS = ["model_6b94bcbb", "model_00ff00ff"]  # the saved models cases may name, newest first
_EVAL_USER = "corpus"


@dataclass(frozen=True)
class Case:
    """One phrasing and what it should become."""

    table: str
    text: str
    intent: str
    fields: dict[str, Any] = field(default_factory=dict)
    asks: list[str] = field(default_factory=list)
    model_id: str | None = None
    reply: str | None = None


@dataclass
class Score:
    """How many cases a parser got fully right, and what it got wrong in the others."""

    right: int = 0
    misses: list[tuple[Case, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.right + len(self.misses)

    @property
    def share(self) -> float:
        return self.right / self.total if self.total else 0.0

    def text(self, name: str) -> str:
        """The score as printed by `statagent parse --eval`."""
        lines = [f"{name}: {self.right}/{self.total} fully right ({self.share:.1%})"]
        for case, why in self.misses:
            lines.append(f"  MISS [{case.table}] {case.text!r}: {why}")
        return "\n".join(lines)


def corpus_table(path: Path) -> TableInfo:
    """A corpus CSV's columns, kinds ("numeric" when every value is a number, else "categorical")
    and distinct counts. Only for the project's own test tables."""
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    columns, values = rows[0], rows[1:]
    kinds: dict[str, str] = {}
    distinct: dict[str, int] = {}
    for index, column in enumerate(columns):
        seen = {row[index] for row in values if row[index] != ""}
        kinds[column] = "numeric" if all(_is_number(v) for v in seen) else "categorical"
        distinct[column] = len(seen)
    return TableInfo(columns=columns, kinds=kinds, distinct=distinct)


def load_corpus(path: Path) -> tuple[list[Case], dict[str, TableInfo]]:
    """The cases of a corpus file and the tables they are about."""
    lines = path.read_text(encoding="utf-8").splitlines()
    cases = [Case(**json.loads(line)) for line in lines if line.strip()]
    tables = {name: corpus_table(path.parent / f"{name}.csv") for name in sorted({c.table for c in cases})}
    return cases, tables


def judge(case: Case, draft: Draft) -> str | None:
    """None when `draft` is what `case` expects, else what differs."""
    if draft.intent.value != case.intent:
        return f"intent {draft.intent.value}, expected {case.intent}"
    if case.reply is not None:
        if draft.reply is None or not draft.reply.startswith(case.reply):
            return f"reply {draft.reply!r}, expected one starting {case.reply!r}"
        return None
    if draft.reply is not None:
        return f"unexpected reply {draft.reply!r}"
    if (said := asked(draft)) != case.fields:
        return f"fields {said}, expected {case.fields}"
    asks = [q.field for q in draft.questions]
    if asks != case.asks:
        return f"asks {asks}, expected {case.asks}"
    if draft.model_id != case.model_id:
        return f"model id {draft.model_id}, expected {case.model_id}"
    return None


async def evaluate(parser: Parser, cases: list[Case], tables: dict[str, TableInfo]) -> Score:
    """Run every case through `parser` and count the fully right ones."""
    score = Score()
    for case in cases:
        draft = await parser.parse(
            case.text, table=tables[case.table], model_ids=list(EVAL_MODEL_IDS), user_id=_EVAL_USER
        )
        why = judge(case, draft)
        if why is None:
            score.right += 1
        else:
            score.misses.append((case, why))
    return score


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
