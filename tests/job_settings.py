"""The settings every suite builds: a data dir of the test's own, the checkout's runner image,
small container limits and nothing from this machine's environment."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from config import Settings, load_settings


def settings_for(data_dir: Path, runner_image: str, *overrides: Mapping[str, Any]) -> Settings:
    """Settings on `data_dir`; each of `overrides` maps sections to the keys it changes (a later
    one wins key by key), e.g. {"container": {"memory_mb": 128}}."""
    merged: dict[str, Any] = {
        "data_dir": str(data_dir),
        "runner": {"image": runner_image},
        "container": {"memory_mb": 1024, "train_timeout_seconds": 120, "predict_timeout_seconds": 60},
    }
    for override in overrides:
        for section, values in override.items():
            merged[section] = {**merged.get(section, {}), **values} if isinstance(values, Mapping) else values
    return load_settings(env={}, overrides=merged)
