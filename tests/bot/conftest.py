"""Fixtures of the bot's tests: the real stack (store, controller with job containers, offline parser)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from chatkit import RecordingSink, User
from job_settings import settings_for

from bot import Dialogue
from bot.parsing import OfflineParser
from config import Settings, load_settings
from controller import Controller
from store import Store


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture(scope="module")
def chat_settings(tmp_path_factory: pytest.TempPathFactory, runner_image: str) -> Settings:
    return settings_for(tmp_path_factory.mktemp("chat"), runner_image)


@pytest.fixture(scope="module")
def chat_store(chat_settings: Settings) -> Iterator[Store]:
    with Store.from_settings(chat_settings) as store:
        yield store


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def controller(chat_settings: Settings, chat_store: Store) -> AsyncIterator[Controller]:
    async with Controller(settings=chat_settings, store=chat_store) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def dialogue(chat_settings: Settings, chat_store: Store, controller: Controller) -> AsyncIterator[Dialogue]:
    core = Dialogue(
        settings=chat_settings, store=chat_store, controller=controller, parser=OfflineParser(), status_interval=0.05
    )
    yield core
    await core.close()


@pytest.fixture
def idle_store(tmp_path: Path) -> Iterator[Store]:
    """A store of its own, for tests where no job runs."""
    with Store.from_settings(load_settings(env={}, overrides={"data_dir": str(tmp_path / "data")})) as store:
        yield store


@pytest.fixture
def idle_dialogue(idle_store: Store) -> Dialogue:
    """The dialogue core on `idle_store` with a controller that is never started: no job runs."""
    settings = load_settings(env={}, overrides={"data_dir": str(idle_store.data_dir)})
    controller = Controller(settings=settings, store=idle_store)
    return Dialogue(settings=settings, store=idle_store, controller=controller, parser=OfflineParser())


_user_numbers = itertools.count(1)


@pytest.fixture
def user(dialogue: Dialogue) -> Callable[[str], User]:
    """`user("alice")`: a chat user with an id no other test uses (the store is per module)."""

    def make(name: str) -> User:
        return User(dialogue, f"{name}-{next(_user_numbers)}")

    return make
