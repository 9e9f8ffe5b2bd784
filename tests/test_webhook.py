"""Webhook workers end to end: real uvicorn and python-telegram-bot, a real redis-server, the fake Bot API.

Two workers in one process (each with its own Redis connection) show per-chat order and
cross-chat concurrency; two `avrr run --webhook` processes show the deployment itself.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from telegram.ext import ExtBot

from bot.app import capabilities
from bot.channels.limits import Bucket, RedisRateLimiter
from bot.channels.webhook import ALLOWED_UPDATES, PATH, SECRET_HEADER, Worker
from bot.config import ConfigError, Settings, load_settings
from bot.content import Content
from bot.engine import Engine
from bot.i18n import Catalogs
from bot.ordering import ChatOrder
from bot.redis_server import RedisServer, free_port
from bot.store import Store, connect
from nlu.interpreter import Interpreter
from tests.conftest import AVRR, TEST_SECRET, avrr_env, dump_redis
from tests.fake_telegram import FakeBotAPI, buttons

TOKEN = "123456:TEST-token"
SECRET = "webhook-secret_0123456789abcdef"
USER = 5100


def worker_settings(settings: Settings, api: FakeBotAPI) -> Settings:
    return dataclasses.replace(settings, telegram_token=TOKEN, telegram_api_base_url=api.url, webhook_secret=SECRET)


def given(engine: Engine) -> Callable[[], Any]:
    """An engine context that hands over an engine the test already built (and closes nothing)."""
    @asynccontextmanager
    async def context() -> AsyncIterator[Engine]:
        yield engine
    return context


@asynccontextmanager
async def serving(worker: Worker) -> AsyncIterator[str]:
    """The worker's ASGI app on real uvicorn on a loopback port, with its lifespan (startup, shutdown)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(worker.app(), host="127.0.0.1", port=port, log_config=None,
                                           access_log=False, lifespan="on", ws="none"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            raise RuntimeError(f"uvicorn did not start: {task.exception()!r}")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


@asynccontextmanager
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI(TOKEN)
    await api.start()
    try:
        yield api
    finally:
        await api.stop()


async def updates_of(api: FakeBotAPI, user: int, texts: list[str], lang: str = "en") -> list[dict[str, Any]]:
    """Telegram updates for a person typing these messages (built by the fake server, not queued)."""
    for text in texts:
        await api.send_text(user, text, language_code=lang)
    return api.take_updates()


async def test_wrong_secret_is_refused_and_health_checks_answer(engine: Engine, settings: Settings,
                                                                redis: Any) -> None:
    async with fake_api() as api:
        worker = Worker(worker_settings(settings, api), given(engine))
        async with serving(worker) as url, httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/healthz")).json() == {"ok": True}
            ready = await http.get("/readyz")
            assert ready.status_code == 200 and ready.json() == {"ready": True, "model": True, "redis": True}
            [update] = await updates_of(api, USER, ["/start"], "fr")
            for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"}, {SECRET_HEADER: ""}):
                assert (await http.post(PATH, json=update, headers=headers)).status_code == 403
            assert (await http.get(PATH)).status_code == 405
            await asyncio.sleep(0.3)
            assert api.sent(USER) == [] and await redis.dbsize() == 0, "a refused update is not processed"
            assert (await http.post(PATH, content=b"{not json", headers={SECRET_HEADER: SECRET})).status_code == 400
            response = await http.post(PATH, json=update, headers={SECRET_HEADER: SECRET})
            assert response.status_code == 200
            sent = api.sent(USER)  # answered after processing: the reply is already out
            assert sent and engine.catalogs.gettext("fr")("Who can apply?") in [label for label, _ in buttons(sent[0])]
        assert not api.unknown, api.unknown


async def test_readyz_says_no_when_redis_is_down(settings: Settings, interpreter: Interpreter,
                                                 catalogs: Catalogs) -> None:
    dead = connect(f"redis://127.0.0.1:{free_port()}/0")
    engine = Engine(settings, Store(dead, settings.session_ttl), interpreter, Content(settings.content_dir),
                    catalogs, capabilities(settings))
    try:
        async with fake_api() as api:
            async with serving(Worker(worker_settings(settings, api), given(engine))) as url:
                async with httpx.AsyncClient(base_url=url) as http:
                    assert (await http.get("/healthz")).status_code == 200
                    ready = await http.get("/readyz")
                    assert ready.status_code == 503 and ready.json()["redis"] is False
    finally:
        await dead.close()


async def test_two_workers_keep_each_chats_order_and_run_different_chats_together(
        settings: Settings, interpreter: Interpreter, catalogs: Catalogs, redis_server: RedisServer,
        redis: Any) -> None:
    spans: list[tuple[str, str, float, float]] = []  # (user, command, start, end) as each engine saw it

    @asynccontextmanager
    async def own_engine() -> AsyncIterator[Engine]:
        """A worker's engine on its own Redis connection, timing each event and slowed a little so an
        overlap could not hide."""
        client = connect(redis_server.url)
        engine = Engine(settings, Store(client, settings.session_ttl), interpreter, Content(settings.content_dir),
                        catalogs, capabilities(settings))
        handle = engine.handle

        async def timed_handle(event: Any) -> Any:
            start = time.monotonic()
            await asyncio.sleep(0.05)
            replies = await handle(event)
            spans.append((event.user, event.command or event.text, start, time.monotonic()))
            return replies

        engine.handle = timed_handle  # type: ignore[method-assign]
        try:
            yield engine
        finally:
            await client.close()

    a, b = USER + 1, USER + 2
    commands = ["/help", "/privacy", "/menu", "/privacy", "/help", "/menu", "/help", "/privacy"]
    async with fake_api() as api:
        updates = {a: await updates_of(api, a, commands), b: await updates_of(api, b, commands)}
        w1 = Worker(worker_settings(settings, api), own_engine, per_second=0)
        w2 = Worker(worker_settings(settings, api), own_engine, per_second=0)
        async with serving(w1) as url1, serving(w2) as url2, httpx.AsyncClient() as http:
            async def post(url: str, update: dict[str, Any]) -> int:
                return (await http.post(url + PATH, json=update, headers={SECRET_HEADER: SECRET})).status_code

            tasks = []
            for i in range(len(commands)):  # interleaved: a's i-th to one worker, b's i-th to the other
                tasks.append(asyncio.create_task(post((url1, url2)[i % 2], updates[a][i])))
                tasks.append(asyncio.create_task(post((url2, url1)[i % 2], updates[b][i])))
                await asyncio.sleep(0.02)  # arrival order; each update takes longer than this to process
            assert await asyncio.gather(*tasks) == [200] * len(tasks)

    first_line = {"/help": "You can type a question", "/privacy": "<b>Privacy</b>", "/menu": "What would you like"}
    for user in (a, b):
        mine = sorted((s for s in spans if s[0] == f"tg:{user}"), key=lambda s: s[2])
        assert [s[1] for s in mine] == [c[1:] for c in commands], "processed in arrival order"
        assert all(later[2] >= earlier[3] for earlier, later in itertools.pairwise(mine)), "never at the same time"
        texts = [m["text"] for m in api.sent(user)]
        assert len(texts) == len(commands)
        assert all(t.startswith(first_line[c]) for t, c in zip(texts, commands, strict=True)), texts
    a_spans = [s for s in spans if s[0] == f"tg:{a}"]
    b_spans = [s for s in spans if s[0] == f"tg:{b}"]
    assert any(x[2] < y[3] and y[2] < x[3] for x in a_spans for y in b_spans), "different chats run concurrently"
    stored = await dump_redis(redis)
    assert all(str(a) not in key and str(b) not in key for key, _, _ in stored), "keys are pseudonymous"


async def test_a_crashed_worker_does_not_block_a_chat(redis: Any) -> None:
    order = ChatOrder(redis, TEST_SECRET, lock_ms=200, stall=0.4, max_wait=5)
    keys = order.keys("tg:770077123")
    await order._arrive(keys=keys, args=["dead-worker", 200, 60])  # ticket 1 taken and locked, never finished
    started = time.monotonic()
    async with order.turn("tg:770077123") as ticket:
        assert ticket == 2
    assert 0.3 < time.monotonic() - started < 3
    async with order.turn("tg:770077123") as ticket:  # and the chat flows normally again
        assert ticket == 3
    assert "770077123" not in keys[0] and -1 not in [await redis.ttl(k) for k in await redis.keys("*")]


async def test_flood_control_429_is_waited_out_and_the_message_arrives_once(
        engine: Engine, settings: Settings, redis: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with fake_api() as api:
        refused = api.fail_next("sendMessage", times=2, retry_after=1)
        async with serving(Worker(worker_settings(settings, api), given(engine))) as url:
            [update] = await updates_of(api, USER + 3, ["/help"])
            started = time.monotonic()
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                assert (await http.post(PATH, json=update, headers={SECRET_HEADER: SECRET})).status_code == 200
            assert time.monotonic() - started >= 2.0, "waited retry_after twice"
        assert len(refused) == 2
        sent = api.sent(USER + 3)
        assert len(sent) == 1 and sent[0]["text"].startswith("You can type a question")
    waits = [r for r in caplog.records if r.getMessage() == "telegram flood control: waiting"]
    assert [(r.method, r.retry_after) for r in waits] == [("sendMessage", 1.0), ("sendMessage", 1.0)]
    from bot.logs import JsonFormatter

    lines = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert "You can type" not in lines and str(USER + 3) not in lines


async def test_outgoing_limits_are_shared_by_workers_through_redis(redis_server: RedisServer, redis: Any) -> None:
    async with fake_api() as api:
        times = api.timed("sendMessage")
        bots, clients = [], []
        for _ in range(2):  # two workers' bots, each with its own Redis connection
            client = connect(redis_server.url)
            limiter = RedisRateLimiter(client, TEST_SECRET, "123456", chat=Bucket(10, 1, burst=1))
            bots.append(ExtBot(TOKEN, base_url=f"{api.url}/bot", rate_limiter=limiter))
            clients.append(client)
        try:
            for bot in bots:
                await bot.initialize()
            started = time.monotonic()
            await asyncio.gather(*(bots[i % 2].send_message(7001, f"m{i}") for i in range(6)),
                                 *(bots[i % 2].send_message(8000 + i, "other") for i in range(6)))
            one_chat = sorted(t for t, p in times if int(p["chat_id"]) == 7001)
            assert all(b - a >= 0.08 for a, b in itertools.pairwise(one_chat)), "10 a second in one chat, both bots"
            others = [t for t, p in times if int(p["chat_id"]) != 7001]
            assert max(others) - started < 0.5, "other chats are not held back by a busy one"
            group = bots[0].rate_limiter.buckets(-100123)[1][0]  # type: ignore[union-attr]
            assert ":lim:g:" in group and "100123" not in group
        finally:
            for bot in bots:
                await bot.shutdown()
            for client in clients:
                await client.close()


@pytest.mark.parametrize(("env", "needle"), [
    ({"WEBHOOK_SECRET": "short"}, "WEBHOOK_SECRET"),
    ({"WEBHOOK_SECRET": "has spaces in it, sixteen+"}, "WEBHOOK_SECRET"),
    ({"WEBHOOK_URL": "http://bot.example.org/telegram"}, "WEBHOOK_URL"),
    ({"WEBHOOK_PORT": "70000"}, "WEBHOOK_PORT"),
    ({"WEBHOOK_WORKERS": "0"}, "WEBHOOK_WORKERS"),
    ({"WEBHOOK_MAX_CONNECTIONS": "101"}, "WEBHOOK_MAX_CONNECTIONS"),
    ({"TELEGRAM_MAX_PER_SECOND": "-1"}, "TELEGRAM_MAX_PER_SECOND"),
])
def test_bad_webhook_settings_name_the_variable(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_settings({"AVRR_SECRET": TEST_SECRET, **env})


def test_webhook_settings_and_refusal_without_a_secret(redis_server: RedisServer) -> None:
    import subprocess

    s = load_settings({"AVRR_SECRET": TEST_SECRET, "WEBHOOK_URL": "https://bot.example.org/telegram",
                       "WEBHOOK_SECRET": SECRET, "WEBHOOK_PORT": "8443", "WEBHOOK_WORKERS": "4"})
    assert (s.webhook_url, s.webhook_secret, s.webhook_port, s.webhook_workers, s.webhook_listen,
            s.webhook_max_connections, s.telegram_max_per_second) == (
        "https://bot.example.org/telegram", SECRET, 8443, 4, "127.0.0.1", 40, 30)
    env = avrr_env(redis_server.url) | {"TELEGRAM_BOT_TOKEN": TOKEN}
    result = subprocess.run([AVRR, "run", "--webhook"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "WEBHOOK_SECRET is required" in result.stderr


async def _ready(url: str, procs: list[Any], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            assert all(p.returncode is None for p in procs), "a worker exited at start"
            try:
                if (await http.get(url + "/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.25)
    raise AssertionError(f"{url} not ready in {timeout} s")


async def test_two_avrr_webhook_processes_share_redis_and_serve_one_bot(
        redis_server: RedisServer, redis: Any, tmp_path: Path) -> None:
    async with fake_api() as api:
        env = avrr_env(redis_server.url) | {
            "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api.url, "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_URL": "https://bot.example.org/telegram", "WEBHOOK_MAX_CONNECTIONS": "60"}
        urls, procs, logs = [], [], []
        for i in range(2):
            port = free_port()
            log_path = tmp_path / f"worker{i}.log"
            procs.append(await asyncio.create_subprocess_exec(
                AVRR, "run", "--webhook", "--port", str(port), env=env, stdout=asyncio.subprocess.DEVNULL,
                stderr=log_path.open("w")))
            urls.append(f"http://127.0.0.1:{port}")
            logs.append(log_path)
        try:
            await asyncio.gather(*(_ready(url, procs) for url in urls))
            setter = await asyncio.create_subprocess_exec(AVRR, "webhook", "set", env=env,
                                                          stdout=asyncio.subprocess.PIPE)
            out, _ = await asyncio.wait_for(setter.communicate(), 120)
            assert setter.returncode == 0 and json.loads(out)["url"] == "https://bot.example.org/telegram"
            [params] = api.params_of("setWebhook")
            assert (params["secret_token"], params["allowed_updates"], params["max_connections"]) == (
                SECRET, list(ALLOWED_UPDATES), 60)
            assert len(api.params_of("setMyCommands")) == 9, "the command menu, once per language"

            users = [USER + 10 + i for i in range(4)]
            async with httpx.AsyncClient(timeout=60) as http:
                async def conversation(i: int, user: int) -> None:
                    for step, text in enumerate(["/start", "/help", "is it free"]):
                        [update] = await updates_of(api, user, [text], "fr")
                        url = urls[(i + step) % 2]  # each conversation moves between the two workers
                        response = await http.post(url + PATH, json=update, headers={SECRET_HEADER: SECRET})
                        assert response.status_code == 200

                await asyncio.gather(*(conversation(i, u) for i, u in enumerate(users)))
            fr = Catalogs(Path(__file__).resolve().parent.parent / "locales").gettext("fr")
            for user in users:
                texts = [m["text"] for m in api.sent(user)]
                assert len(texts) >= 3, texts
                assert texts[0].startswith(fr("Hello! I answer questions about voluntary return and reintegration: "
                                              "going back to your country with help, if you choose to.")[:25])
                assert texts[1].startswith(fr("You can type a question in your own words, for example: "
                                              "\"Who can apply?\" or \"Is it free?\".")[:20])
            assert not api.unknown, api.unknown
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
            codes = [await asyncio.wait_for(proc.wait(), 60) for proc in procs]
        assert all(code in (0, -signal.SIGTERM) for code in codes), codes
        for path in logs:
            text = path.read_text()
            assert '"webhook worker ready"' in text and '"avrr.engine"' in text, "both workers served"
            assert "is it free" not in text and str(USER + 10) not in text
        info = await asyncio.create_subprocess_exec(AVRR, "webhook", "delete", env=env, stdout=asyncio.subprocess.PIPE)
        out, _ = await asyncio.wait_for(info.communicate(), 120)
        assert info.returncode == 0 and json.loads(out)["url"] == ""
