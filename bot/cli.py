"""`statagent`: one console command for everything (chat, demo, bot, parse, job, admin).

Settings are loaded once here, after the command line is parsed, and passed down; logging is
configured once here.
A StatAgentError ends the command with its one-sentence message on stderr (a ConfigError
with its detail too) and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from errors import ConfigError, StatAgentError

if TYPE_CHECKING:
    from config import Settings

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    # Each module registers its commands without importing what they run (anthropic, aiogram, docker).
    import controller.cli
    from bot import demo, parsing, terminal

    parser = argparse.ArgumentParser(
        prog="statagent",
        description="Train and use machine-learning models from a chat; every job runs in a throwaway container.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    terminal.register(subparsers)
    demo.register(subparsers)
    bot = subparsers.add_parser("bot", help="run the Telegram bot (long polling; needs TELEGRAM_BOT_TOKEN)")
    bot.set_defaults(func=_run_bot)
    parsing.register(subparsers)
    controller.cli.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `statagent` command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    # Configuration (pydantic) after parsing: `--help` and a wrong command line never load it.
    from config import load_settings
    from config.log import configure_logging

    try:
        settings = load_settings()
        logging_settings = settings.logging
        if level := getattr(args, "log_level", None):
            logging_settings = logging_settings.model_copy(update={"level": level.upper()})
        configure_logging(logging_settings)
        outcome = args.func(args, settings)
        if inspect.isawaitable(outcome):
            outcome = asyncio.run(outcome)
    except StatAgentError as exc:
        print(exc.user_message, file=sys.stderr)
        if isinstance(exc, ConfigError):
            print(str(exc), file=sys.stderr)  # who runs the command is who fixes the config
        return 2
    except KeyboardInterrupt:
        return 130
    return int(outcome or 0)


async def _run_bot(args: argparse.Namespace, settings: Settings) -> int:
    from bot.telegram import run_polling

    await run_polling(settings)
    return 0
