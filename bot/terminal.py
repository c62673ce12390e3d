"""`statagent chat`: the bot's dialogue in a terminal, with real jobs behind it.

Replies are printed; buttons become numbered choices (answer with the number); plots and
prediction files are copied to an output folder and their paths printed. `/upload FILE`
sends a table, as a file sent in Telegram would.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import shutil
import sys
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot._messages import Button, Document, Incoming, MessageRef, Photo, Reply, Text, Upload, upload_limit

if TYPE_CHECKING:
    from bot._dialogue import Dialogue
    from config import Settings

__all__ = ["CHAT_ID", "TerminalSink", "register", "run_chat"]

CHAT_ID = "terminal"
_UPLOAD = "/upload"
_QUIT = frozenset({"quit", "exit", "/quit", "/exit"})


class TerminalSink:
    """Prints one chat's replies. Status edits print only the lines that changed."""

    def __init__(self, *, out: TextIO, folder: Path, upload_limit: int) -> None:
        self.out = out
        self._folder = folder
        self._upload_limit = upload_limit
        self._sent = 0
        self._texts: dict[int, str] = {}
        self._choices: tuple[Button, ...] = ()
        self._started = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")  # this chat's files start so

    async def send(self, reply: Reply) -> MessageRef:
        self._sent += 1
        match reply:
            case Text(text=text, buttons=buttons):
                self._texts[self._sent] = text
                self._print("🤖 " + "\n   ".join(text.splitlines()))
                if buttons:
                    self._choices = buttons
                    for number, button in enumerate(buttons, start=1):
                        self._print(f"     [{number}] {button.label}")
                    self._print("     (answer with a number, or type)")
            case Photo(path=path, caption=caption):
                self._print(f"🖼  {caption or 'Plot'}: {self._keep(path, path.name)}")
            case Document(path=path, filename=filename, caption=caption):
                self._print(f"📎 {caption or filename}: {self._keep(path, filename)}")
        return MessageRef(chat_id=CHAT_ID, message_id=self._sent)

    async def edit(self, ref: MessageRef, text: str) -> None:
        before = set(self._texts.get(ref.message_id, "").splitlines())
        self._texts[ref.message_id] = text
        for line in text.splitlines():
            if line not in before:
                self._print(f"   ↻ {line}")

    def incoming(self, line: str, *, user_id: str) -> Incoming:
        """What a typed line means: a numbered choice, an upload, or text (commands included)."""
        if line.isdigit() and 1 <= int(line) <= len(self._choices):
            data = self._choices[int(line) - 1].data
            self._choices = ()
            return Incoming(user_id=user_id, chat_id=CHAT_ID, button=data)
        command, _, argument = line.partition(" ")
        if command == _UPLOAD:
            path = Path(argument.strip()).expanduser()
            return Incoming(user_id=user_id, chat_id=CHAT_ID, document=_read_upload(path, self._upload_limit))
        return Incoming(user_id=user_id, chat_id=CHAT_ID, text=line)

    def _keep(self, source: Path, name: str) -> Path:
        """A copy of `source` in the folder, under a name no earlier chat's file has."""
        self._folder.mkdir(parents=True, exist_ok=True)
        stem = f"{self._started}-{self._sent:03d}"
        for attempt in itertools.count(1):
            suffix = f"-{attempt}" if attempt > 1 else ""
            target = (self._folder / f"{stem}{suffix}-{Path(name).name}").resolve()
            try:
                with source.open("rb") as reading, target.open("xb") as writing:  # never replaces a file
                    shutil.copyfileobj(reading, writing)
            except FileExistsError:
                continue
            return target
        raise AssertionError("unreachable")

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def _read_upload(path: Path, limit: int) -> Upload:
    """A local file as an upload, read only up to `limit` bytes (OSError when it cannot be read)."""
    with path.open("rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:  # as a transport does with a file over its limit: only its size
        return Upload(filename=path.name, data=None, size=path.stat().st_size)
    return Upload(filename=path.name, data=data, size=len(data))


async def run_chat(
    settings: Settings,
    *,
    user_id: str,
    data: Path | None,
    out_dir: Path,
    stdin: TextIO,
    stdout: TextIO,
) -> int:
    """Chat on stdin/stdout until end of input or `quit`; returns the exit code.

    When stdin is not a terminal (a script), each line waits for the jobs it started, so
    a script can rely on a model being there in the next line.
    """
    from bot._dialogue import open_dialogue  # the controller and the parser: not for `--help`
    from store import Store

    interactive = stdin.isatty()
    sink = TerminalSink(out=stdout, folder=out_dir, upload_limit=upload_limit(settings.uploads))
    with Store.from_settings(settings) as store:
        store.user_dir(user_id)  # refuses a user id that is not one (InputError)
        print(
            f"StatAgent chat as user {user_id}. /help for help, /upload FILE to send a table, "
            f"quit to leave. Files go to {out_dir.resolve()}",
            file=stdout,
            flush=True,
        )
        async with open_dialogue(settings, store=store) as dialogue:
            # This terminal's chat only: the other chats' jobs are left for their transports.
            await dialogue.resume(lambda job: sink if (job.chat_id, job.user_id) == (CHAT_ID, user_id) else None)
            if data is not None:
                await _send(dialogue, sink, f"{_UPLOAD} {data}", user_id=user_id, echo=False)
            if interactive:
                print("you> ", end="", file=stdout, flush=True)
            async for line in _lines(stdin):
                if line.lower() in _QUIT:
                    break
                if line:
                    await _send(dialogue, sink, line, user_id=user_id, echo=not interactive)
                    if not interactive:
                        await dialogue.drain()
                if interactive:
                    print("you> ", end="", file=stdout, flush=True)
            if dialogue.busy:
                print("Waiting for the running jobs to finish…", file=stdout, flush=True)
            await dialogue.drain()
    return 0


async def _lines(stdin: TextIO) -> AsyncIterator[str]:
    """The lines of `stdin`, stripped, until its end.

    A daemon thread reads them, so a blocked read never keeps the process from exiting
    (Ctrl-C while waiting for input).
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def put(line: str | None) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        except RuntimeError:  # the loop has closed: nobody reads any more
            pass

    def read() -> None:
        for line in iter(stdin.readline, ""):
            put(line)
        put(None)

    threading.Thread(target=read, name="stdin-reader", daemon=True).start()
    while (line := await queue.get()) is not None:
        yield line.strip()


async def _send(dialogue: Dialogue, sink: TerminalSink, line: str, *, user_id: str, echo: bool) -> None:
    out = sink.out
    try:
        message = sink.incoming(line, user_id=user_id)
    except OSError as exc:
        print(f"⚠️ Cannot read that file: {exc.strerror or exc}", file=out, flush=True)
        return
    if message.document is not None:
        print(f"👤 (sends {message.document.filename})", file=out, flush=True)
    elif echo:
        print(f"👤 {line}", file=out, flush=True)
    await dialogue.handle(message, sink)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `statagent chat`."""
    chat = subparsers.add_parser("chat", help="talk to the bot in this terminal (real jobs)")
    chat.add_argument("--data", type=Path, help="a table to send first (CSV, XLSX, Parquet)")
    chat.add_argument("--user", default="terminal", help="whose models and tables (default: terminal)")
    chat.add_argument("--out", type=Path, help="where plots and files go (default: DATA_DIR/chat/USER)")
    chat.add_argument(
        "--log-level",
        help="show log lines of this level on stderr (default: none, they go to chat.log in --out)",
    )
    chat.set_defaults(func=_chat_command)


async def _chat_command(args: argparse.Namespace, settings: Settings) -> int:
    from config.log import configure_logging

    out_dir = args.out or settings.data_dir / "chat" / args.user
    with contextlib.ExitStack() as stack:
        if args.log_level is None:  # the conversation stays a conversation: logs go to a file
            out_dir.mkdir(parents=True, exist_ok=True)
            log = stack.enter_context((out_dir / "chat.log").open("a", encoding="utf-8"))
            configure_logging(settings.logging, stream=log)
        return await run_chat(
            settings, user_id=args.user, data=args.data, out_dir=out_dir, stdin=sys.stdin, stdout=sys.stdout
        )
