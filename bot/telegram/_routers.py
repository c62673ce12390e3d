"""Routers per concern: documents, button presses, text (commands included: the core reads
them, "/help@this_bot" too). Each turns an update into `Incoming` and hands it to the dialogue
core in the user's lane, so handlers return at once."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import CallbackQuery
from aiogram.types import Document as TelegramDocument
from aiogram.types import Message, Update

from bot import BOT_API_DOWNLOAD_LIMIT, Dialogue, Incoming, Text, Upload
from bot.telegram._lanes import Lanes
from bot.telegram._sink import ButtonTokens, TelegramSink
from errors import StatAgentError
from config.log import get_logger

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

__all__ = ["Adapter"]

log = get_logger(__name__)

UNSUPPORTED = "I can read text and tables: send a CSV, Excel (.xlsx) or Parquet file, or write what you want."
EXPIRED_BUTTON = "This button has expired. Please ask again."


class Adapter:
    """What the routers share: the dialogue core, the per-user lanes, the button tokens and
    the most bytes an upload may have (`upload_limit`)."""

    def __init__(self, *, dialogue: Dialogue, lanes: Lanes, tokens: ButtonTokens, upload_limit: int) -> None:
        self.dialogue = dialogue
        self.lanes = lanes
        self.tokens = tokens
        self.upload_limit = upload_limit

    def routers(self) -> list[Router]:
        """The routers, in the order they are tried (the text router ends with a catch-all)."""
        return [self._documents(), self._callbacks(), self._text()]

    def refuse(self, bot: Bot, chat_id: int | None, update: Update, notice: str | None) -> None:
        """Answer an update the middlewares stop: a pressed button is released (the notice, if
        any, shows as its toast); a message gets the notice in its chat."""
        if (query := update.callback_query) is not None:
            lane = chat_id if chat_id is not None else query.from_user.id
            self.lanes.submit(lane, lambda: _release(query, notice))
        elif notice is not None and chat_id is not None:
            sink = self._sink(bot, chat_id)
            self.lanes.submit(chat_id, lambda: sink.send(Text(notice)))

    # -- routers ---------------------------------------------------------------------------

    def _documents(self) -> Router:
        router = Router(name="documents")

        @router.message(F.document)
        async def document(message: Message, bot: Bot) -> None:
            assert message.document is not None
            self._deliver(bot, message, lambda: _upload(bot, message, message.document, limit=self.upload_limit))
            if message.caption:
                # A caption is a request about the file just sent: it comes after the upload.
                self._deliver(bot, message, lambda: _ready(_incoming(message, text=message.caption)))

        return router

    def _callbacks(self) -> Router:
        router = Router(name="callbacks")

        @router.callback_query(F.data)
        async def button(query: CallbackQuery, bot: Bot) -> None:
            user_id = query.from_user.id
            chat_id = query.message.chat.id if query.message else user_id
            data = self.tokens.decode(query.data or "")

            async def press() -> Incoming | None:
                await _release(query, EXPIRED_BUTTON if data is None else None)
                if data is None:
                    return None
                return Incoming(user_id=str(user_id), chat_id=str(chat_id), button=data)

            self._submit(bot, user_id=user_id, chat_id=chat_id, make=press)

        return router

    def _text(self) -> Router:
        router = Router(name="text")

        @router.message(F.text)
        async def text(message: Message, bot: Bot) -> None:
            if await _for_another_bot(bot, message.text or ""):
                return
            self._deliver(bot, message, lambda: _ready(_incoming(message, text=message.text)))

        @router.message()
        async def other(message: Message, bot: Bot) -> None:
            sink = self._sink(bot, message.chat.id)
            self.lanes.submit(_user_id(message), lambda: sink.send(Text(UNSUPPORTED)))

        return router

    # -- delivery --------------------------------------------------------------------------

    def _deliver(self, bot: Bot, message: Message, make: Callable[[], Awaitable[Incoming | None]]) -> None:
        self._submit(bot, user_id=_user_id(message), chat_id=message.chat.id, make=make)

    def _submit(
        self, bot: Bot, *, user_id: int, chat_id: int, make: Callable[[], Awaitable[Incoming | None]]
    ) -> None:
        sink = self._sink(bot, chat_id)

        async def work() -> None:
            try:
                incoming = await make()
                if incoming is not None:
                    await self.dialogue.handle(incoming, sink)
            except Exception:
                log.exception("telegram_update_failed", user_id=user_id)
                await sink.send(Text(StatAgentError.default_user_message))

        self.lanes.submit(user_id, work)

    def _sink(self, bot: Bot, chat_id: int) -> TelegramSink:
        return TelegramSink(bot=bot, chat_id=chat_id, tokens=self.tokens)


async def _ready(incoming: Incoming) -> Incoming:
    return incoming


def _user_id(message: Message) -> int:
    # Messages in channels have no sender; the chat stands for it.
    return message.from_user.id if message.from_user else message.chat.id


async def _for_another_bot(bot: Bot, text: str) -> bool:
    """'/help@other_bot' in a group chat is another bot's command (aiogram caches getMe)."""
    head = text.split(maxsplit=1)[0] if text.strip() else ""
    if not head.startswith("/") or "@" not in head:
        return False
    return head.split("@", 1)[1].lower() != ((await bot.me()).username or "").lower()


def _incoming(message: Message, **content: object) -> Incoming:
    return Incoming(user_id=str(_user_id(message)), chat_id=str(message.chat.id), **content)  # type: ignore[arg-type]


async def _upload(bot: Bot, message: Message, document: TelegramDocument, *, limit: int) -> Incoming:
    """The document as an Upload; above `limit` bytes only its size. A file declared bigger is
    never downloaded, and a download stops as soon as it passes the limit (whatever was declared)."""
    filename = document.file_name or "upload"
    size = document.file_size or 0
    if size > limit:
        return _incoming(message, document=Upload(filename=filename, data=None, size=size))
    buffer = _CappedBuffer(limit)
    try:
        await bot.download(document, destination=buffer)
    except _TooBig as error:
        log.warning("upload_larger_than_declared", declared=size, received=error.received, limit=limit)
        return _incoming(message, document=Upload(filename=filename, data=None, size=error.received))
    except TelegramBadRequest as error:
        if "file is too big" not in error.message:
            raise
        return _incoming(message, document=Upload(filename=filename, data=None, size=max(size, BOT_API_DOWNLOAD_LIMIT + 1)))
    data = buffer.getvalue()
    return _incoming(message, document=Upload(filename=filename, data=data, size=len(data)))


class _TooBig(Exception):
    """A download passed its limit; `received` bytes had arrived by then."""

    def __init__(self, received: int) -> None:
        super().__init__(f"{received} bytes received")
        self.received = received


class _CappedBuffer(io.BytesIO):
    """A download's destination that holds at most `limit` bytes: past it, writing raises
    _TooBig, which ends the download (the chunk that would pass the limit is not kept)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._limit = limit

    def write(self, data: ReadableBuffer) -> int:
        received = self.tell() + memoryview(data).nbytes
        if received > self._limit:
            raise _TooBig(received)
        return super().write(data)


async def _release(query: CallbackQuery, notice: str | None) -> None:
    """Stop the pressed button's spinner. The answer is only that: a late or refused one
    ("query is too old", flood control) must not lose the user's choice or the notice's lane."""
    try:
        await query.answer(notice)
    except TelegramAPIError:
        log.info("callback_answer_failed", user_id=query.from_user.id, exc_info=True)
