"""Helpers of the bot's tests: a Sink that records every reply and edit, a chat user, sample data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot import Dialogue, Document, Incoming, MessageRef, Photo, Reply, Text, Upload

REPO_ROOT = Path(__file__).resolve().parents[2]
# The checkout's copy: in pytest, tests/runner would shadow the package name `runner`.
SAMPLES = REPO_ROOT / "runner-image" / "runner" / "sample_data"


def sample(name: str) -> bytes:
    """A bundled sample table (the runner package's sample_data)."""
    return (SAMPLES / name).read_bytes()


@dataclass
class RecordingSink:
    """Keeps what the dialogue sent; `edits` holds (message id, new text) in order."""

    chat_id: str = "chat"
    sent: list[Reply] = field(default_factory=list)
    edits: list[tuple[int, str]] = field(default_factory=list)

    async def send(self, reply: Reply) -> MessageRef:
        self.sent.append(reply)
        return MessageRef(chat_id=self.chat_id, message_id=len(self.sent))

    async def edit(self, ref: MessageRef, text: str) -> None:
        self.edits.append((ref.message_id, text))

    def texts(self) -> list[str]:
        return [r.text for r in self.sent if isinstance(r, Text)]

    @property
    def last(self) -> Text:
        texts = [r for r in self.sent if isinstance(r, Text)]
        return texts[-1]

    def photos(self) -> list[Photo]:
        return [r for r in self.sent if isinstance(r, Photo)]

    def documents(self) -> list[Document]:
        return [r for r in self.sent if isinstance(r, Document)]

    def current_text(self, message_id: int) -> str:
        """A sent text as it reads after its edits."""
        text = self.sent[message_id - 1].text
        for edited_id, new in self.edits:
            if edited_id == message_id:
                text = new
        return text

    def status(self, prefix: str) -> str:
        """The current text of the first message that starts with `prefix` (a job's status)."""
        message_id = next(i for i, r in enumerate(self.sent, 1) if isinstance(r, Text) and r.text.startswith(prefix))
        return self.current_text(message_id)

    def edits_of(self, prefix: str) -> list[str]:
        message_id = next(i for i, r in enumerate(self.sent, 1) if isinstance(r, Text) and r.text.startswith(prefix))
        return [text for edited, text in self.edits if edited == message_id]


@dataclass
class User:
    """One chat user talking to the dialogue; what they see lands in `sink`."""

    dialogue: Dialogue
    user_id: str
    sink: RecordingSink = field(default_factory=RecordingSink)

    async def says(self, text: str, *, wait: bool = False) -> str:
        """Send a text; with `wait`, also wait for the jobs it started. The newest text reply."""
        await self.dialogue.handle(Incoming(user_id=self.user_id, chat_id=self.user_id, text=text), self.sink)
        if wait:
            await self.dialogue.drain()
        return self.sink.last.text

    async def sends(self, filename: str, data: bytes) -> str:
        upload = Upload(filename=filename, data=data, size=len(data))
        await self.dialogue.handle(Incoming(user_id=self.user_id, chat_id=self.user_id, document=upload), self.sink)
        return self.sink.last.text

    async def presses(self, label: str, *, wait: bool = False) -> str:
        """Press the button labelled `label` under the newest message that has buttons."""
        asked = next(r for r in reversed(self.sink.sent) if isinstance(r, Text) and r.buttons)
        button = next(b for b in asked.buttons if b.label == label)
        await self.dialogue.handle(Incoming(user_id=self.user_id, chat_id=self.user_id, button=button.data), self.sink)
        if wait:
            await self.dialogue.drain()
        return self.sink.last.text
