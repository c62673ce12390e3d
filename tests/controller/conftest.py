"""Controller tests: a real Docker engine, the real runner image, a real SQLite store in tmp_path."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import numpy as np
import pandas as pd
import pytest
from job_settings import settings_for
from tables import store_table

from config import LoggingSettings, Settings
from config.log import configure_logging
from controller._backend import LABEL_DATA_DIR, LABEL_JOB_ID
from store import DatasetRecord, Store

MakeSettings = Callable[..., Settings]
# Jobs start cold unless a test asks for the warm pool (test_controller_pool.py).
_CONTROLLER_SECTIONS = {"queue": {"max_running": 2, "reconcile_interval_seconds": 60}, "pool": {"size": 0}}


@pytest.fixture(scope="session", autouse=True)
def no_job_container_is_left(
    docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """After the session no container labelled statagent.job_id of this session may exist.

    This session's containers are those whose data dir lies in its temporary folder (or that
    name none); a service or another test session on the same engine keeps its own.
    Logs go to the real stderr, as `statagent` sends them: stdout is the commands' output.
    """
    configure_logging(LoggingSettings(), stream=sys.__stderr__)
    yield
    ours = str(tmp_path_factory.getbasetemp())
    left = [
        container
        for container in docker_client.containers.list(all=True, filters={"label": LABEL_JOB_ID})
        if container.labels.get(LABEL_DATA_DIR, ours).startswith(ours)
    ]
    for container in left:
        container.remove(force=True)
    if left:
        names = ", ".join(f"{c.name} ({c.status}, data dir {c.labels.get(LABEL_DATA_DIR)})" for c in left)
        pytest.fail(f"job containers were left behind after the tests: {names}", pytrace=False)


@pytest.fixture
def make_settings(tmp_path: Path, runner_image: str) -> MakeSettings:
    """Settings on a fresh data dir under tmp_path, the checkout's runner image, small limits,
    no warm pool.

    Keyword arguments are sections to override, e.g. container={"memory_mb": 128}.
    """

    def make(**sections: dict[str, Any]) -> Settings:
        return settings_for(tmp_path / "data", runner_image, _CONTROLLER_SECTIONS, sections)

    return make


@pytest.fixture
def settings(request: pytest.FixtureRequest, make_settings: MakeSettings) -> Settings:
    """The test's settings; parametrize it indirectly with a dict of section overrides."""
    return make_settings(**getattr(request, "param", {}))


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    with Store.from_settings(settings) as opened:
        yield opened


@pytest.fixture
def job_containers(docker_client: docker.DockerClient, settings: Settings) -> Callable[[], list[Any]]:
    """This data dir's job containers, running or not."""

    def containers() -> list[Any]:
        return docker_client.containers.list(
            all=True, filters={"label": [LABEL_JOB_ID, f"{LABEL_DATA_DIR}={settings.data_dir}"]}
        )

    return containers


@pytest.fixture
def upload(store: Store) -> Callable[..., DatasetRecord]:
    """Ingest a frame as the user's upload (Parquet keeps the column names exactly)."""

    def ingest(user_id: str, frame: pd.DataFrame, name: str = "table.parquet") -> DatasetRecord:
        return store_table(store, user_id=user_id, frame=frame, filename=name)

    return ingest


def regression_frame(rows: int = 120, *, seed: int = 0) -> pd.DataFrame:
    """House prices from size, rooms and district, with a little noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "size": rng.uniform(20, 200, rows),
            "rooms": rng.integers(1, 6, rows),
            "district": rng.choice(["north", "south", "east"], rows),
        }
    )
    frame["price"] = (
        3.0 * frame["size"]
        + 10 * frame["rooms"]
        + frame["district"].map({"north": 50, "south": 0, "east": 20})
        + rng.normal(0, 5, rows)
    )
    return frame


def heavy_frame(rows: int, columns: int = 20, *, seed: int = 1) -> pd.DataFrame:
    """Random numbers with a noisy class label: slow to fit for a big random forest."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, columns)), columns=[f"x{i}" for i in range(columns)])
    frame["label"] = np.where(frame["x0"] + rng.normal(0, 2, rows) > 0, "yes", "no")
    return frame


@pytest.fixture(name="regression_frame")
def regression_frame_fixture() -> Callable[..., pd.DataFrame]:
    return regression_frame


@pytest.fixture(name="heavy_frame")
def heavy_frame_fixture() -> Callable[..., pd.DataFrame]:
    return heavy_frame
