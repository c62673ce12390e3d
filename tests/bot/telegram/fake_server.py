"""A fake Telegram Bot API server on 127.0.0.1, for end-to-end tests of the aiogram adapter.

The bot under test talks to it exactly as to api.telegram.org (`settings.telegram.api_base`).
The test plays the users: it pushes updates (texts, commands, documents, button presses) that
the bot receives through getUpdates, and awaits what the bot sends back:

    server = FakeTelegramServer()
    await server.start()                      # server.base_url -> http://127.0.0.1:PORT
    alice = server.user(101)
    alice.upload("data.csv", csv_bytes)
    call = await alice.expect("sendMessage", "data.csv")   # the next matching call, or a timeout
    club = server.group(-1001234)             # a supergroup: members and Telegram's
    club.member(102).say("/help")             # placeholder senders (anonymous admin, channel,
    club.anonymous_admin().say("/help")       # automatic forward from the linked channel)

Every call the bot makes is recorded (`server.calls`); `expect` consumes each call once, so
successive expectations walk through a chat in order while tolerating interleaved progress
edits. The server enforces the limits of the real API that the adapter must respect: texts
up to 4096 characters, captions up to 1024, callback data up to 64 bytes, no download of
files above 20 MB, and "message is not modified" on an edit that changes nothing. A document
may declare a size other than its data's (`upload(..., file_size=...)`), and `bytes_served`
tells how much of it a download actually took.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ["BotCall", "FakeGroup", "FakeTelegramServer", "FakeUser", "UploadedFile"]

TOKEN = "123456789:FAKE-token-for-tests"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "StatAgent", "username": "statagent_test_bot"}
DOWNLOAD_LIMIT = 20 * 1024 * 1024
# Telegram's placeholder senders: messages no one person signs carry one of these as `from`.
GROUP_ANONYMOUS_BOT = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
CHANNEL_BOT = {"id": 136817688, "is_bot": True, "first_name": "Channel", "username": "Channel_Bot"}
TELEGRAM_SERVICE = {"id": 777000, "is_bot": False, "first_name": "Telegram"}
_DOWNLOAD_CHUNK = 256 * 1024
_TEXT_LIMIT = 4096
_CAPTION_LIMIT = 1024
_CALLBACK_DATA_LIMIT = 64
_JSON_FIELDS = {"reply_markup", "allowed_updates", "entities", "caption_entities", "link_preview_options"}


class _ApiError(Exception):
    def __init__(self, status: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot sent (multipart part)."""

    filename: str
    data: bytes


@dataclass
class BotCall:
    """One Bot API call the bot made, with its parameters and the server's answer."""

    method: str
    chat_id: int | None
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    result: Any
    consumed: bool = False

    @property
    def text(self) -> str:
        """The message text or caption ('' when there is none)."""
        return self.params.get("text") or self.params.get("caption") or ""

    @property
    def message_id(self) -> int | None:
        """The id of the message sent or edited."""
        if "message_id" in self.params:
            return int(self.params["message_id"])
        return self.result.get("message_id") if isinstance(self.result, dict) else None

    @property
    def file(self) -> UploadedFile:
        """The one file attached to a sendPhoto/sendDocument call."""
        (uploaded,) = self.files.values()
        return uploaded

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of every inline button."""
        markup = self.params.get("reply_markup") or {}
        return [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    path: str
    size: int  # as declared, which may not be the size of `data`
    data: bytes
    served: int = 0  # bytes of `data` sent to the bot so far


@dataclass
class FakeUser:
    """One sender in one chat, seen from the sender's side: by default a user in their private
    chat (chat id == user id, as in Telegram); `FakeGroup` makes senders in a group."""

    server: FakeTelegramServer
    user_id: int
    name: str = field(default="")
    chat: dict[str, Any] | None = None  # None: the user's private chat
    profile: dict[str, Any] = field(default_factory=dict)  # more of the sender's `from` (is_bot, username)
    posting: dict[str, Any] = field(default_factory=dict)  # more of each message (sender_chat, ...)

    @property
    def chat_id(self) -> int:
        return self.chat["id"] if self.chat else self.user_id

    def say(self, text: str) -> dict[str, Any]:
        """Send a text message (a /command gets its bot_command entity)."""
        message = self.server._user_message(self, text=text)
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        self.server._push_update({"message": message})
        return message

    def send(self, **content: Any) -> dict[str, Any]:
        """Send a message of any other kind, e.g. send(sticker={...})."""
        message = self.server._user_message(self, **content)
        self.server._push_update({"message": message})
        return message

    def upload(self, filename: str, data: bytes, *, file_size: int | None = None, mime_type: str = "text/csv") -> dict[str, Any]:
        """Send a document. `file_size` overrides the declared size; a download gets `data` all the same."""
        stored = self.server._store_file(data, size=file_size or len(data), prefix="documents")
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": stored.size,
        }
        message = self.server._user_message(self, document=document)
        self.server._push_update({"message": message})
        return message

    def press(self, call: BotCall, label: str) -> str:
        """Press the inline button `label` under the message of `call`; returns the callback id."""
        data = dict(call.buttons).get(label)
        if data is None:
            raise AssertionError(f"no button {label!r} in {call.buttons}")
        return self.press_data(call, data)

    def press_data(self, call: BotCall, data: str) -> str:
        """Press a button carrying `data` under the message of `call`, whether the message shows
        one or not (an old or a forged button); returns the callback id."""
        message = self.server._bot_messages[(self.chat_id, call.message_id)]
        query_id = str(next(self.server._ids))
        self.server._callback_chats[query_id] = self.chat_id
        self.server._push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self.server._user_json(self),
                    "chat_instance": f"chat-{self.chat_id}",
                    "message": message,
                    "data": data,
                }
            }
        )
        return query_id

    async def expect(
        self,
        method: str | tuple[str, ...] = "sendMessage",
        text: str | re.Pattern[str] | None = None,
        *,
        timeout: float = 30,
    ) -> BotCall:
        """The earliest unconsumed call to this chat of `method` whose text contains `text`."""
        return await self.server.expect(self.chat_id, method, text, timeout=timeout)

    def calls(self, method: str | None = None) -> list[BotCall]:
        """Every call the bot made to this chat so far (optionally of one method)."""
        return [c for c in self.server.calls if c.chat_id == self.chat_id and method in (None, c.method)]


@dataclass
class FakeGroup:
    """A supergroup with the bot in it: its members and Telegram's placeholder senders post there."""

    server: FakeTelegramServer
    group_id: int
    title: str

    @property
    def chat(self) -> dict[str, Any]:
        return {"id": self.group_id, "type": "supergroup", "title": self.title}

    def member(self, user_id: int, name: str = "") -> FakeUser:
        """A user writing as themselves in the group."""
        return FakeUser(self.server, user_id, name or f"User{user_id}", chat=self.chat)

    def anonymous_admin(self) -> FakeUser:
        """An admin with 'Remain anonymous' on: the message comes from the group itself."""
        return self._placeholder(GROUP_ANONYMOUS_BOT, sender_chat=self.chat)

    def channel(self, channel_id: int, title: str = "Some Channel") -> FakeUser:
        """Someone posting on behalf of a channel they own."""
        return self._placeholder(CHANNEL_BOT, sender_chat=_channel(channel_id, title))

    def linked_channel(self, channel_id: int, title: str = "Linked Channel") -> FakeUser:
        """The group's linked channel: its posts are forwarded into the group automatically."""
        return self._placeholder(TELEGRAM_SERVICE, sender_chat=_channel(channel_id, title), is_automatic_forward=True)

    def _placeholder(self, sender: dict[str, Any], **posting: Any) -> FakeUser:
        profile = {k: v for k, v in sender.items() if k not in ("id", "first_name")}
        return FakeUser(self.server, sender["id"], sender["first_name"], chat=self.chat, profile=profile, posting=posting)


def _channel(channel_id: int, title: str) -> dict[str, Any]:
    return {"id": channel_id, "type": "channel", "title": title}


class FakeTelegramServer:
    """The Bot API endpoints aiogram's polling bot uses, served from memory."""

    def __init__(self, *, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[BotCall] = []
        self._ids = itertools.count(1)
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._bot_messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._callback_chats: dict[str, int] = {}
        self._files: dict[str, _StoredFile] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._failures: dict[str, list[int]] = {}
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._handle_method)
        app.router.add_get("/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        """Release pending long polls and stop listening."""
        self._closing = True
        self._changed.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- the users' side ----------------------------------------------------------------------

    def user(self, user_id: int, name: str = "") -> FakeUser:
        """A user (and their private chat) who can send to the bot."""
        return FakeUser(self, user_id, name or f"User{user_id}")

    def group(self, group_id: int, title: str = "Data Club") -> FakeGroup:
        """A supergroup (a negative id, as in Telegram) the bot is a member of."""
        return FakeGroup(self, group_id, title)

    def bytes_served(self, file_id: str) -> int:
        """How many bytes of a stored file downloads have sent so far."""
        return self._files[file_id].served

    def fail_next(self, method: str, *, retry_after: int) -> None:
        """Answer the next call of `method` with 429 Too Many Requests (retry_after seconds)."""
        self._failures.setdefault(method, []).append(retry_after)

    async def expect(
        self,
        chat_id: int | None,
        method: str | tuple[str, ...] = "sendMessage",
        text: str | re.Pattern[str] | None = None,
        *,
        timeout: float = 30,
    ) -> BotCall:
        """Wait for (and consume) the earliest unconsumed matching call; AssertionError on timeout."""
        methods = (method,) if isinstance(method, str) else method

        def matches(call: BotCall) -> bool:
            if call.consumed or call.chat_id != chat_id or call.method not in methods:
                return False
            if text is None:
                return True
            return bool(text.search(call.text)) if isinstance(text, re.Pattern) else text in call.text

        deadline = time.monotonic() + timeout
        while True:
            self._changed.clear()
            found = next((c for c in self.calls if matches(c)), None)
            if found is not None:
                found.consumed = True
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = "\n".join(f"  {c.method}: {c.text[:200]!r}" for c in self.calls if c.chat_id == chat_id)
                raise AssertionError(f"no {methods} with {text!r} in chat {chat_id} within {timeout} s; seen:\n{seen}")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    # -- internals: updates and files ---------------------------------------------------------

    def _user_json(self, user: FakeUser) -> dict[str, Any]:
        return {"id": user.user_id, "is_bot": False, "first_name": user.name, **user.profile}

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _user_message(self, user: FakeUser, **content: Any) -> dict[str, Any]:
        chat = user.chat or {"id": user.chat_id, "type": "private", "first_name": user.name}
        self._chats[user.chat_id] = chat
        return {
            "message_id": self._next_message_id(user.chat_id),
            "date": int(time.time()),
            "chat": chat,
            "from": self._user_json(user),
            **user.posting,
            **content,
        }

    def _push_update(self, update: dict[str, Any]) -> None:
        self._updates.append({"update_id": next(self._update_ids), **update})
        self._changed.set()

    def _store_file(self, data: bytes, *, size: int, prefix: str, filename: str = "") -> _StoredFile:
        n = next(self._ids)
        suffix = "." + filename.rsplit(".", 1)[-1] if "." in filename else ""
        stored = _StoredFile(f"file-{n}", f"unique-{n}", f"{prefix}/file_{n}{suffix}", size, data)
        self._files[stored.file_id] = stored
        return stored

    # -- internals: the Bot API ----------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, files = await self._read_params(request)
        handler = getattr(self, f"_api_{method}", None)
        try:
            if request.match_info["token"] != self.token:
                raise _ApiError(401, "Unauthorized")
            if retry := self._failures.get(method):
                raise _ApiError(429, f"Too Many Requests: retry after {retry[0]}", retry_after=retry.pop(0))
            if handler is None:
                raise _ApiError(404, "Not Found: method not found")
            result = await handler(params, files) if asyncio.iscoroutinefunction(handler) else handler(params, files)
        except _ApiError as error:
            result = None
            body: dict[str, Any] = {"ok": False, "error_code": error.status, "description": error.description}
            if error.parameters:
                body["parameters"] = error.parameters
            response = web.json_response(body, status=error.status)
        else:
            response = web.json_response({"ok": True, "result": result})
        if method != "getUpdates":
            self.calls.append(BotCall(method, self._chat_of(params), params, files, result))
            self._changed.set()
        return response

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                for name, value in (await request.post()).items():
                    if isinstance(value, web.FileField):
                        files[name] = UploadedFile(value.filename, value.file.read())
                    else:
                        params[name] = value
        for name in _JSON_FIELDS & params.keys():
            if isinstance(params[name], str):
                params[name] = json.loads(params[name])
        return params, files

    def _chat_of(self, params: dict[str, Any]) -> int | None:
        if "chat_id" in params:
            return int(params["chat_id"])
        return self._callback_chats.get(params.get("callback_query_id", ""))

    def _send(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        markup = params.get("reply_markup")
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                if len(button.get("callback_data", "").encode()) > _CALLBACK_DATA_LIMIT:
                    raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        message = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self._chats.get(chat_id, {"id": chat_id, "type": "private"}),
            "from": BOT_USER,
            **content,
        }
        if markup:
            message["reply_markup"] = markup
        self._bot_messages[(chat_id, message["message_id"])] = message
        return message

    def _caption(self, params: dict[str, Any]) -> dict[str, Any]:
        caption = params.get("caption")
        if caption and len(caption) > _CAPTION_LIMIT:
            raise _ApiError(400, "Bad Request: message caption is too long")
        return {"caption": caption} if caption else {}

    def _attached(self, params: dict[str, Any], files: dict[str, UploadedFile], name: str) -> UploadedFile:
        reference = params.get(name, "")
        key = reference.removeprefix("attach://")
        if key not in files:
            raise _ApiError(400, f"Bad Request: there is no {name} in the request")
        return files[key]

    def _api_getMe(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> dict[str, Any]:
        return BOT_USER

    def _api_deleteWebhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        return True

    def _api_setMyCommands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        return True

    def _api_sendChatAction(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        return True

    def _api_answerCallbackQuery(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        if params.get("callback_query_id") not in self._callback_chats:
            raise _ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        return True

    async def _api_getUpdates(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while not self._updates and not self._closing and (remaining := deadline - time.monotonic()) > 0:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                break
        return self._updates[: int(params.get("limit") or 100)]

    def _api_sendMessage(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> dict[str, Any]:
        text = params.get("text", "")
        if not text:
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > _TEXT_LIMIT:
            raise _ApiError(400, "Bad Request: message is too long")
        return self._send(params, text=text)

    def _api_editMessageText(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self._bot_messages.get(key)
        if message is None or "text" not in message:
            raise _ApiError(400, "Bad Request: message to edit not found")
        text = params.get("text", "")
        if len(text) > _TEXT_LIMIT:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        markup = params.get("reply_markup")
        if text == message["text"] and markup == message.get("reply_markup"):
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message",
            )
        message["text"] = text
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return message

    def _api_sendPhoto(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> dict[str, Any]:
        uploaded = self._attached(params, files, "photo")
        stored = self._store_file(uploaded.data, size=len(uploaded.data), prefix="photos", filename=uploaded.filename)
        size = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "width": 640, "height": 480}
        return self._send(params, photo=[size], **self._caption(params))

    def _api_sendDocument(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> dict[str, Any]:
        uploaded = self._attached(params, files, "document")
        stored = self._store_file(uploaded.data, size=len(uploaded.data), prefix="documents", filename=uploaded.filename)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": uploaded.filename,
            "file_size": stored.size,
        }
        return self._send(params, document=document, **self._caption(params))

    def _api_getFile(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> dict[str, Any]:
        stored = self._files.get(params.get("file_id", ""))
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        if stored.size > DOWNLOAD_LIMIT:
            raise _ApiError(400, "Bad Request: file is too big")
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": stored.size, "file_path": stored.path}

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        stored = next((f for f in self._files.values() if f.path == request.match_info["path"]), None)
        self.calls.append(BotCall("download", None, {"file_path": request.match_info["path"]}, {}, None))
        self._changed.set()
        if request.match_info["token"] != self.token or stored is None:
            return web.Response(status=404, text="Not Found")
        # In chunks, counting what was sent: a bot that stops reading is seen to stop.
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = len(stored.data)
        await response.prepare(request)
        try:
            for start in range(0, len(stored.data), _DOWNLOAD_CHUNK):
                chunk = stored.data[start : start + _DOWNLOAD_CHUNK]
                await response.write(chunk)
                stored.served += len(chunk)
            await response.write_eof()
        except ConnectionError:
            pass  # the bot hung up
        return response

