"""Shared fixtures: a real redis-server, the real trained NLU model, and an engine on both."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.exceptions import RedisError

from bot.app import capabilities
from bot.config import ROOT, Settings, load_settings
from bot.content import Content
from bot.engine import Engine
from bot.i18n import Catalogs
from bot.redis_server import RedisServer
from bot.store import Store, connect
from nlu.interpreter import Interpreter
from nlu.train import model_path

TEST_SECRET = "test-secret-" + "0" * 40


def test_environ(**extra: str) -> dict[str, str]:
    """The environment tests run the assistant with (no .env, a fixed secret)."""
    env = {"AVRR_SECRET": TEST_SECRET, "AVRR_ENV": "development", "LOG_LEVEL": "INFO",
           "TELEGRAM_MAX_PER_SECOND": "0"}  # the fake Bot API is not Telegram: no pacing (429s are still retried)
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port, append-only, for the whole test run."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def settings(redis_server: RedisServer) -> Settings:
    return load_settings(test_environ(REDIS_URL=redis_server.url))


@pytest.fixture(scope="session")
def catalogs() -> Catalogs:
    return Catalogs(ROOT / "locales")


@pytest.fixture(scope="session")
def interpreter(catalogs: Catalogs) -> Interpreter:
    """The real model that `make test` trained from nlu/data (never a mock)."""
    path = model_path(ROOT, ROOT / "var")
    if not path.exists():
        pytest.fail(f"NLU model {path.name} is missing: run `make test` (it trains the model first)")
    return Interpreter.load(path, catalogs.languages)


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[object]:
    """A client on a freshly emptied database."""
    client = connect(redis_server.url)
    await client.flushdb()
    yield client
    try:  # the TTL audit after every test: nothing the assistant wrote may live forever
        if await client.ping():
            forever = [k async for k in client.scan_iter(match="*") if await client.ttl(k) == -1]
            assert forever == [], f"keys without a TTL: {forever}"
    except (ConnectionError, OSError, RedisError):
        pass  # a test that broke the connection on purpose
    finally:
        await client.close()


@pytest.fixture
async def engine(settings: Settings, redis: object, interpreter: Interpreter, catalogs: Catalogs) -> Engine:
    store = Store(redis, settings.session_ttl)  # type: ignore[arg-type]
    return Engine(settings, store, interpreter, Content(settings.content_dir), catalogs, capabilities(settings))


def avrr_env(redis_url: str) -> dict[str, str]:
    """Environment for running the `avrr` command in a subprocess against the test Redis."""
    env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "REDIS_URL")}
    env.update(test_environ(REDIS_URL=redis_url))
    return env


AVRR = str(Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "avrr")


async def dump_redis(redis: object) -> list[tuple[str, int, list[str]]]:
    """Every key with its TTL and all its values as text, whatever its type (for privacy scans)."""
    out = []
    async for key in redis.scan_iter(match="*"):  # type: ignore[attr-defined]
        kind = await redis.type(key)  # type: ignore[attr-defined]
        if kind == "hash":
            values = [f"{k}={v}" for k, v in (await redis.hgetall(key)).items()]  # type: ignore[attr-defined]
        elif kind == "string":
            values = [str(await redis.get(key))]  # type: ignore[attr-defined]
        elif kind == "zset":
            values = [str(v) for v in await redis.zrange(key, 0, -1)]  # type: ignore[attr-defined]
        else:
            values = [f"<{kind}>"]
        out.append((key, await redis.ttl(key), values))  # type: ignore[attr-defined]
    return out
