"""`statagent job ...` (one job through the controller) and `statagent admin ...` (jobs and containers).

`register(subparsers)` adds both commands to the `statagent` parser; each subcommand sets
`args.func(args, settings) -> exit code` (a coroutine function). Admin commands work from a
separate process beside the running service: they use the store and the engine directly and
never touch what the live controller (found through its lock file) runs.

What the commands run lives in `controller._commands`, imported only when one runs.
"""

from __future__ import annotations

import argparse
import importlib
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config import Settings

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `job` and `admin` commands."""
    job = subparsers.add_parser("job", help="run one training or prediction job and print its result as JSON")
    jobs = job.add_subparsers(dest="job_command", required=True, metavar="{train,predict}")

    train = jobs.add_parser("train", help="train a model on a CSV or Parquet file")
    train.add_argument("--user", required=True, help="the user id the model belongs to")
    train.add_argument("--data", required=True, type=Path, help="the table (CSV or Parquet)")
    train.add_argument("--target", required=True, help="the column to predict")
    train.add_argument("--features", type=_columns, help="comma-separated feature columns (default: all others)")
    # ModelType.RANDOM_FOREST spelled out, and a metavar (argparse lists the choices of one that has
    # none when adding it): runner.spec imports pydantic, which is for the command, not for parsing.
    train.add_argument(
        "--model",
        default="random_forest",
        choices=_EnumValues("runner.spec", "ModelType"),
        metavar="MODEL",
        help="the model type: %(choices)s (default: %(default)s)",
    )
    train.add_argument(
        "--param",
        action="append",
        type=_param,
        default=[],
        metavar="KEY=VALUE",
        help="a hyperparameter; the value is read as JSON when it is JSON (200, [64,32]), else as text",
    )
    train.set_defaults(func=_command("_job_train"))

    predict = jobs.add_parser("predict", help="predict with a saved model")
    predict.add_argument("--user", required=True)
    predict.add_argument("--model", required=True, metavar="MODEL_ID")
    predict.add_argument("--data", required=True, type=Path, help="the rows to predict (CSV or Parquet)")
    predict.set_defaults(func=_command("_job_predict"))

    admin = subparsers.add_parser("admin", help="inspect and act on jobs and job containers")
    commands = admin.add_subparsers(dest="admin_command", required=True)

    listing = commands.add_parser("jobs", help="list jobs, newest first")
    listing.add_argument("--user")
    listing.add_argument(
        "--state", choices=_EnumValues("store", "JobState"), metavar="STATE", help="one of %(choices)s"
    )
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(func=_command("_admin_jobs"))

    one = commands.add_parser("job", help="one job: spec, state, timings, resources, container, log tail")
    one.add_argument("job_id")
    one.set_defaults(func=_command("_admin_job"))

    containers = commands.add_parser("containers", help="job containers (swarm: job services) by label")
    containers.set_defaults(func=_command("_admin_containers"))

    nodes = commands.add_parser(
        "nodes", help="swarm nodes: free CPU and memory, and whether each has the current runner image"
    )
    nodes.set_defaults(func=_command("_admin_nodes"))

    load = commands.add_parser(
        "load-image", help="copy the current runner image from the local engine to another engine (a swarm node)"
    )
    load.add_argument(
        "--engine", required=True, action="append", metavar="URL", help="the node's engine API; repeat for more"
    )
    load.set_defaults(func=_command("_admin_load_image"))

    kill = commands.add_parser("kill", help="cancel a job: kill its container, mark it cancelled")
    kill.add_argument("job_id")
    kill.set_defaults(func=_command("_admin_kill"))

    gc = commands.add_parser(
        "gc",
        help="remove what dead controllers left (containers, job folders, temp files), "
        "expired job output and old runner images",
    )
    gc.set_defaults(func=_command("_admin_gc"))

    for parser in (listing, one, containers, nodes, load, kill, gc):
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


# ------------------------------------------------------------------ job


def _columns(text: str) -> list[str]:
    columns = [part.strip() for part in text.split(",")]
    if not all(columns):
        raise argparse.ArgumentTypeError("give column names separated by commas")
    return columns


def _param(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip(), value


def _command(name: str) -> Callable[[argparse.Namespace, Settings], Awaitable[int]]:
    """The command `name` of `controller._commands`, imported when it runs (not for `--help`)."""

    async def run(args: argparse.Namespace, settings: Settings) -> int:
        from controller import _commands

        return await getattr(_commands, name)(args, settings)

    run.__name__ = run.__qualname__ = name
    return run


class _EnumValues:
    """An enum's values as argparse `choices`, imported when a command line or a help text needs them
    (give the argument a metavar, or argparse lists them as it is added)."""

    def __init__(self, module: str, enum: str) -> None:
        self._module = module
        self._enum = enum

    def _values(self) -> list[str]:
        return [member.value for member in getattr(importlib.import_module(self._module), self._enum)]

    def __contains__(self, value: object) -> bool:
        return value in self._values()

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())
