"""Answers to a draft's questions: put the reply in place, then check the draft again."""

from __future__ import annotations

import dataclasses

from bot.parsing._draft import note, resolve
from bot.parsing._explore import ExploreAsk
from bot.parsing._offline import read_feature_answer
from bot.parsing._types import Draft, TableInfo
from bot.parsing._words import read_model
from controller.task import TrainRequest


def answer(draft: Draft, *, field: str, value: str, table: TableInfo | None) -> Draft:
    """Apply the user's answer to one of the draft's questions (a button or typed words) and re-check.

    An answer that does not fit leaves the question open and adds a note saying why.
    """
    value = value.strip()
    request = draft.request
    notes = list(draft.notes)
    if field == "target_column":
        assert isinstance(request, TrainRequest)
        request = request.model_copy(update={"target_column": value})
    elif field == "feature_columns":
        assert isinstance(request, TrainRequest)
        features, excluded = read_feature_answer(value, table)
        request = request.model_copy(update={"feature_columns": features})
        draft = dataclasses.replace(draft, excluded=excluded)
    elif field == "model_type":
        assert isinstance(request, TrainRequest)
        model = read_model(value)
        if model is None:
            note(notes, f"I do not know the model '{value}'. Pick one of the buttons.")
            return dataclasses.replace(draft, notes=notes)
        request = request.model_copy(update={"model_type": model})
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

        def named(column: str) -> str:
            return value if column == written else column

        draft = dataclasses.replace(draft, excluded=[named(c) for c in draft.excluded])
        if isinstance(request, TrainRequest):
            features = request.feature_columns
            request = request.model_copy(
                update={
                    "target_column": request.target_column and named(request.target_column),
                    "feature_columns": features if features is None else [named(c) for c in features],
                }
            )
        elif isinstance(request, ExploreAsk):  # a describe, correlate or plot request
            renamed: dict[str, object] = {
                "target": request.target and named(request.target),
                "by": request.by and named(request.by),
            }
            if request.columns:
                renamed["columns"] = [named(c) for c in request.columns]
            request = request.model_copy(update=renamed)
    else:
        raise ValueError(f"no question about {field!r}")
    return resolve(dataclasses.replace(draft, request=request, notes=notes), table=table, model_ids=None)
