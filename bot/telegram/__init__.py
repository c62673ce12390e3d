"""The Telegram transport: aiogram 3 around the dialogue core.

    run_polling(settings)            # `statagent bot`: blocks until SIGTERM/SIGINT
    await serve(settings, stop=ev)   # the same, stopped by an asyncio.Event (tests, embedding)

Routers per concern (commands, documents, text, buttons) turn updates into `Incoming`; outer
middlewares apply the per-user rate limit, refuse Telegram's placeholder senders (anonymous
group admins, channels, the service account: they are nobody in particular) and apply the
optional allowlist; uploads are downloaded only up to the upload limit; `TelegramSink` sends
the core's replies. `settings.telegram.api_base` points the bot at another Bot API
server (the tests' fake one on 127.0.0.1).
"""

from bot.telegram._app import bot_token, build_dispatcher, create_bot, run_polling, serve
from bot.telegram._lanes import Lanes
from bot.telegram._middleware import RateLimiter, Verdict
from bot.telegram._sink import ButtonTokens, TelegramSink

__all__ = [
    "ButtonTokens",
    "Lanes",
    "RateLimiter",
    "TelegramSink",
    "Verdict",
    "bot_token",
    "build_dispatcher",
    "create_bot",
    "run_polling",
    "serve",
]
