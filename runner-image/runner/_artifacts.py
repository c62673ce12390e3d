"""Saving and loading fitted objects: skops where it round-trips, joblib otherwise.

Models are only ever loaded here, inside a job container. A skops file is loaded only when
every type it needs was recorded at save time and comes from a module the runner trusts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from runner._errors import JobError
from runner.spec import ErrorCode

# Modules whose types a saved scikit-learn object may contain.
TRUSTED_MODULES = ("sklearn.", "numpy.", "scipy.", "runner.transformers.")


class Format(str, Enum):
    SKOPS = "skops"
    JOBLIB = "joblib"
    KERAS = "keras"  # a Keras network file, loaded by runner._neural


@dataclass(frozen=True)
class Saved:
    file: str
    format: Format
    trusted_types: list[str]


def save_fitted(obj: Any, folder: Path, stem: str, *, check: pd.DataFrame) -> Saved:
    """Save `obj` as skops when loading it back gives identical outputs on `check`; else joblib."""
    import skops.io as sio

    path = folder / f"{stem}.skops"
    try:
        sio.dump(obj, path)
        trusted = sorted(sio.get_untrusted_types(file=path))
        if _is_trusted(trusted) and _same_outputs(obj, sio.load(path, trusted=trusted), check):
            return Saved(file=path.name, format=Format.SKOPS, trusted_types=trusted)
    except Exception:  # skops cannot represent everything; joblib can
        pass
    path.unlink(missing_ok=True)
    import joblib

    path = folder / f"{stem}.joblib"
    joblib.dump(obj, path)
    return Saved(file=path.name, format=Format.JOBLIB, trusted_types=[])


def load_fitted(folder: Path, saved: Saved) -> Any:
    """Load what save_fitted wrote; refuse types that were not recorded or are not trusted."""
    path = folder / saved.file
    if path.parent != folder or not path.is_file():
        raise JobError(ErrorCode.MODEL_UNREADABLE, "The saved model's file is missing.")
    try:
        if saved.format == Format.SKOPS:
            import skops.io as sio

            needed = sorted(sio.get_untrusted_types(file=path))
            if not set(needed) <= set(saved.trusted_types) or not _is_trusted(needed):
                raise JobError(
                    ErrorCode.MODEL_UNREADABLE,
                    "The saved model contains object types the runner does not trust.",
                    details={"types": needed},
                )
            return sio.load(path, trusted=needed)
        if saved.format == Format.JOBLIB:
            import joblib

            return joblib.load(path)
    except JobError:
        raise
    except Exception as exc:
        raise JobError(
            ErrorCode.MODEL_UNREADABLE,
            "The saved model could not be read; it may be damaged or from an incompatible version.",
            details={"reason": str(exc)[:500]},
        ) from exc
    raise JobError(ErrorCode.MODEL_UNREADABLE, "The saved model has an unknown format.")


def _is_trusted(types: list[str]) -> bool:
    return all(name.startswith(TRUSTED_MODULES) for name in types)


def _same_outputs(original: Any, loaded: Any, check: pd.DataFrame) -> bool:
    method = next(m for m in ("predict_proba", "predict", "transform") if hasattr(original, m))
    first = np.asarray(getattr(original, method)(check))
    second = np.asarray(getattr(loaded, method)(check))
    return first.shape == second.shape and bool(
        np.array_equal(first, second, equal_nan=first.dtype.kind == "f")
    )
