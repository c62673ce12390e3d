"""`python -m runner selftest`: train and predict on the bundled samples; exit 0 only if right.

Needs no mounts: every file lives in a temporary folder under /tmp.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from runner._paths import JobPaths
from runner._progress import Reporter
from runner.spec import (
    DATA_FILE,
    INPUT_DIR,
    PREDICTIONS_CSV,
    PREDICTIONS_PARQUET,
    SPEC_FILE,
    ModelType,
    PredictSpec,
    TrainSpec,
)

SAMPLE_DATA = Path(__file__).parent / "sample_data"
PREDICT_ROWS = 25
FAILED_EXIT = 1


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    target: str
    model_type: ModelType
    metric: str
    minimum: float
    model_id: str


CASES = (
    Case("regression", "houses.csv", "price", ModelType.LINEAR, "r2", 0.8, "model_5e1f0001"),
    Case(
        "classification",
        "customers.csv",
        "outcome",
        ModelType.RANDOM_FOREST,
        "accuracy",
        0.7,
        "model_5e1f0002",
    ),
    Case(
        "hist gradient boosting",
        "customers.csv",
        "outcome",
        ModelType.HIST_GRADIENT_BOOSTING,
        "accuracy",
        0.7,
        "model_5e1f0003",
    ),
)


class SelftestFailure(Exception):
    pass


def selftest(*, out: TextIO) -> int:
    """Run every case; prints one line per case and a verdict on `out`."""
    lines, failed = [], False
    with (
        tempfile.TemporaryDirectory(prefix="runner-selftest-") as tmp,
        contextlib.redirect_stdout(sys.stderr),
    ):
        for case in CASES:
            try:
                lines.append(f"ok    {case.name}: {_check(case, Path(tmp) / case.name)}")
            except Exception as exc:
                failed = True
                traceback.print_exc(file=sys.stderr)
                lines.append(f"FAIL  {case.name}: {exc}")
    lines.append("selftest failed" if failed else "selftest passed")
    out.write("\n".join(lines) + "\n")
    out.flush()
    return FAILED_EXIT if failed else 0


def _check(case: Case, folder: Path) -> str:
    from runner.cli import run_job

    frame = pd.read_csv(SAMPLE_DATA / case.file)
    train_paths = _job_folder(
        folder / "train",
        TrainSpec(
            job_id="job_5e1f00000001",
            model_id=case.model_id,
            user_id="selftest",
            target_column=case.target,
            model_type=case.model_type,
        ),
        frame,
    )
    trained = run_job("train", train_paths, Reporter(events=None))
    outcome = trained.result.train
    _expect(trained.exit_code == 0 and outcome is not None, f"training failed: {trained.result.error}")
    score, base = outcome.metrics["test"][case.metric], outcome.metrics["baseline"][case.metric]
    _expect(score >= case.minimum, f"test {case.metric} {score:.3f} is below {case.minimum}")
    _expect(score > base, f"test {case.metric} {score:.3f} is not above the baseline's {base:.3f}")
    _expect(len(outcome.plots) >= 3, f"only {len(outcome.plots)} plots were drawn")

    new_rows = frame.drop(columns=[case.target]).head(PREDICT_ROWS)
    predict_paths = _job_folder(
        folder / "predict",
        PredictSpec(job_id="job_5e1f00000002", model_id=case.model_id, user_id="selftest"),
        new_rows,
    )
    shutil.copytree(train_paths.output_model_dir, predict_paths.model_dir)
    predicted = run_job("predict", predict_paths, Reporter(events=None))
    _expect(predicted.exit_code == 0, f"prediction failed: {predicted.result.error}")
    saved = pd.read_parquet(predict_paths.output_dir / PREDICTIONS_PARQUET)
    as_text = pd.read_csv(predict_paths.output_dir / PREDICTIONS_CSV)
    expected = trained.model.predict(new_rows)
    _expect(
        saved.shape[0] == len(new_rows) == as_text.shape[0], "the predictions have the wrong number of rows"
    )
    _expect(
        np.array_equal(saved["prediction"].to_numpy(), expected),
        "saved-model predictions differ from in-memory ones",
    )
    if expected.dtype.kind == "f":
        _expect(np.allclose(as_text["prediction"], expected, rtol=1e-9), "CSV predictions differ")
    else:
        _expect((as_text["prediction"].astype(str) == expected.astype(str)).all(), "CSV predictions differ")
    return (
        f"{case.model_type.value} on {case.file}: test {case.metric} {score:.3f} "
        f"(baseline {base:.3f}); {len(new_rows)} predictions from the saved model match"
    )


def _job_folder(folder: Path, job: TrainSpec | PredictSpec, frame: pd.DataFrame) -> JobPaths:
    (folder / INPUT_DIR).mkdir(parents=True)
    (folder / INPUT_DIR / SPEC_FILE).write_text(job.model_dump_json(), encoding="utf-8")
    frame.to_parquet(folder / INPUT_DIR / DATA_FILE, index=False)
    return JobPaths(folder)


def _expect(condition: bool, failure: str) -> None:
    if not condition:
        raise SelftestFailure(failure)
