"""Fixtures of the Telegram tests: the fake Bot API server and a bot polling it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fake_server import FakeTelegramServer
from job_settings import settings_for

from bot.telegram import serve
from config import Settings


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegramServer]:
    """A fresh fake Bot API server on 127.0.0.1."""
    server = FakeTelegramServer()
    await server.start()
    yield server
    await server.close()


@pytest.fixture(scope="session")
def bot_settings(runner_image: str) -> Callable[..., Settings]:
    """`bot_settings(server, data_dir, **telegram)`: settings of a bot that polls `server`,
    keeps its data in `data_dir` and takes nothing from this machine's environment (no real
    token, no Anthropic key: the offline parser answers)."""

    def make(server: FakeTelegramServer, data_dir: Path, **telegram: Any) -> Settings:
        return settings_for(
            data_dir, runner_image, {"telegram": {"token": server.token, "api_base": server.base_url, **telegram}}
        )

    return make


@pytest.fixture(scope="session")
def start_bot(bot_settings: Callable[..., Settings]) -> Callable[..., AbstractAsyncContextManager[None]]:
    """`async with start_bot(server, data_dir, **telegram):` runs the whole bot
    (`bot.telegram.serve`: real store, controller and dialogue) polling `server`, and checks
    on leaving that it shut down cleanly."""

    @asynccontextmanager
    async def start(server: FakeTelegramServer, data_dir: Path, **telegram: Any) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(serve(bot_settings(server, data_dir, **telegram), stop=stop))
        try:
            yield
        except BaseException:
            stop.set()
            await asyncio.wait({task}, timeout=60)  # the test's failure, not the bot's, is reported
            raise
        stop.set()
        await asyncio.wait_for(task, timeout=60)

    return start
