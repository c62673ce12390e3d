"""TelegramSink against the fake Bot API: limits of the real API, flood control, files."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from fake_server import FakeTelegramServer

from bot import Button, Document, MessageRef, Photo, Text
from bot.telegram import ButtonTokens, TelegramSink, create_bot
from config import load_settings

pytestmark = pytest.mark.asyncio(loop_scope="session")

CHAT = 4242


@pytest.fixture
async def bot(fake_telegram: FakeTelegramServer) -> AsyncIterator[Bot]:
    settings = load_settings(
        env={}, overrides={"telegram": {"token": fake_telegram.token, "api_base": fake_telegram.base_url}}
    )
    bot = create_bot(settings)
    yield bot
    await bot.session.close()


@pytest.fixture
def tokens() -> ButtonTokens:
    return ButtonTokens()


@pytest.fixture
def sink(bot: Bot, tokens: ButtonTokens) -> TelegramSink:
    return TelegramSink(bot=bot, chat_id=CHAT, tokens=tokens)


async def test_text_with_buttons_and_long_callback_data(
    sink: TelegramSink, tokens: ButtonTokens, fake_telegram: FakeTelegramServer
) -> None:
    long_value = "q:1:" + "a very long column name " * 5
    ref = await sink.send(Text("Which column?", buttons=(Button("short", "q:1:0"), Button("long", long_value))))

    call = await fake_telegram.expect(CHAT, "sendMessage", "Which column?")
    assert ref == MessageRef(chat_id=str(CHAT), message_id=call.message_id)
    labels = dict(call.buttons)
    assert labels["short"] == "q:1:0"
    assert len(labels["long"].encode()) <= 64
    assert tokens.decode(labels["long"]) == long_value
    assert tokens.decode("~t:forgotten") is None


async def test_long_text_is_split_at_line_ends(sink: TelegramSink, fake_telegram: FakeTelegramServer) -> None:
    lines = [f"line {n:05d} " + "x" * 80 for n in range(120)]  # ~11 000 characters
    await sink.send(Text("\n".join(lines), buttons=(Button("OK", "ok"),)))

    sent = [c for c in fake_telegram.calls if c.method == "sendMessage"]
    assert len(sent) == 3
    assert all(len(c.text) <= 4096 for c in sent)
    assert "\n".join(c.text for c in sent) == "\n".join(lines)
    assert [bool(c.buttons) for c in sent] == [False, False, True]


async def test_edit_ignores_not_modified_and_waits_out_flood_control(
    sink: TelegramSink, fake_telegram: FakeTelegramServer
) -> None:
    ref = await sink.send(Text("⏳ queued"))
    await sink.edit(ref, "⏳ queued")  # unchanged: Telegram says "not modified", which is fine

    fake_telegram.fail_next("editMessageText", retry_after=1)
    started = time.monotonic()
    await sink.edit(ref, "⚙️ running")
    assert time.monotonic() - started >= 1

    edits = [c for c in fake_telegram.calls if c.method == "editMessageText"]
    assert [c.text for c in edits] == ["⏳ queued", "⚙️ running", "⚙️ running"]
    assert fake_telegram._bot_messages[(CHAT, ref.message_id)]["text"] == "⚙️ running"


async def test_edit_of_a_lost_message_raises(sink: TelegramSink) -> None:
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await sink.edit(MessageRef(chat_id=str(CHAT), message_id=999), "hello")


async def test_photo_and_document_upload_their_bytes(
    sink: TelegramSink, fake_telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    png = tmp_path / "residuals.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    csv = tmp_path / "out.csv"
    csv.write_text("age,prediction\n3,10.5\n")

    await sink.send(Photo(path=png, caption="Residuals"))
    await sink.send(Document(path=csv, filename="predictions_model_x.csv", caption="1 prediction"))

    photo = await fake_telegram.expect(CHAT, "sendPhoto", "Residuals")
    assert photo.file.data == png.read_bytes()
    document = await fake_telegram.expect(CHAT, "sendDocument", "1 prediction")
    assert document.file.filename == "predictions_model_x.csv"
    assert document.file.data == csv.read_bytes()


async def test_caption_over_the_limit_follows_as_text(
    sink: TelegramSink, fake_telegram: FakeTelegramServer, tmp_path: Path
) -> None:
    csv = tmp_path / "out.csv"
    csv.write_text("a\n1\n")
    caption = "c" * 1500
    await sink.send(Document(path=csv, filename="out.csv", caption=caption))

    document = await fake_telegram.expect(CHAT, "sendDocument")
    assert document.text == ""
    assert (await fake_telegram.expect(CHAT, "sendMessage")).text == caption



async def test_a_huge_text_becomes_a_few_messages_not_a_flood(sink: TelegramSink, fake_telegram: FakeTelegramServer) -> None:
    await sink.send(Text("\n".join(f"note {n}: " + "y" * 200 for n in range(2000))))  # ~420 000 characters

    sent = [c for c in fake_telegram.calls if c.method == "sendMessage"]
    assert len(sent) == 3
    assert all(len(c.text) <= 4096 for c in sent)
    assert sent[-1].text.endswith("… (cut: too long for a chat message)")


async def test_a_monospace_text_is_one_pre_block(sink: TelegramSink, fake_telegram: FakeTelegramServer) -> None:
    table = "🔗 age and price\n         coef     p-value\nPearson  0.912  < 2.2e-16"
    await sink.send(Text(table, monospace=True))
    call = await fake_telegram.expect(CHAT, "sendMessage", "🔗 age and price")
    # Telegram counts offsets in UTF-16 code units: the emoji is two.
    assert call.params["entities"] == [{"type": "pre", "offset": 0, "length": len(table) + 1}]
    await sink.send(Text("plain"))
    assert "entities" not in (await fake_telegram.expect(CHAT, "sendMessage", "plain")).params
