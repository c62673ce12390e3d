"""The hostile-upload corpus through the whole stack: each file gets one sentence, the service
stays small, and another user keeps being answered meanwhile.

Every upload is read by an ingest job in its own container; the service only moves bytes.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from hostile_corpus import ACCEPTED, corpus

pytestmark = pytest.mark.docker

# What the service (this process: dialogue, controller, store) may grow by while reading the corpus.
_MEMORY_BUDGET = 300 * 2**20
_ANSWER_SECONDS = 2.0


def _resident_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class _PeakMemory:
    """The process's resident memory, sampled every 20 ms on a thread of its own."""

    def __init__(self) -> None:
        self.baseline = _resident_bytes()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _resident_bytes())

    def __enter__(self) -> _PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def test_each_hostile_upload_gets_one_sentence_and_the_service_stays_responsive(user) -> None:
    mallory, olivia = user("mallory"), user("olivia")
    files = corpus()
    latencies: list[float] = []
    done = asyncio.Event()

    async def other_user_keeps_asking() -> None:
        while not done.is_set():
            began = time.monotonic()
            await olivia.says("/models")
            latencies.append(time.monotonic() - began)
            await asyncio.sleep(0.2)

    asking = asyncio.create_task(other_user_keeps_asking())
    answers: dict[str, str] = {}
    try:
        with _PeakMemory() as memory:
            for upload in files:
                answers[upload.name] = await mallory.sends(upload.filename, upload.data)
    finally:
        done.set()
        await asking

    for upload in files:
        answer = answers[upload.name]
        assert "Traceback" not in answer and len(answer) < 1500, (upload.name, answer)
        if upload.expect == ACCEPTED:
            # The same table sent twice (UTF-16, then Latin-1) is kept once, under its first name.
            assert answer.startswith("📋 ") and " rows, " in answer.splitlines()[0], (upload.name, answer)
        else:
            assert answer.startswith("❌ ") and upload.expect in answer, (upload.name, answer)
            assert answer.count(". ") <= 2, (upload.name, answer)  # a sentence, not a report
    grown = memory.peak - memory.baseline
    assert grown < _MEMORY_BUDGET, f"the service grew by {grown / 2**20:.0f} MB while reading the corpus"
    assert latencies and max(latencies) < _ANSWER_SECONDS, latencies
    assert olivia.sink.texts()[-1].startswith("You have no models")
