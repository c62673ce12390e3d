"""The Claude path against a fake HTTP transport: the request, a tool_use answer, and falling back."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr

from bot.parsing import ClaudeParser, Draft, Intent, OfflineParser, Question, make_parser
from config import AnthropicSettings
from parsing_data import HOUSES, MODEL_IDS
from runner.spec import ModelType

SETTINGS = AnthropicSettings(
    api_key=SecretStr("sk-test"), model="claude-test-model", base_url="http://127.0.0.1:9", timeout_seconds=5
)
TEXT = "Train a random forest to predict Price from AGE and sise"


def tool_use(arguments: dict[str, Any]) -> dict[str, Any]:
    """A Messages API answer that calls the parser's tool."""
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": "claude-test-model",
        "content": [{"type": "tool_use", "id": "toolu_test", "name": "record_request", "input": arguments}],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 34},
    }


class FakeAnthropic:
    """Records each request and answers with `respond(request)`."""

    def __init__(self, respond: Callable[[httpx2.Request], httpx2.Response]) -> None:
        self.requests: list[httpx2.Request] = []
        self._respond = respond

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return self._respond(request)

    def parser(self) -> ClaudeParser:
        client = httpx2.AsyncClient(transport=httpx2.MockTransport(self.handler))
        return ClaudeParser(SETTINGS, http_client=client)

    def body(self, index: int = 0) -> dict[str, Any]:
        return json.loads(self.requests[index].content)


def answering(arguments: dict[str, Any]) -> FakeAnthropic:
    return FakeAnthropic(lambda request: httpx2.Response(200, json=tool_use(arguments)))


async def test_the_request_names_the_model_one_tool_and_the_columns_as_data() -> None:
    fake = answering({"intent": "train", "target_column": "price", "model_type": "random_forest"})
    await fake.parser().parse(TEXT, table=HOUSES, model_ids=MODEL_IDS)

    assert len(fake.requests) == 1
    request = fake.requests[0]
    assert request.url.path == "/v1/messages"
    credential = request.headers.get("x-api-key") or request.headers.get("authorization", "")
    assert credential.endswith("sk-test")
    body = fake.body()
    assert body["model"] == "claude-test-model"
    assert body["messages"] == [{"role": "user", "content": TEXT}]
    [tool] = body["tools"]
    assert tool["name"] == "record_request"
    assert body["tool_choice"] == {"type": "tool", "name": "record_request"}
    properties = tool["input_schema"]["properties"]
    assert properties["model_type"]["anyOf"][0]["enum"] == [m.value for m in ModelType]
    assert properties["intent"]["enum"] == [i.value for i in Intent]
    assert properties["validation"]["anyOf"][0]["enum"] == ["hold_out", "cross_validation"]
    assert properties["test_size"]["anyOf"][0] == {
        "exclusiveMaximum": 1,
        "exclusiveMinimum": 0,
        "type": "number",
    }
    assert properties["preprocessing"]["anyOf"][0]["properties"]["scaling"]["anyOf"][0]["enum"] == [
        "standard",
        "minmax",
        "robust",
        "none",
    ]
    assert {"user_id", "dataset_id", "operation", "task_type"}.isdisjoint(properties)
    assert "$ref" not in json.dumps(tool["input_schema"])
    # The columns travel as a JSON list inside the system prompt, never spliced into prose.
    columns = [{"name": c, "kind": HOUSES.kinds[c]} for c in HOUSES.columns]
    assert json.dumps(columns, ensure_ascii=False) in body["system"]
    assert json.dumps(MODEL_IDS) in body["system"]


async def test_a_tool_use_answer_goes_through_the_column_checks() -> None:
    fake = answering(
        {
            "intent": "train",
            "target_column": "Price",
            "feature_columns": ["AGE", "sise"],
            "model_type": "random_forest",
            "hyperparameters": {"n_estimators": 200},
            "validation": "cross_validation",
            "cv_folds": 5,
            "preprocessing": {"scaling": "minmax", "missing_strategy": None},
            "model_id": None,
            "use_latest_model": False,
        }
    )
    draft = await fake.parser().parse(TEXT, table=HOUSES, model_ids=MODEL_IDS)
    assert draft == Draft(
        intent=Intent.TRAIN,
        fields={
            "target_column": "price",
            "feature_columns": ["age", "size"],
            "model_type": "random_forest",
            "hyperparameters": {"n_estimators": 200},
            "validation": "cross_validation",
            "cv_folds": 5,
            "preprocessing": {"scaling": "minmax"},
        },
        questions=[],
        notes=[
            "Matched 'Price' to column 'price'.",
            "Matched 'AGE' to column 'age'.",
            "Matched 'sise' to column 'size'.",
        ],
    )


async def test_claude_naming_a_missing_column_still_gets_a_question() -> None:
    fake = answering({"intent": "train", "target_column": "prise", "excluded_columns": ["id"]})
    draft = await fake.parser().parse("predict prise from all but id", table=HOUSES, model_ids=[])
    assert [q.field for q in draft.questions] == ["column:prise", "model_type"]
    assert draft.questions[0].options == ["price", "prize"]
    assert draft.excluded == ["id"]


async def test_a_prediction_with_the_latest_model() -> None:
    fake = answering({"intent": "predict", "use_latest_model": True, "return_probabilities": False})
    draft = await fake.parser().parse(
        "score it with my newest model, labels only", table=None, model_ids=MODEL_IDS
    )
    assert (draft.intent, draft.model_id, draft.fields) == (
        Intent.PREDICT,
        "model_1a2b3c4d",
        {"return_probabilities": False},
    )
    assert draft.notes == ["Using your latest model, model_1a2b3c4d."]


async def test_an_unknown_model_id_from_claude_is_asked_about() -> None:
    fake = answering({"intent": "delete_model", "model_id": "model_99999999"})
    draft = await fake.parser().parse("delete model_99999999", table=None, model_ids=MODEL_IDS)
    assert draft.questions == [
        Question(
            field="model_id",
            text="You have no model model_99999999. Which one do you mean?",
            options=MODEL_IDS,
        )
    ]


def _status(code: int) -> Callable[[httpx2.Request], httpx2.Response]:
    error = {"type": "error", "error": {"type": "api_error", "message": "boom"}}
    return lambda request: httpx2.Response(code, json=error)


def _timeout(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ReadTimeout("timed out", request=request)


def _refused_connection(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ConnectError("connection refused", request=request)


def _text_only(request: httpx2.Request) -> httpx2.Response:
    answer = tool_use({})
    answer["content"] = [{"type": "text", "text": "I think you want a random forest."}]
    answer["stop_reason"] = "end_turn"
    return httpx2.Response(200, json=answer)


def _bad_arguments(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, json=tool_use({"intent": "train", "model_type": "banana", "cv_folds": 99}))


def _not_json(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, content=b"<html>gateway</html>", headers={"content-type": "text/html"})


@pytest.mark.parametrize(
    "respond",
    [
        _status(500),
        _status(529),
        _status(401),
        _timeout,
        _refused_connection,
        _text_only,
        _bad_arguments,
        _not_json,
    ],
    ids=[
        "http-500",
        "http-529-overloaded",
        "http-401",
        "timeout",
        "connection-refused",
        "no-tool-call",
        "arguments-out-of-schema",
        "not-json",
    ],
)
async def test_any_failure_falls_back_to_the_offline_parser(
    respond: Callable[[httpx2.Request], httpx2.Response],
) -> None:
    fake = FakeAnthropic(respond)
    draft = await fake.parser().parse(TEXT, table=HOUSES, model_ids=MODEL_IDS)
    assert len(fake.requests) == 1  # no retries: the user is waiting
    assert draft == OfflineParser().parse_now(TEXT, table=HOUSES, model_ids=MODEL_IDS)
    assert draft.fields["target_column"] == "price" and draft.fields["model_type"] == "random_forest"


async def test_no_key_means_no_request_at_all() -> None:
    fake = answering({"intent": "help"})
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(fake.handler))
    keyless = AnthropicSettings(base_url="http://127.0.0.1:9")
    assert isinstance(make_parser(keyless, http_client=client), OfflineParser)
    draft = await ClaudeParser(keyless, http_client=client).parse("help", table=None, model_ids=[])
    assert draft.intent is Intent.HELP and fake.requests == []
    assert isinstance(make_parser(SETTINGS, http_client=client), ClaudeParser)
