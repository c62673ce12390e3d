"""Edits of the last training request: "same but with 300 trees", "now with ridge", "drop lstat".

The edit is read by the offline parser, whichever parser read the request itself, and laid over
the last request; what changed is said back.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from bot.parsing._draft import asked, resolve
from bot.parsing._offline import OfflineParser
from bot.parsing._types import Draft, Intent, TableInfo
from controller.task import TrainRequest
from runner.spec import model_phrase

_EDIT = re.compile(
    r"^\W*(?:(?:the\s+)?same(?:\s+thing)?|again|now|this\s+time|instead|also|and|ok(?:ay)?|then|but|try|redo"
    r"|repeat|drop|remove|add|include|without|exclude|excluding|with|use|switch\s+to|change|make\s+it)\b",
    re.IGNORECASE,
)
_SAME = re.compile(r"^\W*(?:(?:the\s+)?same|again|now|this\s+time|instead|redo|repeat)\b", re.IGNORECASE)
_ADD = re.compile(r"^\W*(?:and\s+|also\s+|now\s+)?(?:add|include)\b", re.IGNORECASE)


def follow_up(previous: Draft, text: str, parsed: Draft, table: TableInfo | None) -> Draft | None:
    """`previous` changed as `text` asks, or None when `text` is not an edit of it.

    `parsed` is `text` read on its own: a request naming its own target is a new request unless
    it starts like an edit ("same but for rm", "now predict rm").
    """
    if previous.intent is not Intent.TRAIN or parsed.reply is not None or not _EDIT.match(text):
        return None
    if parsed.intent not in (Intent.TRAIN, Intent.UNKNOWN):
        return None
    if isinstance(parsed.request, TrainRequest) and parsed.request.target_column is not None and not _SAME.match(text):
        return None
    last = previous.request
    assert isinstance(last, TrainRequest)
    adding = bool(_ADD.match(text))
    words = _ADD.sub("using", text) if adding else text
    edit = OfflineParser().parse_now(words, table=table, model_ids=[], user_id=last.user_id, intent=Intent.TRAIN)
    assert isinstance(edit.request, TrainRequest)
    update: dict[str, Any] = {}
    changes: list[str] = []
    new = {name: getattr(edit.request, name) for name in asked(edit)}
    if "model_type" in new and new["model_type"] != last.model_type:
        assert last.model_type is not None
        changes.append(f"{model_phrase(new['model_type'])} instead of {model_phrase(last.model_type)}")
        # The settings of the old model may not fit the new one.
        last = TrainRequest.model_validate(last.model_dump(exclude_unset=True, exclude={"hyperparameters"}))
    for key, value in new.items():
        if key == "hyperparameters":
            update[key] = {**last.hyperparameters, **value}
            changes += [f"{name} = {v}" for name, v in value.items()]
        elif key == "feature_columns":
            update[key] = [*(last.feature_columns or []), *value] if adding else value
            changes.append(("also using " if adding else "using ") + ", ".join(value))
        elif key == "target_column":
            update[key] = value
            changes.append(f"predicting '{value}'")
        elif key != "model_type" or value != last.model_type:
            update[key] = value
            if key not in ("model_type", "learning_task"):
                changes.append(f"{key} = {_said(value)}")
    if edit.excluded:
        changes.append("without " + ", ".join(edit.excluded))
    if not changes:
        return None
    notes = [n for n in edit.notes if n not in previous.notes]
    notes.append("Your last request again, changed: " + "; ".join(changes) + ".")
    request = last.model_copy(update=update)
    draft = Draft(intent=Intent.TRAIN, request=request, notes=notes, excluded=edit.excluded, reply=edit.reply)
    return resolve(draft, table=table, model_ids=None)


def _said(value: Any) -> Any:
    """A changed setting as the user would write it (`validation = cross_validation`, not the enum)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    return getattr(value, "value", value)
