"""Follow-up edits of the last training request, read against a table."""

from __future__ import annotations

import pytest

from bot.parsing import Draft, OfflineParser, follow_up
from bot.parsing._draft import asked
from parsing_data import BOSTON

_LAST = "random forest for medv using rm, lstat and age with 200 trees"


def _edit(text: str) -> Draft | None:
    parser = OfflineParser()
    previous = parser.parse_now(_LAST, table=BOSTON, model_ids=[], user_id="42")
    return follow_up(previous, text, parser.parse_now(text, table=BOSTON, model_ids=[], user_id="42"), BOSTON)


@pytest.mark.parametrize(
    ("text", "changed", "note"),
    [
        ("same but with 300 trees", {"hyperparameters": {"n_estimators": 300}}, "n_estimators = 300"),
        ("now with ridge", {"model_type": "ridge"}, "ridge instead of random forest"),
        ("drop lstat", {"feature_columns": ["rm", "age"]}, "without lstat"),
        ("add crim", {"feature_columns": ["rm", "lstat", "age", "crim"]}, "also using crim"),
        ("same for nox", {"target_column": "nox"}, "predicting 'nox'"),
    ],
)
def test_an_edit_changes_only_what_it_names(text: str, changed: dict, note: str) -> None:
    draft = _edit(text)
    assert draft is not None and not draft.questions
    expected = {
        "hyperparameters": {"n_estimators": 200},
        "model_type": "random_forest",
        "target_column": "medv",
        "feature_columns": ["rm", "lstat", "age"],
    }
    if changed.get("model_type"):
        del expected["hyperparameters"]  # the old model's settings are not carried over to another
    assert asked(draft) == {**expected, **changed}
    assert draft.notes == [f"Your last request again, changed: {note}."]


@pytest.mark.parametrize("text", ["thanks", "train a lasso for medv", "explain model_12345678", "hello"])
def test_other_messages_are_not_edits(text: str) -> None:
    assert _edit(text) is None
