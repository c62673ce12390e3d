"""Questions and answers: what is asked, with which buttons, and how an answer completes a draft."""

from __future__ import annotations

import threading

import pytest

from bot.parsing import Draft, Intent, OfflineParser, Question, TableInfo, answer, to_explore, to_task
from bot.parsing._draft import asked
from config import load_settings
from errors import TaskError
from controller.task import build_spec
from parsing_data import HOUSES, MODEL_IDS
from runner.spec import ModelType, TaskType
from store import JobKind

REGRESSORS = [
    "linear",
    "random_forest",
    "gradient_boosting",
    "hist_gradient_boosting",
    "ridge",
    "lasso",
    "elasticnet",
    "polynomial",
    "svm",
    "neural_network",
]
CLASSIFIERS = [
    "logistic",
    "random_forest",
    "gradient_boosting",
    "hist_gradient_boosting",
    "svm",
    "neural_network",
]


def parse(text: str, table: TableInfo | None = HOUSES, model_ids: list[str] = MODEL_IDS) -> Draft:
    return OfflineParser().parse_now(text, table=table, model_ids=model_ids, user_id="42")


def reply(draft: Draft, value: str, table: TableInfo | None = HOUSES) -> Draft:
    return answer(draft, field=draft.questions[0].field, value=value, table=table)


def test_two_equally_close_columns_are_asked_about_then_the_model() -> None:
    draft = parse("predict prise using age")
    assert draft.questions[0] == Question(
        field="column:prise",
        text="'prise' could be 'price' or 'prize' — which one?",
        options=["price", "prize"],
    )
    draft = reply(draft, "price")
    assert asked(draft) == {"target_column": "price", "feature_columns": ["age"]}
    assert draft.questions == [
        Question(
            field="model_type",
            text="Which model should I train to predict 'price'?",
            options=REGRESSORS,
        )
    ]
    draft = reply(draft, "random forest")  # typed, not a button
    assert draft.questions == []
    task = to_task(draft, user_id="42", dataset_id="ds_1", conversation_id="chat-7")
    assert (task.kind, task.model_type) == (JobKind.TRAIN, ModelType.RANDOM_FOREST)
    assert (task.target_column, task.feature_columns, task.dataset_id) == ("price", ["age"], "ds_1")
    assert (task.user_id, task.conversation_id) == ("42", "chat-7")


def test_no_target_asks_with_every_column_and_a_categorical_answer_offers_classifiers() -> None:
    draft = parse("train a model")
    likely_first = ["price", "Sale Price", "outcome", "Profit and Loss", "age", "size", "location", "prize", "id"]
    assert draft.questions[0] == Question(
        field="target_column", text="Which column should the model predict?", options=likely_first
    )
    draft = reply(draft, "outcome")
    assert draft.questions == [
        Question(
            field="model_type", text="Which model should I train to predict 'outcome'?", options=CLASSIFIERS
        )
    ]
    draft = reply(draft, "neural_network")
    task = to_task(draft, user_id="42", dataset_id="ds_1")
    assert (task.kind, task.model_type, task.feature_columns) == (JobKind.TRAIN, ModelType.NEURAL_NETWORK, None)


def test_a_column_that_does_not_exist_offers_the_closest_first() -> None:
    draft = parse("train a random forest to predict price using size and aeg")
    question = draft.questions[0]
    assert question.field == "column:aeg"
    assert question.text == "There is no column 'aeg'. Which column do you mean?"
    assert question.options[0] == "age" and sorted(question.options) == sorted(HOUSES.columns)
    draft = reply(draft, "age")
    assert draft.questions == []
    assert asked(draft)["feature_columns"] == ["size", "age"]


def test_a_typed_answer_is_checked_like_the_request() -> None:
    draft = parse("train a random forest to predict prise")
    draft = reply(draft, "PRIZE")
    assert draft.questions == []
    assert asked(draft)["target_column"] == "prize"
    assert "Matched 'PRIZE' to column 'prize'." in draft.notes


def test_a_model_that_cannot_predict_categories_is_questioned() -> None:
    draft = parse("train a linear regression to predict outcome")
    assert draft.questions == [
        Question(
            field="model_type",
            text="'outcome' holds categories, and a linear model only predicts numbers. Which model should I use?",
            options=CLASSIFIERS,
        )
    ]
    draft = reply(draft, "logistic")
    assert draft.questions == [] and asked(draft)["model_type"] == "logistic"


def test_asking_to_classify_with_a_regression_model_is_questioned() -> None:
    draft = parse("classify price with lasso")
    assert draft.questions[0].text == "A lasso model cannot do classification. Which model should I use?"
    assert draft.questions[0].options == CLASSIFIERS


def test_an_unknown_model_name_keeps_the_question_open() -> None:
    draft = parse("train a model to predict price")
    after = reply(draft, "banana bread")
    assert after.questions == draft.questions
    assert after.notes[-1] == "I do not know the model 'banana bread'. Pick one of the buttons."


def test_everything_except_an_unknown_column_waits_for_the_answer() -> None:
    draft = parse("train ridge to predict price with everything except serial")
    assert [q.field for q in draft.questions] == ["column:serial"]
    assert draft.excluded == ["serial"] and "feature_columns" not in asked(draft)
    draft = reply(draft, "id")
    assert draft.questions == [] and draft.excluded == []
    assert asked(draft)["feature_columns"] == [
        "age",
        "size",
        "location",
        "prize",
        "Sale Price",
        "outcome",
        "Profit and Loss",
    ]


def test_target_buttons_put_the_features_named_last() -> None:
    draft = parse("train a random forest using price and age")
    assert draft.questions[0].options[:2] == ["Sale Price", "outcome"]
    assert draft.questions[0].options[-3:] == ["price", "age", "id"]


def test_a_two_class_number_is_offered_regressors_and_classifiers() -> None:
    kinds = {"survived": "numeric", "age": "numeric"}
    table = TableInfo(columns=["survived", "age"], kinds=kinds, distinct={"survived": 2})
    draft = OfflineParser().parse_now("train a model for survived", table=table, model_ids=[], user_id="42")
    assert draft.questions[0].options == [*REGRESSORS, "logistic"]


def test_logistic_regression_for_numbers_is_asked_again_with_regressors() -> None:
    draft = parse("logistic regression for price")
    assert draft.questions == [
        Question(
            field="model_type",
            text="'price' holds numbers, and a logistic model only predicts classes. "
            "Which model should I use?",
            options=REGRESSORS,
        )
    ]


def test_leaving_out_every_column_asks_for_features() -> None:
    draft = parse(
        "train ridge to predict price using everything except age, size, location, id, prize, "
        "Sale Price, outcome and Profit and Loss"
    )
    assert draft.questions == [
        Question(
            field="feature_columns",
            text="That leaves no columns to learn from. Which column should the model use?",
            options=[c for c in HOUSES.columns if c != "price"],
        )
    ]
    draft = reply(draft, "age and Size")
    assert draft.questions == [] and asked(draft)["feature_columns"] == ["age", "size"]


def test_features_can_be_changed_to_all_but_some() -> None:
    draft = parse("train ridge to predict price using age")
    draft = answer(draft, field="feature_columns", value="all columns except id and location", table=HOUSES)
    assert asked(draft)["feature_columns"] == [
        "age",
        "size",
        "prize",
        "Sale Price",
        "outcome",
        "Profit and Loss",
    ]


def test_a_model_id_question_takes_a_button_and_refuses_other_ids() -> None:
    draft = parse("predict")
    assert draft.questions == [
        Question(field="model_id", text="Which model should I use for the predictions?", options=MODEL_IDS)
    ]
    wrong = reply(draft, "model_deadbeef")
    assert wrong.questions == draft.questions and wrong.model_id is None
    done = reply(draft, "model_00ff00ff")
    assert done.questions == [] and done.model_id == "model_00ff00ff"
    task = to_task(done, user_id="42", dataset_id="ds_2")
    assert (task.kind, task.model_id, task.return_probabilities) == (JobKind.PREDICT, "model_00ff00ff", True)


def test_a_prediction_with_a_single_model_uses_it_and_says_so() -> None:
    draft = parse("make predictions", model_ids=["model_0000abcd"])
    assert (draft.model_id, draft.questions) == ("model_0000abcd", [])
    assert draft.notes == ["Using your only model, model_0000abcd."]


def test_a_prediction_without_any_model_cannot_become_a_task() -> None:
    draft = parse("predict the new rows", model_ids=[])
    assert (draft.intent, draft.questions, draft.model_id) == (Intent.PREDICT, [], None)
    with pytest.raises(TaskError) as refused:
        to_task(draft, user_id="42", dataset_id="ds_2")
    assert refused.value.user_message == "You have no models yet. Train one first, then ask for predictions."


def test_a_mistyped_model_id_offers_the_closest_first() -> None:
    draft = parse("show model model_1a2b3c4e")
    assert draft.questions[0].text == "You have no model model_1a2b3c4e. Which one do you mean?"
    assert draft.questions[0].options == ["model_1a2b3c4d", "model_00ff00ff"]


def test_without_a_table_names_are_kept_as_written() -> None:
    draft = parse("train a random forest to predict Preis from Alter", table=None)
    assert asked(draft) == {
        "model_type": "random_forest",
        "target_column": "Preis",
        "feature_columns": ["Alter"],
    }
    assert draft.questions == []
    missing = parse("train a random forest", table=None)
    assert missing.questions == [
        Question(field="target_column", text="Which column should the model predict?", options=[])
    ]


def test_exclusions_without_a_table_are_settled_once_there_is_one() -> None:
    draft = parse("train ridge to predict price using everything but id", table=None)
    assert (draft.questions, draft.excluded) == ([], ["id"])
    with pytest.raises(TaskError) as refused:
        to_task(draft, user_id="42", dataset_id=None)
    assert refused.value.user_message == "Send me the table first, then tell me what to train."
    unsure = parse("train a model with everything but id", table=None)
    settled = reply(unsure, "price")
    assert settled.excluded == []
    assert asked(settled)["feature_columns"] == [
        "age",
        "size",
        "location",
        "prize",
        "Sale Price",
        "outcome",
        "Profit and Loss",
    ]


def test_two_columns_differing_only_in_case_are_asked_about() -> None:
    table = TableInfo(columns=["Price", "price", "age"], kinds={"Price": "numeric", "price": "numeric"})
    draft = parse("train ridge to predict PRICE", table=table)
    assert draft.questions[0] == Question(
        field="column:PRICE",
        text="'PRICE' could be 'Price' or 'price' — which one?",
        options=["Price", "price"],
    )
    exact = parse("train ridge to predict price", table=table)
    assert (asked(exact)["target_column"], exact.questions) == ("price", [])


def test_a_phrase_naming_two_columns_as_target_is_asked_about() -> None:
    draft = parse("train ridge to predict the price of the location")
    assert draft.questions[0].field == "column:price of the location"
    assert draft.questions[0].options == ["price", "location"]


def test_two_columns_listed_as_the_target_are_asked_about_not_picked() -> None:
    for text, written in [
        ("train ridge to predict price and size", "price and size"),
        ("train ridge to predict price, size using age", "price, size"),
    ]:
        draft = parse(text)
        assert draft.questions[0].field == f"column:{written}"
        assert draft.questions[0].options == ["price", "size"]
        assert asked(reply(draft, "size"))["target_column"] == "size"


async def test_parsing_runs_off_the_event_loop() -> None:
    """Matching a long message against a wide table takes seconds; other users must not wait."""
    threads = []

    class Watched(OfflineParser):
        def parse_now(self, text: str, **kwargs: object) -> Draft:
            threads.append(threading.get_ident())
            return super().parse_now(text, **kwargs)  # type: ignore[arg-type]

    draft = await Watched().parse("train ridge to predict price", table=HOUSES, model_ids=[], user_id="42")
    assert asked(draft)["target_column"] == "price"
    assert threads and threading.get_ident() not in threads


def test_column_names_stay_verbatim_data() -> None:
    odd = ["__import__('os').system('rm -rf /')", "温度 (°C)", 'he said "hi"', "x" * 300, "{price}", "a;b"]
    table = TableInfo(columns=odd, kinds={name: "numeric" for name in odd})
    draft = parse(
        "train ridge to predict \"__import__('os').system('rm -rf /')\" from 温度 (°C), {price} and a;b",
        table=table,
    )
    assert draft.questions == []
    assert asked(draft)["target_column"] == odd[0]
    assert asked(draft)["feature_columns"] == ["温度 (°C)", "{price}", "a;b"]
    long = parse("train ridge to predict " + "X" * 300 + " using all other columns", table=table)
    assert asked(long)["target_column"] == "x" * 300
    task = to_task(long, user_id="42", dataset_id="ds")
    assert task.model_dump(mode="json")["target_column"] == "x" * 300


def test_values_the_task_refuses_become_a_task_error() -> None:
    draft = parse("train ridge to predict price with 50-fold cross validation")
    assert draft.reply is not None and "cv_folds = 50 is not allowed" in draft.reply
    with pytest.raises(TaskError) as refused:
        to_task(draft, user_id="42", dataset_id="ds")
    assert "cv_folds = 50 is not allowed" in refused.value.user_message


def test_ranges_are_left_to_build_spec() -> None:
    draft = parse("train ridge to predict price with alpha 50")
    task = to_task(draft, user_id="42", dataset_id="ds")
    assert task.hyperparameters == {"alpha": 50.0}
    with pytest.raises(TaskError) as refused:
        build_spec(
            task, ml=load_settings(env={}).ml_engine, job_id="job_0123456789ab", model_id="model_0123abcd"
        )
    assert (
        refused.value.user_message
        == "alpha = 50.0 is not allowed for a ridge model: the allowed range is 0.0001 to 10."
    )


def test_the_plan_scenario_becomes_a_complete_spec() -> None:
    draft = parse("Train a random forest to classify outcome using all features")
    task = to_task(draft, user_id="42", dataset_id="ds")
    spec = build_spec(
        task, ml=load_settings(env={}).ml_engine, job_id="job_0123456789ab", model_id="model_0123abcd"
    )
    assert (spec.target_column, spec.feature_columns, spec.task_type) == (
        "outcome",
        None,
        TaskType.CLASSIFICATION,
    )


def test_only_complete_train_and_predict_drafts_become_tasks() -> None:
    with pytest.raises(ValueError):
        to_task(parse("train a model"), user_id="42", dataset_id="ds")
    with pytest.raises(ValueError):
        to_task(parse("list my models"), user_id="42", dataset_id="ds")


def test_table_info_wants_kinds_by_column() -> None:
    with pytest.raises(TypeError):
        TableInfo(columns=["a"], kinds=["numeric"])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        TableInfo(columns=["a"], kinds={"b": "numeric"})


def test_a_column_asked_about_in_a_plot_request_is_put_in_place_by_the_answer():
    draft = parse("box plot of weight by locaton")
    assert draft.intent is Intent.PLOT
    assert [q.field for q in draft.questions] == ["column:weight"]
    done = answer(draft, field="column:weight", value="size", table=HOUSES)
    assert (asked(done), done.questions) == ({"plot": "box", "columns": ["size"], "by": "location"}, [])
    request = to_explore(done, user_id="u1", dataset_id="ds_0123456789ab")
    assert (request.what.value, request.plot.value, request.columns, request.by) == ("plot", "box", ["size"], "location")
