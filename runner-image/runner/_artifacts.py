"""Saving and loading fitted objects: skops where it round-trips, joblib otherwise.

Models are only ever loaded here, inside a job container. A skops file is loaded only when
every type it needs was recorded at save time and comes from a module the runner trusts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from runner._errors import JobError
from runner.spec import ErrorCode

if TYPE_CHECKING:
    from runner._metadata import ModelMetadata

# Modules whose types a saved scikit-learn object may contain.
TRUSTED_MODULES = ("sklearn.", "numpy.", "scipy.", "runner.transformers.")
# Names of a model folder's files: the pickle-free Pipeline, or a network and its preprocessing.
MODEL_STEM = "model"
NETWORK_KEY = "network"
PREPROCESSOR_STEM = "preprocessor"


class Format(str, Enum):
    SKOPS = "skops"
    JOBLIB = "joblib"
    KERAS = "keras"  # a Keras network file, loaded by runner._neural


@dataclass(frozen=True)
class Saved:
    file: str
    format: Format
    trusted_types: list[str]


@dataclass(frozen=True)
class SavedModel:
    """A fitted model's files in its folder, as metadata.json records them."""

    files: dict[str, Saved]
    format: str  # metadata's model_format: "skops", "joblib", or "keras+skops" for a network
    state: dict[str, Any] | None = None  # a network's learned numbers beside its file
    libraries: tuple[str, ...] = ()  # whose versions the files depend on, beyond the usual ones


def save_model(model: Any, folder: Path, *, check: pd.DataFrame) -> SavedModel:
    """Save a fitted Pipeline whole, or, when its final step saves itself (a Keras network,
    which is not pickled), that step's file and state beside the fitted preprocessing."""
    final = model.steps[-1][1]
    if not hasattr(final, "save"):
        saved = save_fitted(model, folder, MODEL_STEM, check=check)
        return SavedModel(files={MODEL_STEM: saved}, format=saved.format.value)
    network, state = final.save(folder)
    preprocessor = save_fitted(model.named_steps["preprocess"], folder, PREPROCESSOR_STEM, check=check)
    return SavedModel(
        files={NETWORK_KEY: network, PREPROCESSOR_STEM: preprocessor},
        format=f"{network.format.value}+{preprocessor.format.value}",
        state=state,
        libraries=final.libraries,
    )


def load_model(folder: Path, metadata: ModelMetadata) -> Any:
    """The fitted Pipeline that save_model wrote (only ever called inside a job container)."""
    files = metadata.files
    if NETWORK_KEY not in files:
        if MODEL_STEM not in files:
            raise JobError(ErrorCode.MODEL_UNREADABLE, "The saved model's file is not named in its description.")
        return load_fitted(folder, files[MODEL_STEM])
    if metadata.neural_network is None or PREPROCESSOR_STEM not in files:
        raise JobError(ErrorCode.MODEL_UNREADABLE, "The saved neural network is incomplete.")
    from sklearn.pipeline import Pipeline

    from runner._neural import NeuralNetwork  # imports TensorFlow: only for a network

    network = NeuralNetwork.load(
        folder,
        files[NETWORK_KEY],
        metadata.neural_network,
        task=metadata.task_type,
        seed=metadata.seed,
        **metadata.hyperparameters,
    )
    return Pipeline([("preprocess", load_fitted(folder, files[PREPROCESSOR_STEM])), ("model", network)])


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
