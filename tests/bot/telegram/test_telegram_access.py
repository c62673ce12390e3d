"""The adapter around the dialogue without running jobs: rate limit, allowlist, big files,
buttons, ordering, start-up and shutdown. The bot is the real one (store, controller, dialogue);
no request here starts a container."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
import pytest_asyncio
from fake_server import DOWNLOAD_LIMIT, FakeTelegramServer

from bot.telegram import run_polling
from config import Settings, load_settings
from errors import ConfigError

pytestmark = pytest.mark.asyncio(loop_scope="session")

LIMIT = 5
ALLOWED = [2001, 2002, 2003, 2004, 2005, 2006, 2007]
TABLE = b"age,size,price\n" + b"".join(f"{a},{a * 3},{a * 7}\n".encode() for a in range(1, 31))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def telegram(
    tmp_path_factory: pytest.TempPathFactory, start_bot: Callable[..., AbstractAsyncContextManager[None]]
) -> AsyncIterator[FakeTelegramServer]:
    server = FakeTelegramServer()
    await server.start()
    try:
        async with start_bot(
            server, tmp_path_factory.mktemp("access-data"), rate_limit_per_minute=LIMIT, allowed_user_ids=ALLOWED
        ):
            yield server
    finally:
        await server.close()


@pytest.mark.docker
async def test_rate_limit_answers_once_then_stays_silent(telegram: FakeTelegramServer) -> None:
    user = telegram.user(2001)
    for _ in range(LIMIT + 3):
        user.say("/help")
    for _ in range(LIMIT):
        answer = await user.expect("sendMessage", "/models")
    await user.expect("sendMessage", "faster than I can handle")
    # A press after the burst is dropped too, but its spinner is stopped: a user's updates are
    # handled in order, so by that answer the rest of the burst was handled, silently.
    user.press_data(answer, "stale")
    await user.expect("answerCallbackQuery")
    assert len(user.calls("sendMessage")) == LIMIT + 1


@pytest.mark.docker
async def test_users_outside_the_allowlist_are_refused(telegram: FakeTelegramServer) -> None:
    stranger = telegram.user(3000)
    stranger.say("/help")
    stranger.upload("secret.csv", TABLE)
    for _ in range(2):
        refusal = await stranger.expect("sendMessage", "this bot is private")
    # Answered after everything sent before it: the upload got its refusal and nothing more.
    stranger.press_data(refusal, "stale")
    pressed = await stranger.expect("answerCallbackQuery")
    assert "this bot is private" in pressed.text
    assert [c.method for c in stranger.calls()] == ["sendMessage", "sendMessage", "answerCallbackQuery"]
    assert not [c for c in telegram.calls if c.method in ("getFile", "download")]


@pytest.mark.docker
async def test_file_above_20_mb_is_refused_without_download(telegram: FakeTelegramServer) -> None:
    user = telegram.user(2002)
    user.upload("huge.csv", b"", file_size=DOWNLOAD_LIMIT + 5 * 1024 * 1024)
    answer = await user.expect("sendMessage", "25 MB")
    assert "20 MB" in answer.text and "smaller" in answer.text
    assert not [c for c in telegram.calls if c.method in ("getFile", "download")]


@pytest.mark.docker
async def test_other_kinds_of_message_get_a_hint(telegram: FakeTelegramServer) -> None:
    user = telegram.user(2002)
    sticker = {"file_id": "s1", "file_unique_id": "s1", "type": "regular", "width": 512, "height": 512}
    user.send(sticker={**sticker, "is_animated": False, "is_video": False})
    await user.expect("sendMessage", "send a CSV, Excel (.xlsx) or Parquet file")


@pytest.mark.docker
async def test_question_buttons_and_cancel(telegram: FakeTelegramServer) -> None:
    user = telegram.user(2003)
    user.upload("table.csv", TABLE)
    reading = await user.expect("sendMessage", "📥 Reading table.csv")
    await user.expect("sendMessage", "📋 table.csv")
    user.say("train a random forest")
    question = await user.expect("sendMessage", "?")
    labels = [label for label, _ in question.buttons]
    assert {"age", "size", "price"} <= set(labels) and "✖ Cancel" in labels

    user.press(question, "✖ Cancel")
    await user.expect("answerCallbackQuery")
    await user.expect("sendMessage", "dropped that request")
    user.press(question, "price")  # the question is closed now
    await user.expect("answerCallbackQuery")
    await user.expect("sendMessage", "closed")
    # Nothing was started: the only status message is the upload's.
    assert {c.message_id for c in user.calls("editMessageText")} == {reading.message_id}


@pytest.mark.docker
async def test_a_rate_limited_press_still_stops_the_buttons_spinner(telegram: FakeTelegramServer) -> None:
    user = telegram.user(2006)
    user.upload("table.csv", TABLE)
    await user.expect("sendMessage", "table.csv")
    user.say("train a model")
    question = await user.expect("sendMessage", "Which column should the model predict?")
    for _ in range(LIMIT - 2):
        user.say("/help")
    for _ in range(LIMIT - 2):
        await user.expect("sendMessage", "/models")
    user.press(question, "price")  # over the limit: not handled, but answered
    answer = await user.expect("answerCallbackQuery")
    assert "faster than I can handle" in answer.text
    user.press(question, "price")  # dropped silently, and answered after whatever the first press led to
    assert not (await user.expect("answerCallbackQuery")).text
    assert not [c for c in user.calls("sendMessage") if "Which model should I train" in c.text]


@pytest.mark.docker
async def test_commands_for_another_bot_are_left_to_it(telegram: FakeTelegramServer) -> None:
    user = telegram.user(2004)
    user.say("/help@some_other_bot")
    user.say("/models@StatAgent_Test_Bot")  # ours: Telegram's usernames ignore case
    await user.expect("sendMessage", "You have no models")
    # Updates are handled in order: an answer to the first command would have come before.
    assert len(user.calls("sendMessage")) == 1


@pytest.mark.docker
async def test_a_press_counts_even_when_answering_the_button_fails(telegram: FakeTelegramServer) -> None:
    user = telegram.user(2005)
    user.upload("table.csv", TABLE)
    await user.expect("sendMessage", "table.csv")
    user.say("train a model")
    question = await user.expect("sendMessage", "Which column should the model predict?")
    # answerCallbackQuery only stops the button's spinner; when it fails (too late, flood
    # control, network), the choice must still be taken.
    telegram.fail_next("answerCallbackQuery", retry_after=30)
    user.press(question, "price")
    await user.expect("answerCallbackQuery")
    await user.expect("sendMessage", "Which model should I train to predict 'price'?")
    assert not [c for c in user.calls("sendMessage") if "went wrong" in c.text]


@pytest.mark.docker
async def test_a_users_messages_are_handled_in_order(telegram: FakeTelegramServer) -> None:
    user = telegram.user(2004)
    user.upload("first.csv", TABLE)
    user.say("/data@statagent_test_bot")  # sent before the upload's download has even started
    upload_answer = await user.expect("sendMessage", "📋 first.csv")
    data_answer = await user.expect("sendMessage", "📋 first.csv")
    assert data_answer.text.startswith(upload_answer.text.split("\n")[0])
    assert user.calls("sendMessage").index(upload_answer) < user.calls("sendMessage").index(data_answer)


@pytest.mark.docker
async def test_wrong_token_is_a_config_error(
    fake_telegram: FakeTelegramServer, start_bot: Callable[..., AbstractAsyncContextManager[None]], tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as raised:
        async with start_bot(fake_telegram, tmp_path, token="42:not-the-token"):
            await fake_telegram.expect(None, "deleteWebhook")
    assert "Telegram refused TELEGRAM_BOT_TOKEN" in str(raised.value)


async def test_missing_token_is_a_config_error_before_any_network(tmp_path: Path) -> None:
    settings = load_settings(env={}, overrides={"data_dir": str(tmp_path)})
    with pytest.raises(ConfigError) as raised:
        await run_polling(settings)
    assert "TELEGRAM_BOT_TOKEN is not set" in str(raised.value)  # `statagent bot` prints it
    assert not any(tmp_path.iterdir())


@pytest.mark.docker
async def test_sigterm_stops_polling_gracefully(
    fake_telegram: FakeTelegramServer, bot_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = bot_settings(fake_telegram, tmp_path)
    bot = asyncio.create_task(run_polling(settings))
    user = fake_telegram.user(2005)
    user.say("/start")
    await user.expect("sendMessage", "/help")
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(bot, timeout=30)
    # run_polling took its signal handlers away again.
    assert not asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)


@pytest.mark.docker
async def test_a_file_larger_than_declared_is_cut_off_at_the_limit(telegram: FakeTelegramServer) -> None:
    user = telegram.user(2007)
    data = TABLE * (2 * DOWNLOAD_LIMIT // len(TABLE))  # 40 MB that claim to be 1 KB
    document = user.upload("liar.csv", data, file_size=1024)["document"]
    answer = await user.expect("sendMessage", "I can receive files up to 20 MB")
    assert "Send a smaller file" in answer.text
    assert [c for c in telegram.calls if c.method == "getFile" and c.params.get("file_id") == document["file_id"]]
    assert telegram.bytes_served(document["file_id"]) < len(data)  # the bot stopped reading
    user.say("/data")
    await user.expect("sendMessage", "No table yet")
