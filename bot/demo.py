"""`statagent demo`: a scripted chat on the bundled sample data, with real jobs.

It prints what a chat user would see: upload a table, ask for a correlation, train a regression
in words (its answer has R's coefficient table), ask whether a column is significant, train a
classifier, ask which model is best for it (a comparison), upload new rows and get predictions.
Files go to an output folder.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot._messages import Incoming, Upload, upload_limit
from bot.terminal import CHAT_ID, TerminalSink

if TYPE_CHECKING:
    from bot._dialogue import Dialogue
    from config import Settings
    from store import Store

__all__ = ["register", "run_demo"]

DEMO_USER = "demo"
REGRESSION_DATA = "houses.csv"
CLASSIFICATION_DATA = "customers.csv"
NEW_ROWS = "new_houses.csv"  # made from the last rows of houses.csv, without their prices
_NEW_ROW_COUNT = 8


@dataclass(frozen=True)
class _Step:
    """What the user does: send a sample file, or write a message."""

    says: str
    upload: str | None = None
    data: bytes = b""


async def run_demo(settings: Settings, *, out: TextIO, out_dir: Path, user_id: str = DEMO_USER) -> int:
    """Play the scripted conversation; 0 when every step got its answer, 1 otherwise."""
    from bot._dialogue import open_dialogue  # the controller and the parser: not for `--help`
    from store import Store

    with Store.from_settings(settings) as store:
        # Each run starts from no models, so repeated demos never hit the model quota.
        for model in store.list_models(user_id=user_id):
            store.delete_model(user_id=user_id, model_id=model.model_id)
        sink = TerminalSink(out=out, folder=out_dir, upload_limit=upload_limit(settings.uploads))
        print(
            "StatAgent demo: a chat on sample data, every job in its own container.\n"
            f"Plots and files go to {out_dir.resolve()}",
            file=out,
            flush=True,
        )
        async with open_dialogue(settings, store=store) as dialogue:
            return await _script(dialogue, sink, store, user_id)


async def _script(dialogue: Dialogue, sink: TerminalSink, store: Store, user_id: str) -> int:
    from store import JobKind, JobState

    regression = await _play(
        dialogue, sink, store, user_id,
        [
            _Step("sends a table of house prices", REGRESSION_DATA, _sample(REGRESSION_DATA)),
            _Step("what is the correlation between size and price?"),
            _Step("Train a linear regression model to predict price using age and size"),
            _Step("is age significant?"),
        ],
    )
    classifier = await _play(
        dialogue, sink, store, user_id,
        [
            _Step("sends a table of customers", CLASSIFICATION_DATA, _sample(CLASSIFICATION_DATA)),
            _Step("Train a random forest to classify outcome using all features"),
            _Step("Which model is best for outcome?"),
        ],
    )
    if regression is None or classifier is None:
        print("\nThe demo stopped: a training step gave no model (see above).", file=sink.out, flush=True)
        return 1
    await _play(
        dialogue, sink, store, user_id,
        [
            _Step("sends new houses without prices", NEW_ROWS, _new_houses()),
            _Step(f"Use model {regression} to make predictions"),
        ],
    )
    last = store.list_jobs(user_id=user_id, limit=1)
    if not last or last[0].kind is not JobKind.PREDICT or last[0].state is not JobState.SUCCEEDED:
        print("\nThe demo stopped: the prediction step failed (see above).", file=sink.out, flush=True)
        return 1
    print(
        f"\nThat was the demo. Go on chatting with these models: statagent chat --user {user_id}",
        file=sink.out,
        flush=True,
    )
    return 0


async def _play(
    dialogue: Dialogue, sink: TerminalSink, store: Store, user_id: str, steps: list[_Step]
) -> str | None:
    """Play steps in order, each to its end (jobs included); the newest model id afterwards."""
    known = {m.model_id for m in store.list_models(user_id=user_id)}
    for step in steps:
        if step.upload:
            print(f"\n▶ The user {step.says} ({step.upload}).", file=sink.out, flush=True)
            message = Incoming(
                user_id=user_id,
                chat_id=CHAT_ID,
                document=Upload(filename=step.upload, data=step.data, size=len(step.data)),
            )
        else:
            print(f"\n▶ The user writes: {step.says}", file=sink.out, flush=True)
            message = Incoming(user_id=user_id, chat_id=CHAT_ID, text=step.says)
        await dialogue.handle(message, sink)
        await dialogue.drain()
    new = [m.model_id for m in store.list_models(user_id=user_id) if m.model_id not in known]
    return new[0] if new else None


def _sample(name: str) -> bytes:
    return (resources.files("runner") / "sample_data" / name).read_bytes()


def _new_houses() -> bytes:
    """The last rows of the house table without the price: houses to price."""
    rows = list(csv.DictReader(io.StringIO(_sample(REGRESSION_DATA).decode())))[-_NEW_ROW_COUNT:]
    columns = [name for name in rows[0] if name != "price"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `statagent demo`."""
    demo = subparsers.add_parser("demo", help="a scripted chat on sample data (real jobs)")
    demo.add_argument("--out", type=Path, help="where plots and files go (default: DATA_DIR/chat/demo)")
    demo.add_argument("--log-level", default="WARNING", help="log level on stderr (default: WARNING)")
    demo.set_defaults(func=_demo_command)


async def _demo_command(args: argparse.Namespace, settings: Settings) -> int:
    return await run_demo(settings, out=sys.stdout, out_dir=args.out or settings.data_dir / "chat" / DEMO_USER)
