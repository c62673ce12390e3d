"""Telegram's placeholder senders (anonymous group admins, channels, the service account that
forwards a linked channel's posts) are refused with a sentence of their own and never become an
account; people in the same group are served as themselves. The bot is the real one."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
import pytest_asyncio
from fake_server import FakeGroup, FakeTelegramServer, FakeUser

from store._store import DB_FILE

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="session")]

GROUP = -1001000000001
JOB_TIMEOUT = 120  # a table is read by an ingest job in a container
TABLE = b"age,size,price\n" + b"".join(f"{a},{a * 3},{a * 7}\n".encode() for a in range(1, 31))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("senders-data")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def telegram(
    data_dir: Path, start_bot: Callable[..., AbstractAsyncContextManager[None]]
) -> AsyncIterator[FakeTelegramServer]:
    server = FakeTelegramServer()
    await server.start()
    try:
        async with start_bot(server, data_dir):
            yield server
    finally:
        await server.close()


def users_in_store(data_dir: Path) -> set[str]:
    with sqlite3.connect(f"file:{data_dir / DB_FILE}?mode=ro", uri=True) as conn:
        return {row[0] for row in conn.execute("SELECT user_id FROM users")}


@pytest.mark.parametrize(
    ("group_id", "sender", "sentence"),
    [
        (GROUP - 1, FakeGroup.anonymous_admin, "You are posting as the group (anonymous admin), so I cannot tell who you are"),
        (GROUP - 2, lambda group: group.channel(-1002000000001), "You are posting on behalf of a channel"),
        (GROUP - 3, lambda group: group.linked_channel(-1002000000002), "forwarded automatically from the linked channel"),
    ],
    ids=["anonymous-admin", "channel", "linked-channel"],
)
async def test_placeholder_senders_are_refused_and_get_no_account(
    telegram: FakeTelegramServer,
    data_dir: Path,
    group_id: int,
    sender: Callable[[FakeGroup], FakeUser],
    sentence: str,
) -> None:
    placeholder = sender(telegram.group(group_id))
    placeholder.say("/help")
    document = placeholder.upload("table.csv", TABLE)["document"]
    placeholder.say("/models")  # a marker: once all three are refused, nothing else came of the first two
    for _ in range(3):
        refusal = await placeholder.expect("sendMessage", sentence)
        assert "tables and models are personal" in refusal.text
    assert [c.method for c in placeholder.calls()] == ["sendMessage"] * 3
    assert not [c for c in telegram.calls if c.method == "getFile" and c.params.get("file_id") == document["file_id"]]
    assert {str(placeholder.user_id), str(group_id)}.isdisjoint(users_in_store(data_dir))


async def test_a_person_in_the_same_group_is_served_as_themselves(
    telegram: FakeTelegramServer, data_dir: Path
) -> None:
    group = telegram.group(GROUP)
    group.anonymous_admin().say("/data")
    await group.anonymous_admin().expect("sendMessage", "anonymous admin")
    erin = group.member(5001, "Erin")
    erin.upload("erin.csv", TABLE)
    await erin.expect("sendMessage", "📋 erin.csv: 30 rows", timeout=JOB_TIMEOUT)
    erin.say("/data")
    await erin.expect("sendMessage", "📋 erin.csv: 30 rows")
    assert "5001" in users_in_store(data_dir)


async def test_a_placeholders_press_is_refused_on_the_button(telegram: FakeTelegramServer) -> None:
    group = telegram.group(GROUP - 4)
    frank = group.member(5002, "Frank")
    frank.upload("frank.csv", TABLE)
    await frank.expect("sendMessage", "📋 frank.csv: 30 rows", timeout=JOB_TIMEOUT)
    frank.say("train a model")
    question = await frank.expect("sendMessage", "Which column should the model predict?")

    group.anonymous_admin().press(question, "price")
    refusal = await frank.expect("answerCallbackQuery")
    assert "anonymous admin" in refusal.text

    frank.press(question, "price")  # the question is still Frank's to answer
    await frank.expect("sendMessage", "Which model should I train to predict 'price'?")
    # Had the refused press been taken, it would have asked this first and Frank's press
    # would have found the question gone.
    asked = [c for c in frank.calls("sendMessage") if "Which model should I train" in c.text]
    assert len(asked) == 1 and not [c for c in frank.calls() if "no longer open" in c.text]
