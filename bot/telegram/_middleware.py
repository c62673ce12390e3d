"""Outer middlewares: per-user rate limit, Telegram's placeholder senders and the optional
allowlist of user ids."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection
from enum import StrEnum
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import Chat, TelegramObject, Update, User

from config.log import get_logger

__all__ = [
    "AllowlistMiddleware",
    "Placeholder",
    "PlaceholderSenderMiddleware",
    "RateLimitMiddleware",
    "RateLimiter",
    "Refuse",
    "Verdict",
]

log = get_logger(__name__)

# Answers an update the middleware stops, without blocking the dispatcher: (bot, chat id or
# None, the update, a notice or None for silence). A pressed button is released either way.
Refuse = Callable[[Bot, int | None, Update, str | None], None]

RATE_LIMITED = "You are sending messages faster than I can handle. Please wait a minute, then try again."
NOT_ALLOWED = "Sorry, this bot is private."

# The senders Telegram puts on messages that no one person signs (shared by all who post so).
GROUP_ANONYMOUS_BOT = 1087968824  # an anonymous group admin
CHANNEL_BOT = 136817688  # a message sent on behalf of a channel
TELEGRAM_SERVICE = 777000  # e.g. a post forwarded automatically from the group's linked channel

_WINDOW_SECONDS = 60.0
# Past this many tracked users, those idle for a whole window are forgotten.
_TRACKED_USERS = 10_000


class Verdict(StrEnum):
    PASS = "pass"
    WARN = "warn"  # the first refusal of a burst: say so once
    DROP = "drop"  # later refusals in the same window: stay silent


class RateLimiter:
    """At most `limit` events per user in any sliding minute."""

    def __init__(self, *, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._clock = clock
        self._accepted: dict[int, deque[float]] = {}
        self._warned: set[int] = set()

    def check(self, user_id: int) -> Verdict:
        now = self._clock()
        if len(self._accepted) > _TRACKED_USERS:
            self._forget_idle(now)
        accepted = self._accepted.setdefault(user_id, deque())
        while accepted and accepted[0] <= now - _WINDOW_SECONDS:
            accepted.popleft()
        if len(accepted) < self._limit:
            accepted.append(now)
            self._warned.discard(user_id)
            return Verdict.PASS
        if user_id in self._warned:
            return Verdict.DROP
        self._warned.add(user_id)
        return Verdict.WARN

    def _forget_idle(self, now: float) -> None:
        for user_id, accepted in list(self._accepted.items()):
            if not accepted or accepted[-1] <= now - _WINDOW_SECONDS:
                del self._accepted[user_id]
                self._warned.discard(user_id)


class RateLimitMiddleware(BaseMiddleware):
    """Drops a user's updates beyond the per-minute limit, with one polite notice per burst."""

    def __init__(self, *, limiter: RateLimiter, refuse: Refuse) -> None:
        self._limiter = limiter
        self._refuse = refuse

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None:
            return await handler(event, data)
        verdict = self._limiter.check(user.id)
        if verdict is Verdict.PASS:
            return await handler(event, data)
        log.info("rate_limited", user_id=user.id, verdict=verdict)
        notice = RATE_LIMITED if verdict is Verdict.WARN else None
        _refuse(self._refuse, event, data, notice)
        return None


class Placeholder(StrEnum):
    """Who a message stands for when its sender is one of Telegram's placeholders."""

    ANONYMOUS_ADMIN = "anonymous_admin"
    CHANNEL = "channel"
    LINKED_CHANNEL = "linked_channel"


_PERSONAL = "so I cannot tell who you are: your tables and models are personal."
PLACEHOLDER_REFUSALS = {
    Placeholder.ANONYMOUS_ADMIN: f"You are posting as the group (anonymous admin), {_PERSONAL} "
    "Turn off 'Remain anonymous' or write to me in a private chat.",
    Placeholder.CHANNEL: f"You are posting on behalf of a channel, {_PERSONAL} "
    "Post as yourself or write to me in a private chat.",
    Placeholder.LINKED_CHANNEL: "This message was forwarded automatically from the linked channel, so I "
    "cannot tell who sent it: tables and models are personal. Write to me as yourself, here or in a "
    "private chat.",
}


def _placeholder(user: User | None, sender_chat: Chat | None, chat: Chat | None) -> Placeholder | None:
    """The placeholder a message's sender is, or None for a person (`sender_chat`: on whose
    behalf the message was sent; `chat`: where)."""
    if user is not None and user.id == TELEGRAM_SERVICE:
        return Placeholder.LINKED_CHANNEL
    if sender_chat is not None:
        same_chat = chat is not None and sender_chat.id == chat.id
        return Placeholder.ANONYMOUS_ADMIN if same_chat else Placeholder.CHANNEL
    if user is not None and user.id == GROUP_ANONYMOUS_BOT:
        return Placeholder.ANONYMOUS_ADMIN
    if user is not None and user.id == CHANNEL_BOT:
        return Placeholder.CHANNEL
    return None


class PlaceholderSenderMiddleware(BaseMiddleware):
    """Refuses Telegram's placeholder senders with a sentence of their own: everyone posting as
    a group, a channel or the service account would otherwise share one account."""

    def __init__(self, *, refuse: Refuse) -> None:
        self._refuse = refuse

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        message = event.message if isinstance(event, Update) else None
        chat: Chat | None = data.get("event_chat")
        kind = _placeholder(data.get("event_from_user"), message.sender_chat if message else None, chat)
        if kind is None:
            return await handler(event, data)
        log.info("placeholder_sender_refused", kind=kind, chat_id=chat.id if chat else None)
        _refuse(self._refuse, event, data, PLACEHOLDER_REFUSALS[kind])
        return None


class AllowlistMiddleware(BaseMiddleware):
    """When a list of user ids is configured, everyone else gets a short refusal."""

    def __init__(self, *, allowed: Collection[int], refuse: Refuse) -> None:
        self._allowed = frozenset(allowed)
        self._refuse = refuse

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if not self._allowed or (user is not None and user.id in self._allowed):
            return await handler(event, data)
        log.info("user_not_allowed", user_id=user.id if user else None)
        _refuse(self._refuse, event, data, NOT_ALLOWED)
        return None


def _refuse(refuse: Refuse, event: TelegramObject, data: dict[str, Any], notice: str | None) -> None:
    if isinstance(event, Update):
        chat: Chat | None = data.get("event_chat")
        refuse(data["bot"], chat.id if chat is not None else None, event, notice)
