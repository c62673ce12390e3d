"""StatAgent's chat bot: one transport-agnostic dialogue core and its transports.

    dialogue = Dialogue(settings=settings, store=store, controller=controller, parser=parser)
    await dialogue.handle(Incoming(user_id="42", chat_id="42", text="/models"), sink)

A transport (Telegram in `bot.telegram`, the terminal in `bot.terminal`) turns what a user
does into `Incoming` and implements `Sink` to show the `Text`/`Photo`/`Document` replies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot._messages import (
    BOT_API_DOWNLOAD_LIMIT,
    Button,
    Document,
    Incoming,
    MessageRef,
    Photo,
    Reply,
    Sink,
    Text,
    Upload,
    upload_limit,
)

if TYPE_CHECKING:
    from bot._dialogue import Dialogue, open_dialogue

__all__ = [
    "BOT_API_DOWNLOAD_LIMIT",
    "Button",
    "Dialogue",
    "Document",
    "Incoming",
    "MessageRef",
    "Photo",
    "Reply",
    "Sink",
    "Text",
    "Upload",
    "upload_limit",
    "open_dialogue",
]


def __getattr__(name: str) -> Any:
    # The core pulls in the controller, the store and the parser; importing `bot.parsing`
    # or the message types alone should not.
    if name in ("Dialogue", "open_dialogue"):
        from bot import _dialogue

        return getattr(_dialogue, name)
    raise AttributeError(f"module 'bot' has no attribute {name!r}")
