"""What goes in and out of the dialogue core, whatever the transport (Telegram, a terminal)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeAlias

if TYPE_CHECKING:
    from config import UploadSettings

__all__ = [
    "BOT_API_DOWNLOAD_LIMIT",
    "Button",
    "Document",
    "Incoming",
    "MessageRef",
    "Photo",
    "Reply",
    "Sink",
    "Text",
    "Upload",
    "upload_limit",
]

# Telegram bots cannot download files above 20 MB (Bot API getFile).
BOT_API_DOWNLOAD_LIMIT = 20 * 1024 * 1024


def upload_limit(uploads: UploadSettings) -> int:
    """The most bytes of one upload the bot receives: the configured cap, within the Bot API's."""
    return min(BOT_API_DOWNLOAD_LIMIT, uploads.max_bytes)


@dataclass(frozen=True)
class Upload:
    """A file the user sent. `data` is None when the transport could not fetch it (too large)."""

    filename: str
    data: bytes | None
    size: int


@dataclass(frozen=True)
class Incoming:
    """One user action: a text (commands included), a file, or a button press (its data)."""

    user_id: str
    chat_id: str
    text: str | None = None
    document: Upload | None = None
    button: str | None = None


@dataclass(frozen=True)
class Button:
    """A choice under a message. `data` is at most 64 bytes (Telegram's callback_data limit)."""

    label: str
    data: str


@dataclass(frozen=True)
class Text:
    """A message; `monospace` shows it in a fixed-width font (a table), where the transport can."""

    text: str
    buttons: tuple[Button, ...] = ()
    monospace: bool = False


@dataclass(frozen=True)
class Photo:
    path: Path
    caption: str = ""


@dataclass(frozen=True)
class Document:
    path: Path
    filename: str
    caption: str = ""


Reply: TypeAlias = Text | Photo | Document


@dataclass(frozen=True)
class MessageRef:
    """A sent message, so its text can be edited later (the status of a job)."""

    chat_id: str
    message_id: int


class Sink(Protocol):
    """Where the replies of one chat go. Transports implement it."""

    async def send(self, reply: Reply) -> MessageRef:
        """Send a reply; return a reference to it."""

    async def edit(self, ref: MessageRef, text: str) -> None:
        """Replace the text of a sent Text reply (its buttons are removed)."""
