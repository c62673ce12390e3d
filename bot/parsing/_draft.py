"""The one step both parsers end with: check a draft against the table and the user's models.

`resolve` turns the column names as written into the table's own names (or questions), sets the
feature list for "everything except X", and asks for what is missing: the target, the model
type (offering the models that fit the target), the model id. It is idempotent, so an answer
is put in place and the draft simply resolved again. `to_task` makes the validated request.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from bot.parsing._columns import Match, match_column
from bot.parsing._types import Draft, Intent, Question, TableInfo
from errors import TaskError
from controller.task import PredictRequest, Task, TrainRequest
from runner.spec import MODEL_TASKS, ModelType, TaskType, model_phrase, models_for

_TARGET_NAME = re.compile(
    r"price|value|target|label|class|outcome|response|survived|species|churn|default|result|score|sales"
    r"|income|salary|cost|medv|^y$",
    re.IGNORECASE,
)
_IDENTIFIER = re.compile(r"^(?:id|index|row|name)$|[_\s]id$|^id[_\s]", re.IGNORECASE)
_CATEGORY_KINDS = frozenset({"categorical", "boolean", "text"})
_MODEL_QUESTION = {
    Intent.PREDICT: "Which model should I use for the predictions?",
    Intent.SHOW_MODEL: "Which model should I show?",
    Intent.DELETE_MODEL: "Which model should I delete?",
    Intent.RETRAIN: "Which model should I retrain on your current table?",
}


def resolve(
    draft: Draft,
    *,
    table: TableInfo | None,
    model_ids: list[str] | None,
    latest_model: bool = False,
) -> Draft:
    """Check `draft` against `table` and `model_ids` (newest first) and list what to ask.

    With `model_ids=None` (an answer to a question) the model-id questions are kept as they were.
    `latest_model` means the user said "my last model".
    """
    if draft.intent is Intent.TRAIN:
        return _resolve_training(draft, table)
    if draft.intent in (Intent.DESCRIBE, Intent.CORRELATE, Intent.PLOT):
        from bot.parsing._explore import resolve_explore  # it builds on this module

        return resolve_explore(draft, table)
    if draft.intent in _MODEL_QUESTION:
        if model_ids is None:
            return draft
        return _resolve_model_id(draft, model_ids, latest_model)
    return dataclasses.replace(draft, questions=[])


def _resolve_training(draft: Draft, table: TableInfo | None) -> Draft:
    request = draft.request
    assert isinstance(request, TrainRequest)
    settled_fields: dict[str, Any] = {}
    notes = list(draft.notes)
    questions: list[Question] = []
    excluded = list(draft.excluded)

    def settle(written: str) -> str | None:
        """The column `written` means, or None after queueing a question about it."""
        if table is None:
            return written
        found = match_column(written, table.columns)
        if found.column is not None:
            if found.noteworthy:
                note(notes, f"Matched '{written}' to column '{found.column}'.")
            return found.column
        if not any(q.field == f"column:{written}" for q in questions):
            questions.append(column_question(found))
        return None

    target = request.target_column
    if target is not None:
        target = settle(target)
        if target is not None:
            settled_fields["target_column"] = target
    else:
        questions.append(
            Question(
                field="target_column",
                text="Which column should the model predict?",
                options=_likely_targets(table, request.feature_columns or []) if table else [],
            )
        )

    features = request.feature_columns
    features_settled = True
    if features is not None:
        settled = [settle(name) for name in features]
        features_settled = None not in settled
        features = _unique([c or w for c, w in zip(settled, features, strict=True)])
    if excluded:
        settled = [settle(name) for name in excluded]
        excluded = _unique([c or w for c, w in zip(settled, excluded, strict=True)])
        if table is not None and None not in settled and features_settled and target is not None:
            features = [c for c in (features or table.columns) if c not in excluded]
            excluded = []
    elif features_settled and target is not None and features and target in features:
        note(notes, f"'{target}' is the column to predict, so it is not used as a feature.")
    if features is not None:
        if target is not None and features_settled:
            features = [c for c in features if c != target]
            if not features:
                questions.append(
                    Question(
                        field="feature_columns",
                        text="That leaves no columns to learn from. Which column should the model use?",
                        options=[c for c in (table.columns if table else []) if c != target],
                    )
                )
        settled_fields["feature_columns"] = features

    request = request.model_copy(update=settled_fields)
    model_question = _model_question(request, target, table)
    if model_question:
        questions.append(model_question)
    return dataclasses.replace(draft, request=request, questions=questions, notes=notes, excluded=excluded)


def _likely_targets(table: TableInfo, features: list[str]) -> list[str]:
    """The columns, likeliest targets first: names targets often have, then the last column
    (tables often end with it), then the rest; the features named and identifiers come last."""
    columns = list(table.columns)
    unlikely = [c for c in columns if c in features or _IDENTIFIER.search(c)]
    last = [columns[-1]] if columns and columns[-1] not in unlikely else []
    named = [c for c in columns if _TARGET_NAME.search(c) and c not in unlikely]
    if set(last) & set(named):  # a likely name in the last column is the likeliest of all
        named = last + named
    return _unique(named + last + [c for c in columns if c not in unlikely] + unlikely)


def column_question(found: Match) -> Question:
    written = found.written
    if found.ambiguous:
        quoted = [f"'{c}'" for c in found.candidates]
        choices = ", ".join(quoted[:-1]) + f" or {quoted[-1]}"
        text = f"'{written}' could be {choices} — which one?"
    else:
        text = f"There is no column '{written}'. Which column do you mean?"
    return Question(field=f"column:{written}", text=text, options=list(found.candidates))


def _model_question(request: TrainRequest, target: str | None, table: TableInfo | None) -> Question | None:
    kind = table.kinds.get(target) if table and target else None
    said = request.learning_task
    two_class = table is not None and target is not None and table.distinct.get(target) == 2
    wanted: TaskType | None
    if said:
        wanted = said
    elif kind in _CATEGORY_KINDS:
        wanted = TaskType.CLASSIFICATION
    elif kind == "numeric" and not two_class:  # never offer a classifier for numbers; a 0/1 column gets both
        wanted = TaskType.REGRESSION
    else:
        wanted = None
    options = _models_for(wanted)
    model = request.model_type
    if model is None:
        about = f" to predict '{target}'" if target else ""
        return Question(field="model_type", text=f"Which model should I train{about}?", options=options)
    if target is None or wanted is None or wanted in MODEL_TASKS[model]:
        return None
    if said:
        text = f"A {model_phrase(model)} model cannot do {wanted.value}. Which model should I use?"
    elif wanted is TaskType.CLASSIFICATION:
        text = (
            f"'{target}' holds categories, and a {model_phrase(model)} model only predicts numbers. "
            "Which model should I use?"
        )
    else:
        text = (
            f"'{target}' holds numbers, and a {model_phrase(model)} model only predicts classes. "
            "Which model should I use?"
        )
    return Question(field="model_type", text=text, options=options)


def formula_model(draft: Draft, table: TableInfo | None) -> Draft:
    """A formula naming no model: linear regression for a numeric response, logistic for a two-class one."""
    assert isinstance(draft.request, TrainRequest)
    target = draft.request.target_column
    if table is None or target is None or target not in table.kinds:
        return draft
    two_class = table.distinct.get(target) == 2
    if two_class:
        model = ModelType.LOGISTIC
    elif table.kinds[target] == "numeric":
        model = ModelType.LINEAR
    else:
        return draft
    why = "two classes" if two_class else "numbers"
    said = f"No model named: '{target}' holds {why}, so I will fit {model_phrase(model)} regression."
    notes = [*draft.notes, said]
    request = draft.request.model_copy(update={"model_type": model})
    return resolve(dataclasses.replace(draft, request=request, notes=notes), table=table, model_ids=None)


def _models_for(task: TaskType | None) -> list[str]:
    """The model types to offer: those that can do `task`; all, the regression ones first, without one."""
    offered = models_for(task or TaskType.REGRESSION)
    if task is None:
        offered += [m for m in MODEL_TASKS if m not in offered]
    return [m.value for m in offered]


def _resolve_model_id(draft: Draft, model_ids: list[str], latest_model: bool) -> Draft:
    notes = list(draft.notes)
    model_id = draft.model_id
    question = None
    if model_id is None and latest_model and model_ids:
        model_id = model_ids[0]
        note(notes, f"Using your latest model, {model_id}.")
    elif model_id is None and len(model_ids) == 1 and draft.intent is not Intent.DELETE_MODEL:
        model_id = model_ids[0]
        note(notes, f"Using your only model, {model_id}.")
    if model_id is None and model_ids:
        question = Question(field="model_id", text=_MODEL_QUESTION[draft.intent], options=list(model_ids))
    elif model_id is not None and model_ids and model_id not in model_ids:
        close = difflib.get_close_matches(model_id, model_ids, n=len(model_ids), cutoff=0.5)
        question = Question(
            field="model_id",
            text=f"You have no model {model_id}. Which one do you mean?",
            options=close + [m for m in model_ids if m not in close],
        )
    questions = [question] if question else []
    return dataclasses.replace(draft, model_id=model_id, notes=notes, questions=questions)


def new_request(
    intent: Intent, *, user_id: str, said: Mapping[str, Any]
) -> tuple[TrainRequest | PredictRequest, str | None]:
    """The TRAIN or PREDICT request of what a message `said`, and the refusal of the values it
    does not allow (left out of the request), if any."""
    kind = TrainRequest if intent is Intent.TRAIN else PredictRequest
    try:
        return kind.model_validate({**said, "user_id": user_id}), None
    except ValidationError as exc:
        refused = {error["loc"][0] for error in exc.errors() if error["loc"]}
        kept = {k: v for k, v in said.items() if k not in refused}
        return kind.model_validate({**kept, "user_id": user_id}), _refusal(exc)


def asked(draft: Draft) -> dict[str, Any]:
    """What the draft's request says so far, as JSON, without whose and which table it is (None
    is not said)."""
    if draft.request is None:
        return {}
    said = draft.request.model_fields_set - {"kind", "user_id", "dataset_id", "conversation_id"}
    return draft.request.model_dump(mode="json", include=said, exclude_none=True)


def to_task(draft: Draft, *, user_id: str, dataset_id: str | None, conversation_id: str = "") -> Task:
    """The request of a complete TRAIN or PREDICT draft: `user_id`'s, on the table `dataset_id`.

    Raises TaskError (with a user_message) when the draft cannot become a task, e.g. a
    prediction when the user has no model, or a value the task does not allow.
    """
    if draft.questions:
        raise ValueError("the draft still has open questions")
    if draft.reply is not None and isinstance(draft.request, (TrainRequest, PredictRequest)):
        raise TaskError("the draft is refused", user_message=draft.reply)
    where = {"user_id": user_id, "dataset_id": dataset_id, "conversation_id": conversation_id}
    if isinstance(draft.request, TrainRequest):
        if draft.excluded:
            raise TaskError(
                "exclusions without a table",
                user_message="Send me the table first, then tell me what to train.",
            )
        return draft.request.model_copy(update=where)
    if isinstance(draft.request, PredictRequest):
        if draft.model_id is None:
            raise TaskError(
                "no model to predict with",
                user_message="You have no models yet. Train one first, then ask for predictions.",
            )
        return draft.request.model_copy(update={**where, "model_id": draft.model_id})
    raise ValueError(f"a {draft.intent.value} request is not a task")


def _refusal(exc: ValidationError) -> str:
    """ "cv_folds = 50 is not allowed (input should be less than or equal to 20)." """
    parts = []
    for error in exc.errors():
        name = ".".join(str(p) for p in error["loc"]) or "the request"
        why = error["msg"][:1].lower() + error["msg"][1:]
        parts.append(f"{name} = {error.get('input')!r} is not allowed ({why})")
    return "; ".join(parts) + "."


def note(notes: list[str], text: str) -> None:
    """Add `text` unless it is already there (a draft is resolved again after each answer)."""
    if text not in notes:
        notes.append(text)


def _unique(names: list[Any]) -> list[str]:
    return list(dict.fromkeys(names))
