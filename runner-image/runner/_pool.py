"""`python -m runner --deadline S pool`: a warm job container, waiting for its one job.

A pool container starts before its job exists. This process imports what train, predict and explore
jobs need, then waits for the controller to hand one job over: input/handover.json, written
after the job's files, names the command and the job's deadline. Only then does the deadline
start, and the job runs in a child process exactly as in a cold container. The container exits
after it: it never sees a second job, and every job has an interpreter of its own.
TensorFlow is not imported here: a neural-network job imports it when it needs it.
"""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from runner.spec import INPUT_DIR, OUTPUT_DIR, JobKind

__all__ = ["HANDOVER_FILE", "POOL_COMMAND", "READY_FILE", "Handover", "wait_for_job", "warm_up"]

POOL_COMMAND = "pool"
HANDOVER_FILE = "handover.json"
# In the output folder while the warmed-up runner waits: the controller prefers such containers.
READY_FILE = ".ready"
# The input folder is read-only here and nothing inotify could see changes it from inside
# (a gVisor sandbox does not see host writes that way), so the runner looks for the file.
# Every look costs: at this pace an idle container uses about 3% of a core under gVisor
# (measured; 8% at 10 ms) and a job waits 12 ms on average for its look.
_POLL_SECONDS = 0.025


class Handover(BaseModel):
    """What the controller writes when it gives a pool container its job."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: JobKind
    deadline_seconds: float = Field(gt=0)


def warm_up() -> None:
    """Do what every train, predict or explore job does first, and a cold one pays for in its stages:
    import pandas, pyarrow, scikit-learn's estimators, skops and matplotlib, and load the fonts.
    Nothing here draws a random number or sets state a job reads."""
    import shutil
    import tempfile

    import pyarrow.parquet  # noqa: F401
    import skops.io  # noqa: F401
    import sklearn.calibration  # noqa: F401
    import sklearn.dummy  # noqa: F401
    import sklearn.ensemble  # noqa: F401
    import sklearn.svm  # noqa: F401

    from runner import _explore, _plots, _predict, _train  # noqa: F401  (pandas, the pipeline, the metrics)

    scratch = Path(tempfile.mkdtemp())
    try:
        _plots.feature_importance(scratch / "warm.png", {"warm": 1.0})  # the font cache, the PNG writer
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def wait_for_job(job_root: Path) -> Handover:
    """Warm up, then block until the hand-over file appears; what it says."""
    warm_up()
    ready = job_root / OUTPUT_DIR / READY_FILE
    ready.touch()
    path = job_root / INPUT_DIR / HANDOVER_FILE
    while True:
        try:
            handover = Handover.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            time.sleep(_POLL_SECONDS)
            continue
        ready.unlink(missing_ok=True)  # the job's output holds only what the job writes
        return handover
