"""What hostile uploads cost the service: each file of the hostile corpus through the dialogue.

    .venv/bin/python bench/hostile_uploads.py

The files are those of `tests/hostile_corpus.py` (generated, nothing committed). Each is sent
as a chat upload to the real dialogue with a real controller on a throwaway data directory, so
it is read by an ingest job in its own container. Printed per file: the service's peak resident
memory while answering (this process: dialogue, controller, store), how much it grew, the time
to the answer and the answer's first line. Figures only; nothing is asserted. Needs the runner
image (`make runner-image`).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path

from bot import Dialogue, Incoming, MessageRef, Reply, Text, Upload
from bot.parsing import OfflineParser
from config import load_settings
from config.log import configure_logging
from controller import Controller
from store import Store

# The corpus lives with the tests; imported after the packages, which tests/bot would shadow.
sys.path.append(str(Path(__file__).resolve().parent.parent / "tests"))
from hostile_corpus import corpus  # noqa: E402


class _LastText:
    """A sink that keeps the newest text the dialogue sent."""

    def __init__(self) -> None:
        self.text = ""

    async def send(self, reply: Reply) -> MessageRef:
        if isinstance(reply, Text):
            self.text = reply.text
        return MessageRef(chat_id="bench", message_id=1)

    async def edit(self, ref: MessageRef, text: str) -> None:
        pass


def _resident_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


class _Peak:
    def __init__(self) -> None:
        self.peak = _resident_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, _resident_mb())

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


async def main() -> None:
    files = corpus()
    with tempfile.TemporaryDirectory(prefix="statagent-bench-") as folder:
        settings = load_settings(overrides={"data_dir": folder})
        configure_logging(settings.logging.model_copy(update={"level": "ERROR"}))
        with Store.from_settings(settings) as store:
            async with Controller(settings=settings, store=store) as controller:
                dialogue = Dialogue(settings=settings, store=store, controller=controller, parser=OfflineParser())
                start_mb = _resident_mb()
                print(f"service resident memory at start: {start_mb:.0f} MB\n")
                print(f"{'file':<22} {'bytes':>10} {'peak MB':>8} {'grew MB':>8} {'answer s':>9}  answer")
                for upload in files:
                    sink = _LastText()
                    before = _resident_mb()
                    peak = _Peak()
                    began = time.perf_counter()
                    message = Incoming(
                        user_id="bench",
                        chat_id="bench",
                        document=Upload(filename=upload.filename, data=upload.data, size=len(upload.data)),
                    )
                    await dialogue.handle(message, sink)
                    seconds = time.perf_counter() - began
                    top = peak.stop()
                    first = sink.text.splitlines()[0] if sink.text else ""
                    print(
                        f"{upload.name:<22} {len(upload.data):>10,} {top:>8.0f} {top - before:>8.0f} "
                        f"{seconds:>9.2f}  {first[:110]}"
                    )
                await dialogue.close()
                print(f"\nservice resident memory at the end: {_resident_mb():.0f} MB")


if __name__ == "__main__":
    asyncio.run(main())
