"""Telegram webhooks: one ASGI worker (Starlette on uvicorn) of N behind a load balancer.

The way python-telegram-bot's custom-webhook example does it: an `Application` without an
Updater; the web server hands each update to `application.process_update` itself, so this module
chooses the concurrency. Every request is its own task (different chats run concurrently), and
`ChatOrder` (bot/ordering.py) makes one chat's updates run one at a time in arrival order across
all workers sharing the Redis. The answer to Telegram is sent after the update was processed, so
a worker that dies mid-update leaves it to Telegram's redelivery, and `max_connections` of
`setWebhook` bounds how much work is in flight.

Routes: POST /telegram (403 unless `X-Telegram-Bot-Api-Secret-Token` matches WEBHOOK_SECRET),
GET /healthz (the process answers) and GET /readyz (model loaded, Telegram initialised, Redis
answers PING). Each worker also runs the reminder outbox, which Redis hands out once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Bot, Update
from telegram.ext import Application

from bot import logs
from bot.channels.limits import RedisRateLimiter
from bot.channels.telegram import build_application, outbox_loop, set_commands
from bot.channels.telegram_group import attach_desk
from bot.config import ConfigError, Settings, load_settings
from bot.engine import Engine
from bot.i18n import Catalogs
from bot.ordering import ChatOrder, OrderTimeout

log = logging.getLogger("avrr.webhook")

PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")  # what the handlers in telegram.py read; edits are ignored
MAX_BODY = 1 << 20  # bytes: a Telegram update is a few kB

EngineContext = Callable[[], AbstractAsyncContextManager[Engine]]


def check(settings: Settings) -> None:
    """A webhook worker needs the bot token and the secret Telegram will send back."""
    if not settings.telegram_token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: get one from @BotFather (see README)")
    if not settings.webhook_secret:
        raise ConfigError("WEBHOOK_SECRET is required for webhooks (try: openssl rand -hex 32)")


def chat_of(update: Update) -> str | None:
    """The chat an update belongs to (its ordering key), or the user when there is no chat."""
    if update.effective_chat is not None:
        return f"tg:{update.effective_chat.id}"
    if update.effective_user is not None:
        return f"tg:user:{update.effective_user.id}"
    return None


class Worker:
    """One webhook worker: the PTB application, per-chat order and the HTTP routes."""

    def __init__(self, settings: Settings, engine_context: EngineContext, outbox_every: float = 30.0,
                 per_second: int | None = None) -> None:
        check(settings)
        self.settings = settings
        self.secret = (settings.webhook_secret or "").encode()
        self.engine_context = engine_context
        self.outbox_every = outbox_every
        self.per_second = settings.telegram_max_per_second if per_second is None else per_second
        self.engine: Engine | None = None
        self.application: Application | None = None
        self.order: ChatOrder | None = None
        self.ready = False

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        """Load the engine (model, Redis), initialise Telegram, run the outbox; undo it all at shutdown."""
        token = self.settings.telegram_token or ""
        async with self.engine_context() as engine:
            limiter = RedisRateLimiter(engine.store.redis, self.settings.secret, token.split(":", 1)[0],
                                       per_second=self.per_second)
            application = build_application(engine, token, self.settings.telegram_api_base_url,
                                            rate_limiter=limiter, polling=False)
            async with application:
                engine.bot_username = engine.bot_username or application.bot.username  # for share links
                attach_desk(engine, application.bot)  # live chats go to the counsellors' group
                await application.start()
                self.engine, self.application = engine, application
                self.order = ChatOrder(engine.store.redis, self.settings.secret)
                stop = asyncio.Event()
                outbox = asyncio.create_task(outbox_loop(engine, application.bot, stop, self.outbox_every))
                self.ready = True
                log.info("webhook worker ready", extra={"mode": "webhook"})
                try:
                    yield
                finally:
                    self.ready = False
                    stop.set()
                    await outbox
                    await application.stop()

    async def telegram(self, request: Request) -> Response:
        """One update from Telegram: check the secret, wait for the chat's turn, process, then answer 200."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            log.warning("webhook: wrong or missing secret token", extra={"mode": "webhook"})
            return Response(status_code=403)
        if not self.ready or self.application is None or self.order is None:
            return Response(status_code=503)  # Telegram (or the load balancer) tries again
        body = await request.body()
        if len(body) > MAX_BODY:
            return Response(status_code=413)
        try:
            update = Update.de_json(json.loads(body), self.application.bot)
        except Exception as exc:  # not an update: nothing to process, and nothing of it is logged
            log.warning("webhook: not an update", extra={"error": type(exc).__name__})
            return Response(status_code=400)
        started = time.perf_counter()
        chat = chat_of(update)
        try:
            if chat is None:
                await self.application.process_update(update)
            else:
                async with self.order.turn(chat):
                    await self.application.process_update(update)
        except OrderTimeout:
            log.warning("update dropped: the chat's queue did not move", extra={"mode": "webhook"})
        except Exception as exc:  # handler errors go to on_error inside PTB; this is Redis or PTB itself
            log.error("update failed", extra={"error": type(exc).__name__, "where": logs.where(exc)})
        log.debug("update", extra={"ms": round((time.perf_counter() - started) * 1000, 1)})
        return Response(status_code=200)

    async def healthz(self, _request: Request) -> Response:
        """Liveness: the process answers HTTP."""
        return JSONResponse({"ok": True})

    async def readyz(self, _request: Request) -> Response:
        """Readiness: model loaded and Telegram initialised (`ready`), and Redis answers PING within a second."""
        redis_ok = False
        if self.ready and self.engine is not None:
            with contextlib.suppress(Exception):
                redis_ok = bool(await asyncio.wait_for(self.engine.store.ping(), 1.0))
        ok = self.ready and redis_ok
        return JSONResponse({"ready": ok, "model": self.ready, "redis": redis_ok}, status_code=200 if ok else 503)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route(PATH, self.telegram, methods=["POST"]),
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/readyz", self.readyz, methods=["GET"]),
        ], lifespan=self.lifespan)


def create_worker_app() -> Starlette:
    """The uvicorn factory (`bot.channels.webhook:create_worker_app`): settings from the environment."""
    settings = load_settings()
    logs.setup(settings.log_level)
    from bot import app as wiring

    return Worker(settings, lambda: wiring.engine(settings)).app()


def serve(settings: Settings, host: str, port: int, workers: int) -> int:
    """`avrr run --webhook`: uvicorn with `workers` processes on host:port, sharing one Redis.

    Without REDIS_URL the project's own redis-server is started here, once, and its address is
    handed to the workers through the environment.
    """
    import uvicorn

    from bot.app import private_redis

    check(settings)  # before any process starts
    started = None
    if not settings.redis_url:
        server = private_redis(settings)
        if not server.is_running():
            started = server.start()
        os.environ["REDIS_URL"] = server.url
    log.info("webhook server starting", extra={"mode": f"webhook x{workers}"})
    try:
        uvicorn.run("bot.channels.webhook:create_worker_app", factory=True, host=host, port=port,
                    workers=workers if workers > 1 else None, log_config=None, access_log=False,
                    server_header=False, timeout_graceful_shutdown=20, lifespan="on",
                    ws="none")  # no websockets (Rasa pins an old one uvicorn cannot use)
    finally:
        if started:
            started.stop()
    return 0


# -- setWebhook and friends (`avrr webhook set|delete|info`) -----------------------------------


def _bot(settings: Settings) -> Bot:
    if not settings.telegram_token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: get one from @BotFather (see README)")
    api = settings.telegram_api_base_url
    return Bot(settings.telegram_token, base_url=f"{api}/bot", base_file_url=f"{api}/file/bot")


async def set_webhook(settings: Settings, drop_pending: bool = False) -> dict[str, Any]:
    """Point Telegram at WEBHOOK_URL with the secret, the update kinds we handle and max connections.

    Also registers the command menu in every language, once per deployment instead of per worker.
    """
    if not settings.webhook_url:
        raise ConfigError("WEBHOOK_URL is not set: the public https address of POST /telegram")
    if not settings.webhook_secret:
        raise ConfigError("WEBHOOK_SECRET is required for webhooks (try: openssl rand -hex 32)")
    async with _bot(settings) as bot:
        await bot.set_webhook(settings.webhook_url, secret_token=settings.webhook_secret,
                              allowed_updates=list(ALLOWED_UPDATES),
                              max_connections=settings.webhook_max_connections,
                              drop_pending_updates=drop_pending)
        await set_commands(bot, Catalogs(settings.locales_dir), settings.default_language)
        return await webhook_info(settings, bot)


async def delete_webhook(settings: Settings, drop_pending: bool = False) -> dict[str, Any]:
    """Stop webhook delivery (e.g. to go back to `avrr run` polling)."""
    async with _bot(settings) as bot:
        await bot.delete_webhook(drop_pending_updates=drop_pending)
        return await webhook_info(settings, bot)


async def webhook_info(settings: Settings, bot: Bot | None = None) -> dict[str, Any]:
    """What Telegram has: address, pending updates, last delivery error (never message text)."""
    if bot is None:
        async with _bot(settings) as opened:
            return await webhook_info(settings, opened)
    info = await bot.get_webhook_info()
    return {"url": info.url, "pending_update_count": info.pending_update_count,
            "max_connections": info.max_connections, "allowed_updates": list(info.allowed_updates or []),
            "last_error_date": info.last_error_date.isoformat() if info.last_error_date else None,
            "last_error_message": info.last_error_message}
