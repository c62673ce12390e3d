"""`statagent parse --data FILE "TEXT"`: the task the offline parser makes of some words, as JSON.

`statagent parse --eval CORPUS` scores the parsers on a phrasing corpus instead (`_eval`).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.parsing._types import Draft, Intent, TableInfo

if TYPE_CHECKING:
    from config import Settings

_CLI_USER = "cli"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `parse` subcommand; it sets `args.func` to `parse_command`."""
    command = subparsers.add_parser(
        "parse", help="print the task the offline parser makes of TEXT (JSON), for debugging"
    )
    command.add_argument("text", metavar="TEXT", nargs="?", help="the request, in words")
    command.add_argument(
        "--eval",
        type=Path,
        metavar="CORPUS",
        help="score the offline parser (and Claude, with ANTHROPIC_API_KEY) on a phrasing corpus",
    )
    command.add_argument(
        "--data", type=Path, metavar="FILE", help="the table (CSV, Excel or Parquet) it is about"
    )
    command.add_argument(
        "--model-id",
        dest="model_ids",
        action="append",
        default=[],
        metavar="ID",
        help="a saved model id the words may refer to (repeat it, newest first)",
    )
    command.set_defaults(func=parse_command)


async def parse_command(args: argparse.Namespace, settings: Settings) -> int:
    """Print the draft and, when it is complete, its task as JSON; 2 when the task is refused.

    With --eval, print the corpus scores instead; 1 when the offline parser is below the bar.
    """
    # The parsers are imported by the command, not by `statagent --help`.
    from bot.parsing._draft import to_task
    from bot.parsing._offline import OfflineParser
    from errors import TaskError

    if args.eval is not None:
        return await _evaluate(args.eval, settings)
    if args.text is None:
        print("statagent parse: give TEXT, or --eval CORPUS", file=sys.stderr)
        return 2
    table = await _read_table(args.data, settings) if args.data else None
    draft = OfflineParser().parse_now(args.text, table=table, model_ids=list(args.model_ids), user_id=_CLI_USER)
    report: dict[str, Any] = _describe(draft)
    code = 0
    # A request with a reply (a value it does not allow, or something not offered) is refused.
    if not draft.questions and draft.intent in (Intent.TRAIN, Intent.PREDICT):
        try:
            report["task"] = to_task(draft, user_id=_CLI_USER, dataset_id=None).model_dump(mode="json")
        except TaskError as exc:
            report["error"] = exc.user_message
            code = 2
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return code


async def _evaluate(corpus: Path, settings: Settings) -> int:
    from bot.parsing._claude import ClaudeParser
    from bot.parsing._eval import EVAL_BAR, evaluate, load_corpus
    from bot.parsing._offline import OfflineParser
    from store import Store

    cases, tables = load_corpus(corpus)
    offline = await evaluate(OfflineParser(), cases, tables)
    print(offline.text("offline parser"))
    if settings.anthropic.api_key is None:
        print("Claude parser: skipped (ANTHROPIC_API_KEY is not set)")
    else:
        with tempfile.TemporaryDirectory(prefix="statagent-eval-") as folder:
            with Store.from_settings(settings.model_copy(update={"data_dir": Path(folder)})) as store:
                claude = await evaluate(ClaudeParser(settings.anthropic, store=store), cases, tables)
        print(claude.text("Claude parser"))
    return 0 if offline.share >= EVAL_BAR else 1


def _describe(draft: Draft) -> dict[str, Any]:
    from bot.parsing._draft import asked

    return {
        "intent": draft.intent.value,
        "fields": asked(draft),
        "model_id": draft.model_id,
        "excluded": draft.excluded,
        "questions": [{"field": q.field, "text": q.text, "options": q.options} for q in draft.questions],
        "notes": draft.notes,
        "reply": draft.reply,
        "task": None,
    }


async def _read_table(path: Path, settings: Settings) -> TableInfo:
    """The table's columns and kinds, read the way an upload is (an ingest job, in a throwaway store)."""
    from controller import Controller
    from store import Store

    with tempfile.TemporaryDirectory(prefix="statagent-parse-") as folder:
        settings = settings.model_copy(update={"data_dir": Path(folder)})
        with Store.from_settings(settings) as store:
            async with Controller(settings=settings, store=store) as controller:
                record = await controller.read_file(user_id=_CLI_USER, path=path)
    return TableInfo.from_summary(record.summary)
