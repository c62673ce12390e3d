"""The chat gets a training's numbers as soon as its model is saved, the plots as their own messages after."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from chatkit import RecordingSink, User, sample
from job_settings import settings_for
from held_runner import DIE_PLOTTING, HOLD_PLOTS, Hooked, let_plots_draw

from bot import Dialogue, MessageRef, Reply, Text
from bot.parsing import OfflineParser
from controller import Controller
from store import Store

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="session")]

METRICS = "🎯 Model Training Complete!"
STATUS = "🚀 Linear Regression → price"
ASK = "Train a linear regression model to predict price using age and size"


@dataclass
class _Releasing(RecordingSink):
    """Lets the held plots draw once the metrics are sent, noting what the user had seen by then."""

    data_dir: Path | None = None  # None: nothing to release
    photos_at_metrics: int | None = None
    status_at_metrics: str = ""

    async def send(self, reply: Reply) -> MessageRef:
        ref = await super().send(reply)
        if self.data_dir is not None and isinstance(reply, Text) and reply.text.startswith(METRICS):
            self.photos_at_metrics, self.status_at_metrics = len(self.photos()), self.status(STATUS)
            # The job's input folder: its own when it started cold, a pool slot's when warm.
            for input_dir in (*self.data_dir.glob("users/*/jobs/*/input"), *self.data_dir.glob("pool/*/input")):
                let_plots_draw(input_dir)
        return ref


async def _train(tmp_path: Path, runner_image: str, script: str, name: str) -> tuple[User, _Releasing, Store]:
    settings = settings_for(tmp_path / "data", runner_image)
    backend = Hooked(script)
    store = Store.from_settings(settings)
    try:
        async with Controller(settings=settings, store=store, backend=backend) as controller:
            dialogue = Dialogue(
                settings=settings, store=store, controller=controller, parser=OfflineParser(), status_interval=0.05
            )
            sink = _Releasing(data_dir=settings.data_dir)
            user = User(dialogue, name, sink)
            await user.sends("houses.csv", sample("houses.csv"))
            await user.says(ASK, wait=True)
            sink.data_dir = None
            await user.says("/models")
            await dialogue.close()
    finally:
        await backend.close()
    return user, sink, store


async def test_the_metrics_message_comes_before_the_plots_and_before_the_job_ends(tmp_path, runner_image):
    user, sink, store = await _train(tmp_path, runner_image, HOLD_PLOTS, "pia")
    store.close()
    # The metrics went out while the plots were held: no photo yet, the status not done.
    assert sink.photos_at_metrics == 0 and "✅" not in sink.status_at_metrics
    kinds = ["metrics" if isinstance(r, Text) and r.text.startswith(METRICS) else type(r).__name__ for r in sink.sent]
    assert "Photo" in kinds and kinds.index("metrics") < kinds.index("Photo")
    assert re.search(r"✅ Done in \d+ s$", sink.status(STATUS))
    assert not any("could not be drawn" in text for text in sink.texts())


async def test_a_job_killed_while_drawing_keeps_the_model_and_tells_the_user(tmp_path, runner_image):
    user, sink, store = await _train(tmp_path, runner_image, DIE_PLOTTING, "quin")
    store.close()
    metrics = next(text for text in sink.texts() if text.startswith(METRICS))
    model_id = re.search(r"Model ID: (model_[0-9a-f]{8})", metrics).group(1)
    assert not sink.photos()
    (note,) = [text for text in sink.texts() if "plots could not be drawn" in text]
    assert model_id in note and "is saved" in note
    assert f"• {model_id} — Linear Regression" in sink.last.text  # /models lists it
