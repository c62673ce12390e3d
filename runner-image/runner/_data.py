"""Reading the job's table, hashing files, and making values JSON-safe."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from runner._errors import JobError
from runner.spec import ErrorCode


def read_table(path: Path, *, what: str) -> pd.DataFrame:
    """Read data.parquet; refuse a missing, unreadable or empty table."""
    if not path.is_file():
        raise JobError(ErrorCode.UNREADABLE_DATA, f"The {what} file is missing.")
    try:
        frame = pd.read_parquet(path, engine="pyarrow")
    except Exception as exc:  # pyarrow raises many types for a damaged file
        raise JobError(
            ErrorCode.UNREADABLE_DATA,
            f"The {what} file could not be read as a table.",
            details={"reason": str(exc)[:500]},
        ) from exc
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise JobError(ErrorCode.EMPTY_DATA, f"Your {what} is empty: it has no rows or no columns.")
    if frame.columns.duplicated().any():
        dupes = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise JobError(
            ErrorCode.UNREADABLE_DATA,
            f"Your {what} has more than one column named '{dupes[0]}'; column names must be unique.",
        )
    frame.columns = [str(c) for c in frame.columns]
    return frame.reset_index(drop=True)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars unwrapped, NaN/inf as None, dates as ISO text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return value.isoformat()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if value is pd.NaT or value is pd.NA:
        return None
    return str(value)
