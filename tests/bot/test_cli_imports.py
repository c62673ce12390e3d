"""`statagent --help` and argument parsing import none of what the commands run (issue 9, item 3)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# pydantic: the configuration and the task models are loaded after parsing, by the command.
HEAVY = ("pydantic", "anthropic", "aiogram", "docker", "pandas", "pyarrow", "controller._controller")

# Run in a fresh interpreter: this test process has imported everything already.
_PROBE = """
import contextlib, io, sys
from bot.cli import build_parser, main
args = sys.argv[1:]
if "--help" in args:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main(args)
else:
    build_parser().parse_args(args)
print(",".join(name for name in {heavy!r} if name in sys.modules))
"""


def _imported_after(args: list[str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'runner-image'}"},
    )
    return [name for name in done.stdout.strip().split(",") if name]


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["job", "--help"],
        ["admin", "--help"],
        ["chat", "--help"],
        ["parse", "--help"],
        ["job", "train", "--user", "u", "--data", "t.csv", "--target", "y", "--param", "n_estimators=50"],
        ["admin", "gc", "--json"],
        ["chat", "--user", "u"],
        ["parse", "train a model to predict y"],
        ["bot"],
    ],
    ids=" ".join,
)
def test_parsing_the_command_line_imports_nothing_heavy(args: list[str]) -> None:
    assert _imported_after(args) == []
