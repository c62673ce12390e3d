"""Answers to a draft's questions: put the reply in place, then check the draft again."""

from __future__ import annotations

import dataclasses

from bot.parsing._draft import note, resolve
from bot.parsing._offline import read_feature_answer
from bot.parsing._types import Draft, TableInfo
from bot.parsing._words import read_model


def answer(draft: Draft, *, field: str, value: str, table: TableInfo | None) -> Draft:
    """Apply the user's answer to one of the draft's questions (a button or typed words) and re-check.

    An answer that does not fit leaves the question open and adds a note saying why.
    """
    value = value.strip()
    fields = dict(draft.fields)
    notes = list(draft.notes)
    if field == "target_column":
        fields["target_column"] = value
    elif field == "feature_columns":
        features, excluded = read_feature_answer(value, table)
        fields.pop("feature_columns", None)
        if features is not None:
            fields["feature_columns"] = features
        draft = dataclasses.replace(draft, excluded=excluded)
    elif field == "model_type":
        model = read_model(value)
        if model is None:
            note(notes, f"I do not know the model '{value}'. Pick one of the buttons.")
            return dataclasses.replace(draft, notes=notes)
        fields["model_type"] = model.value
    elif field == "model_id":
        asked = next((q for q in draft.questions if q.field == "model_id"), None)
        model_id = value.lower()
        if asked and asked.options and model_id not in asked.options:
            note(notes, f"You have no model {value}. Pick one of the buttons.")
            return dataclasses.replace(draft, notes=notes)
        questions = [q for q in draft.questions if q.field != "model_id"]
        return dataclasses.replace(draft, model_id=model_id, notes=notes, questions=questions)
    elif field.startswith("column:"):
        written = field.removeprefix("column:")
        if fields.get("target_column") == written:
            fields["target_column"] = value
        if "feature_columns" in fields:
            fields["feature_columns"] = [value if c == written else c for c in fields["feature_columns"]]
        draft = dataclasses.replace(draft, excluded=[value if c == written else c for c in draft.excluded])
        for key in ("target", "by"):  # a describe, correlate or plot request
            if fields.get(key) == written:
                fields[key] = value
        if "columns" in fields:
            fields["columns"] = [value if c == written else c for c in fields["columns"]]
    else:
        raise ValueError(f"no question about {field!r}")
    return resolve(dataclasses.replace(draft, fields=fields, notes=notes), table=table, model_ids=None)
