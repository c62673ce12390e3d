"""`python -m runner selftest` in-process: it passes, and fails when the results are wrong."""

from __future__ import annotations

import dataclasses

import runner._selftest as selftest_module
from runner.cli import main


def test_selftest_passes(capsys):
    assert main(["selftest"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "selftest passed"
    assert [line.split(":")[0] for line in lines[:-1]] == [
        "ok    regression",
        "ok    classification",
        "ok    hist gradient boosting",
    ]


def test_selftest_fails_when_a_threshold_is_not_met(capsys, monkeypatch):
    impossible = dataclasses.replace(selftest_module.CASES[0], minimum=1.01)
    monkeypatch.setattr(selftest_module, "CASES", (impossible,))
    assert main(["selftest"]) == selftest_module.FAILED_EXIT
    out = capsys.readouterr().out
    assert "FAIL  regression: test r2" in out and out.rstrip().endswith("selftest failed")
