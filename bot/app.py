"""Wire settings, Redis, the NLU model, content and catalogs into one `Engine`.

Both channels and every command that needs the engine start here, so a console chat and the
Telegram bot run the very same engine, Redis and model.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

from bot.booking import Booking
from bot.config import Settings
from bot.content import Content
from bot.eligibility import Eligibility, load_rules
from bot.engine import Capability, Engine, Understanding
from bot.handoff import Handoff
from bot.i18n import Catalogs, available_languages
from bot.redis_server import RedisServer
from bot.store import Store, connect
from nlu.interpreter import Interpreter
from nlu.train import model_path

log = logging.getLogger("avrr.app")


def private_redis(settings: Settings) -> RedisServer:
    """The project's own Redis for `make run`: unix socket and append-only data under var/redis."""
    data = settings.var_dir / "redis"
    return RedisServer(data, unix_socket=data / "redis.sock")


@asynccontextmanager
async def redis_url(settings: Settings) -> AsyncIterator[str]:
    """REDIS_URL when set; otherwise start (or reuse) the private server, and stop what we started."""
    if settings.redis_url:
        yield settings.redis_url
        return
    server = private_redis(settings)
    if server.is_running():
        yield server.url
        return
    server.start()
    log.info("started private redis-server", extra={"dir": str(server.data_dir)})
    try:
        yield server.url
    finally:
        server.stop()


def load_interpreter(settings: Settings, languages: list[str]) -> Interpreter:
    """The model trained from the current data (see `avrr train`)."""
    return Interpreter.load(model_path(settings.root, settings.var_dir), languages)


def capabilities(settings: Settings) -> list[Capability]:
    """The feature modules this deployment runs, wired in one place."""
    rules = load_rules(settings.content_dir / "eligibility.yml")
    return [Eligibility(rules, settings.eligibility_ttl_minutes * 60),
            Booking(ZoneInfo(settings.office_timezone), settings.appointment_retention_days),
            Handoff(settings)]


def understanding(settings: Settings) -> Understanding:
    """Language, route and country for single messages, without Redis (`avrr route`, `avrr nlu eval`)."""
    languages = available_languages(settings.locales_dir)
    return Understanding(settings, load_interpreter(settings, languages), languages)


@asynccontextmanager
async def engine(settings: Settings, interpreter: Interpreter | None = None) -> AsyncIterator[Engine]:
    """An engine with everything it needs, closed cleanly afterwards."""
    catalogs = Catalogs(settings.locales_dir)
    content = Content(settings.content_dir)
    interpreter = interpreter or load_interpreter(settings, catalogs.languages)
    async with store(settings) as opened:
        yield Engine(settings, opened, interpreter, content, catalogs, capabilities(settings))


@asynccontextmanager
async def store(settings: Settings) -> AsyncIterator[Store]:
    """The Redis layer on REDIS_URL or the private server, checked with a PING and closed afterwards."""
    async with redis_url(settings) as url:
        redis = connect(url)
        try:
            opened = Store(redis, settings.session_ttl)
            await opened.ping()
            yield opened
        finally:
            await redis.close()
