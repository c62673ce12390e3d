"""Words to a task: what a chat message asks for, checked against the current table.

    parser = make_parser(settings.anthropic, store=store)   # Claude with a key, else offline
    draft = await parser.parse(text, table=table, model_ids=ids, user_id=uid)   # ids: newest first
    while draft.questions:                            # ask draft.questions[0] with its options
        draft = answer(draft, field=draft.questions[0].field, value=reply, table=table)
    task = to_task(draft, user_id=..., dataset_id=...)  # TRAIN and PREDICT drafts

Both parsers end in the same check against the table (`_draft.resolve`): column names are
matched loosely and to close misspellings, and whatever is missing or ambiguous becomes a
question with buttons; nothing is guessed silently. Column names are data throughout.
Claude's cost is bounded per call and per user and UTC day (tokens counted in the store); a
user past the day's budget is served by the offline parser, with a note once a day.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from bot.parsing._cli import parse_command, register

if TYPE_CHECKING:
    from bot.parsing._answer import answer
    from bot.parsing._claude import ClaudeParser, make_parser
    from bot.parsing._draft import resolve, to_task
    from bot.parsing._explore import to_explore
    from bot.parsing._followup import follow_up
    from bot.parsing._offline import OfflineParser
    from bot.parsing._types import Draft, Intent, Parser, Question, TableInfo
    from bot.parsing._typos import closest

# Loaded on first use: `statagent --help` needs only `register`, and Claude needs the anthropic SDK.
_HOMES = {
    "ClaudeParser": "bot.parsing._claude",
    "Draft": "bot.parsing._types",
    "Intent": "bot.parsing._types",
    "OfflineParser": "bot.parsing._offline",
    "Parser": "bot.parsing._types",
    "Question": "bot.parsing._types",
    "TableInfo": "bot.parsing._types",
    "answer": "bot.parsing._answer",
    "closest": "bot.parsing._typos",
    "follow_up": "bot.parsing._followup",
    "make_parser": "bot.parsing._claude",
    "resolve": "bot.parsing._draft",
    "to_explore": "bot.parsing._explore",
    "to_task": "bot.parsing._draft",
}

__all__ = sorted([*_HOMES, "parse_command", "register"])


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'bot.parsing' has no attribute {name!r}")
