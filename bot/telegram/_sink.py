"""The dialogue core's Sink for one Telegram chat: replies become Bot API calls."""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.types import FSInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity

from bot import Button, Document, MessageRef, Photo, Reply, Text
from config.log import get_logger

__all__ = ["ButtonTokens", "TelegramSink"]

log = get_logger(__name__)

T = TypeVar("T")

TEXT_LIMIT = 4096
MAX_PIECES = 3  # messages one reply may become
_CUT = "\n… (cut: too long for a chat message)"
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
# Telegram asks a flooding bot to wait; waits longer than this are given up on.
_MAX_RETRY_AFTER = 60
_RETRIES = 3


class ButtonTokens:
    """Callback data that fits Telegram's 64 bytes: long values travel as short tokens.

    Short values pass through unchanged (and keep working after a restart); a long one is
    kept here, newest `capacity` of them, under a random token with a prefix no plain value
    is allowed to keep.
    """

    PREFIX = "~t:"

    def __init__(self, *, capacity: int = 10_000) -> None:
        self._values: OrderedDict[str, str] = OrderedDict()
        self._capacity = capacity

    def encode(self, data: str) -> str:
        if len(data.encode()) <= CALLBACK_DATA_LIMIT and not data.startswith(self.PREFIX):
            return data
        token = self.PREFIX + secrets.token_urlsafe(12)
        self._values[token] = data
        while len(self._values) > self._capacity:
            self._values.popitem(last=False)
        return token

    def decode(self, callback_data: str) -> str | None:
        """The original value; None for a token this process no longer knows (an old button)."""
        if not callback_data.startswith(self.PREFIX):
            return callback_data
        return self._values.get(callback_data)


class TelegramSink:
    """Sends and edits the replies of one chat. Plain text: no parse mode, nothing to escape."""

    def __init__(self, *, bot: Bot, chat_id: int, tokens: ButtonTokens) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._tokens = tokens

    async def send(self, reply: Reply) -> MessageRef:
        """Send one reply; a text over 4096 characters goes as several messages (ref: the last)."""
        match reply:
            case Text(text=text, buttons=buttons, monospace=monospace):
                message = await self._send_text(text, buttons, monospace=monospace)
            case Photo(path=path, caption=caption):
                message = await self._send_file(
                    lambda c: self._bot.send_photo(self._chat_id, FSInputFile(path), caption=c), caption
                )
            case Document(path=path, filename=filename, caption=caption):
                message = await self._send_file(
                    lambda c: self._bot.send_document(self._chat_id, FSInputFile(path, filename=filename), caption=c),
                    caption,
                )
            case _:
                raise TypeError(f"not a reply: {reply!r}")
        return MessageRef(chat_id=str(self._chat_id), message_id=message.message_id)

    async def edit(self, ref: MessageRef, text: str) -> None:
        """Replace a sent text (its buttons go); an edit that changes nothing is not an error."""
        if len(text) > TEXT_LIMIT:
            text = text[: TEXT_LIMIT - 1] + "…"
        try:
            await _retrying(
                lambda: self._bot.edit_message_text(text=text, chat_id=int(ref.chat_id), message_id=ref.message_id)
            )
        except TelegramBadRequest as error:
            if "message is not modified" not in error.message:
                raise

    async def _send_text(self, text: str, buttons: tuple[Button, ...], *, monospace: bool = False) -> Message:
        chunks = _split(text)
        for chunk in chunks[:-1]:
            await _retrying(lambda c=chunk: self._bot.send_message(self._chat_id, c, entities=_pre(c, monospace)))
        markup = self._keyboard(buttons) if buttons else None
        last = chunks[-1]
        return await _retrying(
            lambda: self._bot.send_message(self._chat_id, last, reply_markup=markup, entities=_pre(last, monospace))
        )

    async def _send_file(self, send: Callable[[str | None], Awaitable[Message]], caption: str) -> Message:
        if len(caption) <= CAPTION_LIMIT:
            return await _retrying(lambda: send(caption or None))
        message = await _retrying(lambda: send(None))
        await self._send_text(caption, ())
        return message

    def _keyboard(self, buttons: tuple[Button, ...]) -> InlineKeyboardMarkup:
        # One button per row reads well on a phone for column names of any length.
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=b.label, callback_data=self._tokens.encode(b.data))] for b in buttons
            ]
        )


async def _retrying(call: Callable[[], Awaitable[T]]) -> T:
    """Run a Bot API call, waiting out Telegram's flood control (429 retry_after) a few times."""
    attempt = 1
    while True:
        try:
            return await call()
        except TelegramRetryAfter as error:
            if attempt == _RETRIES or error.retry_after > _MAX_RETRY_AFTER:
                raise
            log.info("telegram_retry_after", seconds=error.retry_after)
            await asyncio.sleep(error.retry_after)
            attempt += 1


def _pre(text: str, monospace: bool) -> list[MessageEntity] | None:
    """A fixed-width block over the whole text (entities, not a parse mode: nothing to escape)."""
    if not monospace:
        return None
    return [MessageEntity(type="pre", offset=0, length=len(text.encode("utf-16-le")) // 2)]


def _split(text: str) -> list[str]:
    """Pieces of at most TEXT_LIMIT characters, cut at line ends where possible; at most
    MAX_PIECES of them, so no reply turns into a flood of messages."""
    text = text or " "
    chunks: list[str] = []
    while len(text) > TEXT_LIMIT:
        if len(chunks) == MAX_PIECES - 1:
            text = text[: TEXT_LIMIT - len(_CUT)] + _CUT
            break
        cut = text.rfind("\n", 0, TEXT_LIMIT)
        cut = cut if cut > 0 else TEXT_LIMIT
        chunks.append(text[:cut])
        text = text[cut:].lstrip("\n")
    chunks.append(text)
    return chunks
