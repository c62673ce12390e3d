"""Assembling and running the Telegram bot: Bot, Dispatcher, store, controller, dialogue."""

from __future__ import annotations

import asyncio
import signal
from functools import partial

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.utils.token import TokenValidationError, validate_token

from bot import Dialogue, open_dialogue, upload_limit
from bot.telegram._lanes import Lanes
from bot.telegram._middleware import (
    AllowlistMiddleware,
    PlaceholderSenderMiddleware,
    RateLimiter,
    RateLimitMiddleware,
)
from bot.telegram._routers import Adapter
from bot.telegram._sink import ButtonTokens, TelegramSink
from config import Settings
from errors import ConfigError
from config.log import get_logger
from store import JobRecord, Store

__all__ = ["bot_token", "build_dispatcher", "create_bot", "run_polling", "serve"]

log = get_logger(__name__)

# On shutdown, a conversation step that is under way gets this long to finish.
_DRAIN_SECONDS = 10.0
_NO_TOKEN = (
    "TELEGRAM_BOT_TOKEN is not set: the Telegram bot needs a bot token from @BotFather. "
    "Without one, try `statagent chat` or `statagent demo`."
)
_MALFORMED_TOKEN = "TELEGRAM_BOT_TOKEN is not a bot token (expected digits, a colon, then letters)."
_REFUSED_TOKEN = "Telegram refused TELEGRAM_BOT_TOKEN (unauthorized): check the token with @BotFather."


def bot_token(settings: Settings) -> str:
    """The configured bot token; ConfigError when it is missing or malformed."""
    token = settings.telegram.token.get_secret_value().strip() if settings.telegram.token else ""
    if not token:
        raise ConfigError(_NO_TOKEN)
    try:
        validate_token(token)
    except TokenValidationError as error:
        raise ConfigError(_MALFORMED_TOKEN) from error
    return token


def create_bot(settings: Settings) -> Bot:
    """The aiogram Bot for `settings.telegram` (another Bot API server when api_base is set)."""
    token = bot_token(settings)
    api_base = settings.telegram.api_base
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base, is_local=False)) if api_base else AiohttpSession()
    return Bot(token=token, session=session)


def build_dispatcher(*, dialogue: Dialogue, settings: Settings, lanes: Lanes) -> Dispatcher:
    """A Dispatcher whose routers feed `dialogue`, behind the rate limit, the refusal of
    placeholder senders and the allowlist."""
    adapter = Adapter(
        dialogue=dialogue,
        lanes=lanes,
        tokens=ButtonTokens(),
        upload_limit=upload_limit(settings.uploads),
    )
    dispatcher = Dispatcher()
    # Outer middlewares see every update before any filter; the rate limit comes first so
    # that strangers cannot flood the bot with refusals either. A placeholder sender hears
    # why it is refused even when an allowlist would refuse it too.
    dispatcher.update.outer_middleware(
        RateLimitMiddleware(
            limiter=RateLimiter(limit=settings.telegram.rate_limit_per_minute), refuse=adapter.refuse
        )
    )
    dispatcher.update.outer_middleware(PlaceholderSenderMiddleware(refuse=adapter.refuse))
    dispatcher.update.outer_middleware(
        AllowlistMiddleware(allowed=settings.telegram.allowed_user_ids, refuse=adapter.refuse)
    )
    dispatcher.include_routers(*adapter.routers())
    return dispatcher


async def serve(settings: Settings, *, stop: asyncio.Event) -> None:
    """Poll Telegram until `stop` is set, then finish what is under way and close everything.

    Updates are dispatched one by one (handle_as_tasks=False) but every handler only queues
    work in its user's lane, so the order of a user's messages is kept and nobody waits for
    anybody else; jobs run in the controller and are followed in the dialogue's own tasks.
    """
    bot = create_bot(settings)
    try:
        with Store.from_settings(settings) as store:
            async with open_dialogue(settings, store=store) as dialogue:
                lanes = Lanes()
                dispatcher = build_dispatcher(dialogue=dialogue, settings=settings, lanes=lanes)
                # At startup: before polling fetches the first update.
                dispatcher.startup.register(partial(_resume, dialogue))
                try:
                    await _poll(bot, dispatcher, stop=stop)
                finally:
                    await lanes.close(timeout=_DRAIN_SECONDS)
    finally:
        await bot.session.close()
    log.info("telegram_bot_stopped")


async def _resume(dialogue: Dialogue, bot: Bot) -> None:
    """Tell the chats what a restart did to their jobs, and follow the jobs it kept."""
    tokens = ButtonTokens()  # a job's status and result carry no buttons

    def sink_for(job: JobRecord) -> TelegramSink | None:
        chat_id = job.chat_id or ""
        # Not a number: another transport's chat (the terminal's).
        return TelegramSink(bot=bot, chat_id=int(chat_id), tokens=tokens) if chat_id.lstrip("-").isdigit() else None

    await dialogue.resume(sink_for)


async def _poll(bot: Bot, dispatcher: Dispatcher, *, stop: asyncio.Event) -> None:
    started = asyncio.Event()

    async def on_startup() -> None:
        started.set()

    dispatcher.startup.register(on_startup)
    try:
        await bot.delete_webhook(drop_pending_updates=False)
    except TelegramUnauthorizedError as error:
        raise ConfigError(_REFUSED_TOKEN) from error
    polling = asyncio.create_task(
        dispatcher.start_polling(bot, handle_as_tasks=False, handle_signals=False, close_bot_session=False)
    )
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not polling.done():
            # stop_polling needs polling to have started; startup comes before any network call.
            await started.wait()
            log.info("telegram_bot_stopping")
            await dispatcher.stop_polling()
        await polling
    finally:
        stopping.cancel()
        polling.cancel()


async def run_polling(settings: Settings) -> None:
    """`statagent bot`: poll Telegram until SIGTERM or SIGINT, then shut down gracefully.

    Raises ConfigError (before touching the network) when no token is configured.
    """
    bot_token(settings)  # fail fast, before any network
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    log.info("telegram_bot_starting", api_base=settings.telegram.api_base or "api.telegram.org")
    try:
        await serve(settings, stop=stop)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
