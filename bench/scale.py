"""Scale and speed benchmark: `make bench` writes bench/results.md (measurements, not tests).

What it measures, each against the product's target:
- per-update processing (engine: NLU + Redis + flows, plus HTML rendering; in-process, no network);
- throughput of one `avrr run --webhook` worker, and of two sharing one Redis, driven through
  POST /telegram on loopback by a load generator playing realistic conversations in all eight
  languages (messages from nlu/test/lang/*.tsv, deep links, button presses, commands);
- RSS per worker after the load, and cold start (process spawn to the first reply);
- updates/s and p95 with 1k, 10k and 100k sessions in Redis, and Redis memory per session.

Everything runs on this machine: a private redis-server, a small fake Bot API (aiohttp) and the
load generator in this process, the workers as subprocesses. The previous results file is read
first and compared with. Outgoing pacing is off (TELEGRAM_MAX_PER_SECOND=0): the fake Bot API is
not Telegram, and with Telegram's 30 messages/s a real bot would be capped there, not here.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
AVRR = str(Path(sys.executable).parent / "avrr")
TOKEN = "424242:BENCH-token"
HOOK_SECRET = "bench-webhook-secret-0123456789"
AVRR_SECRET = "bench-secret-" + "0" * 40
BOT = {"id": 424242, "is_bot": True, "first_name": "AVRR Bench", "username": "avrr_bench_bot"}
TARGETS = {"p95_ms": 25.0, "updates_per_worker": 300.0, "rss_mb": 700.0, "cold_start_s": 15.0}
DATA_MARK = "<!-- bench-data "


# -- realistic conversations ---------------------------------------------------------------------


def corpus(root: Path = ROOT) -> dict[str, list[str]]:
    """Labelled real-style messages per language (nlu/test/lang/<lang>.tsv: `lang<TAB>text`)."""
    out: dict[str, list[str]] = {}
    for path in sorted((root / "nlu" / "test" / "lang").glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            lang, _, text = line.partition("\t")
            if text.strip():
                out.setdefault(lang.strip(), []).append(text.strip())
    return out


def conversation(rng: random.Random, texts: list[str], lang: str) -> list[tuple[str, str]]:
    """One person's visit: a /start (often from a poster's deep link), questions, buttons, a command."""
    start = f"/start 1_{lang}_{rng.choice(['RI', 'EL', 'CO', ''])}__bench-2026" if rng.random() < 0.4 else "/start"
    return [("command", start), ("text", rng.choice(texts)), ("text", rng.choice(texts)), ("button", ""),
            ("command", rng.choice(["/menu", "/help", "/privacy"])), ("text", rng.choice(texts)),
            ("text", rng.choice(texts)), ("button", ""), ("text", rng.choice(texts))]


class Updates:
    """Telegram update JSON for the fake people (ids, dates, entities as Telegram sends them)."""

    def __init__(self) -> None:
        self.ids = itertools.count(1)

    def _user(self, uid: int, lang: str) -> dict[str, Any]:
        return {"id": uid, "is_bot": False, "first_name": "P", "language_code": lang}

    def text(self, uid: int, lang: str, text: str) -> dict[str, Any]:
        n = next(self.ids)
        message: dict[str, Any] = {"message_id": n, "date": int(time.time()), "text": text,
                                   "chat": {"id": uid, "type": "private", "first_name": "P"},
                                   "from": self._user(uid, lang)}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split(" ", 1)[0])}]
        return {"update_id": n, "message": message}

    def button(self, uid: int, lang: str, data: str) -> dict[str, Any]:
        n = next(self.ids)
        return {"update_id": n, "callback_query": {
            "id": str(n), "from": self._user(uid, lang), "chat_instance": "bench", "data": data,
            "message": {"message_id": n, "date": int(time.time()), "text": "-", "from": BOT,
                        "chat": {"id": uid, "type": "private", "first_name": "P"}}}}


# -- a fake Bot API, lean enough not to be the bottleneck ---------------------------------------------


class FakeAPI:
    """Answers what the workers call; keeps only each chat's last keyboard and when it got a first reply."""

    def __init__(self) -> None:
        self.keyboards: dict[int, list[str]] = {}
        self.first_reply: dict[int, float] = {}
        self.calls: Counter[str] = Counter()
        self.message_ids = itertools.count(1)
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self.url

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls[method] += 1
        raw = await request.json() if request.content_type == "application/json" else dict(await request.post())
        result: Any = True
        if method == "getMe":
            result = BOT
        elif method in ("sendMessage", "editMessageText"):
            chat = int(raw["chat_id"])
            markup = raw.get("reply_markup")
            if isinstance(markup, str):
                markup = json.loads(markup)
            if markup:
                self.keyboards[chat] = [b["callback_data"] for row in markup.get("inline_keyboard", [])
                                        for b in row if b.get("callback_data")]
            self.first_reply.setdefault(chat, time.monotonic())
            result = {"message_id": next(self.message_ids), "date": int(time.time()), "text": "-",
                      "chat": {"id": chat, "type": "private", "first_name": "P"}, "from": BOT}
        elif method == "getWebhookInfo":
            result = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        return web.json_response({"ok": True, "result": result})


# -- measuring ---------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def machine() -> dict[str, Any]:
    """Cores, CPU model, memory, Python, Redis and the commit the numbers belong to."""
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0.0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) / 1024 / 1024
    redis_version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    match = re.search(r"v=(\S+)", redis_version)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "bot", "nlu", "config.yml", "bench"],
                           capture_output=True, text=True, cwd=ROOT).stdout.strip()
    return {"date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"), "cores": os.cpu_count(), "cpu": cpu,
            "load_before": round(os.getloadavg()[0], 2),
            "memory_gib": round(mem, 1), "os": f"{platform.system()} {platform.machine()}",
            "python": platform.python_version(), "redis": match.group(1) if match else "?",
            "commit": (commit.stdout.strip() or "?") + ("+changes" if dirty else "")}


async def engine_latency(redis_url: str, texts: dict[str, list[str]], events: int, rng: random.Random) -> dict:
    """Per-update processing in this process: engine.handle (NLU + Redis + flows) and HTML rendering."""
    from bot import app, logs
    from bot.channels.telegram import keyboard, split_message, to_html
    from bot.config import load_settings
    from bot.core import Event

    settings = load_settings({"AVRR_SECRET": AVRR_SECRET, "AVRR_ENV": "production", "REDIS_URL": redis_url})
    logs.setup("WARNING")
    by_kind: dict[str, list[float]] = {"text": [], "button": [], "command": []}
    langs = sorted(texts)
    async with app.engine(settings) as engine:
        uid = 1_000_000
        done = -30  # the first 30 are warm-up
        while done < events:
            uid += 1
            lang = langs[uid % len(langs)]
            actions: list[str] = []
            for kind, text in conversation(rng, texts[lang], lang):
                user, chat = f"tg:{uid}", f"tg:{uid}"
                if kind == "button":
                    if not actions:
                        continue
                    event = Event(user=user, kind="button", button=rng.choice(actions), client_lang=lang, chat=chat)
                elif kind == "command":
                    name, _, payload = text[1:].partition(" ")
                    event = Event(user=user, kind="command", command=name, payload=payload, client_lang=lang,
                                  chat=chat)
                else:
                    event = Event(user=user, kind="text", text=text, client_lang=lang, chat=chat)
                started = time.perf_counter()
                replies = await engine.handle(event)
                for reply in replies:
                    split_message(to_html(reply))
                    keyboard(reply)
                took = (time.perf_counter() - started) * 1000
                actions = [b.action for r in replies for row in r.buttons for b in row if b.action] or actions
                if done >= 0:
                    by_kind[kind].append(took)
                done += 1
    every = [x for values in by_kind.values() for x in values]
    out = {"n": len(every), "p50": pct(every, 0.5), "p95": pct(every, 0.95), "p99": pct(every, 0.99)}
    for kind, values in by_kind.items():
        out[f"{kind}_n"], out[f"{kind}_p95"] = len(values), pct(values, 0.95)
    return out


class Bench:
    """Workers, the fake Bot API, Redis and the load generator for one run."""

    def __init__(self, redis_url: str, texts: dict[str, list[str]], workdir: Path, seed: int = 7) -> None:
        self.redis_url = redis_url
        self.texts = texts
        self.langs = sorted(texts)
        self.workdir = workdir
        self.rng = random.Random(seed)
        self.api = FakeAPI()
        self.updates = Updates()
        self.workers: list[tuple[asyncio.subprocess.Process, str, Path]] = []
        self.http: aiohttp.ClientSession | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_", "REDIS_"))}
        env.update(AVRR_SECRET=AVRR_SECRET, AVRR_ENV="production", REDIS_URL=self.redis_url, LOG_LEVEL="INFO",
                   TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=self.api.url, WEBHOOK_SECRET=HOOK_SECRET,
                   TELEGRAM_MAX_PER_SECOND="0", AVRR_VAR_DIR=str(ROOT / "var"), RASA_TELEMETRY_ENABLED="false")
        return env

    async def post(self, url: str, update: dict[str, Any]) -> int:
        assert self.http is not None
        async with self.http.post(url, data=json.dumps(update), headers={
                "X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET, "Content-Type": "application/json"}) as response:
            await response.read()
            return response.status

    async def start_worker(self) -> float:
        """Spawn `avrr run --webhook` and return the seconds from spawn to the first reply it sent."""
        from bot.redis_server import free_port

        port = free_port()
        log = self.workdir / f"worker{len(self.workers) + 1}.log"
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            AVRR, "run", "--webhook", "--port", str(port), env=self.env(), cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL, stderr=log.open("w"))
        url = f"http://127.0.0.1:{port}/telegram"
        uid = 8_000_000 + port
        update = self.updates.text(uid, "en", "/start")
        while time.monotonic() - started < 180:
            if proc.returncode is not None:
                raise RuntimeError(f"worker exited at start; see {log}")
            try:
                if await self.post(url, update) == 200 and uid in self.api.first_reply:
                    self.workers.append((proc, url, log))
                    return self.api.first_reply[uid] - started
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        raise RuntimeError("worker did not answer within 180 s")

    async def load(self, urls: list[str], seconds: float, concurrency: int, users: Iterator[int]) -> dict:
        """Virtual people, each one request at a time, for `seconds`; a round-robin 'load balancer'."""
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        kinds: Counter[str] = Counter()
        turn = itertools.cycle(urls)
        stop_at = time.monotonic() + seconds

        async def person() -> None:
            while time.monotonic() < stop_at:
                uid = next(users)
                lang = self.langs[uid % len(self.langs)]
                client_lang = lang if self.rng.random() < 0.7 else "en"
                for kind, text in conversation(self.rng, self.texts[lang], lang):
                    if time.monotonic() >= stop_at:
                        return
                    if kind == "button":
                        choices = self.api.keyboards.get(uid)
                        if not choices:
                            continue
                        update = self.updates.button(uid, client_lang, self.rng.choice(choices))
                    else:
                        update = self.updates.text(uid, client_lang, text)
                    started = time.perf_counter()
                    try:
                        status = await self.post(next(turn), update)
                    except (aiohttp.ClientError, asyncio.TimeoutError):
                        status = 0  # counted, shown in the report
                    statuses[status] += 1
                    latencies.append((time.perf_counter() - started) * 1000)
                    kinds[kind] += 1

        began = time.monotonic()
        await asyncio.gather(*(person() for _ in range(concurrency)))
        elapsed = time.monotonic() - began
        return {"updates": len(latencies), "seconds": round(elapsed, 1), "per_s": len(latencies) / elapsed,
                "p50": pct(latencies, 0.5), "p95": pct(latencies, 0.95), "p99": pct(latencies, 0.99),
                "concurrency": concurrency, "statuses": dict(statuses), "kinds": dict(kinds)}

    def engine_ms(self, since: dict[Path, int]) -> float:
        """p95 of the engine's own timing (the `ms` of each "event" log line) in the workers since `since`."""
        values: list[float] = []
        for _, _, log in self.workers:
            with log.open(encoding="utf-8") as fh:
                fh.seek(since.get(log, 0))
                for line in fh:
                    if '"event": "event"' in line:
                        values.append(float(json.loads(line).get("ms", 0)))
        return pct(values, 0.95)

    def marks(self) -> dict[Path, int]:
        return {log: log.stat().st_size for _, _, log in self.workers}


async def preload_sessions(redis: Any, first_uid: int, count: int) -> None:
    """`count` sessions shaped like real ones (language, source, last route, campaign…), with their TTL."""
    from bot.security import pseudonym

    langs = ["am", "ar", "en", "es", "fa", "fr", "ru", "sw"]
    routes = ["about", "eligibility", "cost", "reintegration", "process", "documents", "coi", "human"]
    for start in range(first_uid, first_uid + count, 1000):
        async with redis.pipeline(transaction=False) as pipe:
            for uid in range(start, min(start + 1000, first_uid + count)):
                key = f"avrr:s:{pseudonym(AVRR_SECRET, f'tg:{uid}')}"
                pipe.hset(key, mapping={"lang": langs[uid % 8], "lsrc": "client", "route": routes[uid % 8],
                                        "fails": "0", "camp": "bench-2026", "entry": "-", "ans": "1", "per": ""})
                pipe.expire(key, 30 * 86400)
            await pipe.execute()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from bot.redis_server import RedisServer
    from bot.store import connect

    texts = corpus()
    result: dict[str, Any] = {"machine": machine(), "languages": sorted(texts),
                              "messages": sum(len(v) for v in texts.values())}
    with tempfile.TemporaryDirectory(prefix="avrr-bench-") as tmp:
        workdir = Path(args.keep or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        server = RedisServer(workdir / "redis").start()
        redis = connect(server.url)
        bench = Bench(server.url, texts, workdir)
        try:
            await bench.api.start()
            print("per-update processing (in-process)…", flush=True)
            result["engine"] = await engine_latency(server.url, texts, args.events, random.Random(11))
            print(json.dumps(result["engine"]), flush=True)
            await redis.flushdb()

            bench.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                               timeout=aiohttp.ClientTimeout(total=60))
            print("cold start of worker 1…", flush=True)
            result["cold_start_s"] = [await bench.start_worker()]
            uids = itertools.count(10_000_000)
            urls = [bench.workers[0][1]]
            await bench.load(urls, 3, args.concurrency, uids)  # warm-up
            mark = bench.marks()
            print("throughput, 1 worker…", flush=True)
            one = await bench.load(urls, args.seconds, args.concurrency, uids)
            one["engine_p95"] = bench.engine_ms(mark)
            result["one_worker"] = one
            print(json.dumps(one), flush=True)

            print("cold start of worker 2…", flush=True)
            result["cold_start_s"].append(await bench.start_worker())
            urls = [w[1] for w in bench.workers]
            await bench.load(urls, 3, 2 * args.concurrency, uids)
            mark = bench.marks()
            print("throughput, 2 workers…", flush=True)
            two = await bench.load(urls, args.seconds, 2 * args.concurrency, uids)
            two["engine_p95"] = bench.engine_ms(mark)
            result["two_workers"] = two
            print(json.dumps(two), flush=True)
            result["rss_mb"] = [round(rss_mb(p.pid)) for p, _, _ in bench.workers]

            result["sessions"] = []
            for count in args.sessions:
                await redis.flushdb()
                before = int((await redis.info("memory"))["used_memory"])
                first = 20_000_000 + count
                await preload_sessions(redis, first, count)
                after = int((await redis.info("memory"))["used_memory"])
                population = list(range(first, first + count))
                random.Random(count).shuffle(population)
                mark = bench.marks()
                print(f"{count} sessions…", flush=True)
                row = await bench.load(urls[:1], args.session_seconds, args.concurrency, iter(population * 2))
                row.update(sessions=count, bytes_per_session=round((after - before) / count),
                           redis_mb=round(after / 2**20, 1), engine_p95=bench.engine_ms(mark))
                result["sessions"].append(row)
                print(json.dumps(row), flush=True)
            result["api_calls"] = dict(bench.api.calls)
            result["machine"]["load_after"] = round(os.getloadavg()[0], 2)
            errors = sum(1 for _, _, log in bench.workers for line in log.open() if '"level": "ERROR"' in line)
            result["worker_errors"] = errors
        finally:
            for proc, _, _ in bench.workers:
                if proc.returncode is None:
                    proc.terminate()
                    try:
                        await asyncio.wait_for(proc.wait(), 30)
                    except asyncio.TimeoutError:
                        proc.kill()
            if bench.http:
                await bench.http.close()
            await bench.api.stop()
            await redis.close()
            server.stop()
    return result


# -- the report --------------------------------------------------------------------------------------


def previous(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    at = text.rfind(DATA_MARK)
    if at == -1:
        return None
    try:
        return json.loads(text[at + len(DATA_MARK):text.index("-->", at)])
    except ValueError:
        return None


def figures(r: dict[str, Any]) -> dict[str, float]:
    """The headline numbers, flat, for the comparison with the previous run."""
    out = {"processing p95 ms": r["engine"]["p95"], "processing p99 ms": r["engine"]["p99"],
           "1 worker updates/s": r["one_worker"]["per_s"], "2 workers updates/s": r["two_workers"]["per_s"],
           "max RSS MB": max(r["rss_mb"]), "cold start s": max(r["cold_start_s"])}
    for row in r.get("sessions", []):
        out[f"{row['sessions']} sessions updates/s"] = row["per_s"]
        out[f"{row['sessions']} sessions bytes/session"] = row["bytes_per_session"]
    return out


def since(commit: str) -> list[str]:
    """Commits touching the measured code since the previous run's commit (empty when unknown)."""
    base = commit.split("+", 1)[0]
    out = subprocess.run(["git", "log", "--oneline", f"{base}..HEAD", "--", "bot", "nlu", "config.yml", "bench",
                          "pyproject.toml", "requirements.lock"], capture_output=True, text=True, cwd=ROOT)
    return out.stdout.strip().splitlines() if out.returncode == 0 else []


def ok(good: bool) -> str:
    return "✓ met" if good else "✗ missed"


def report(r: dict[str, Any], before: dict[str, Any] | None) -> str:
    m, e, one, two = r["machine"], r["engine"], r["one_worker"], r["two_workers"]
    per_worker_two = two["per_s"] / 2
    lines = [
        f"# Scale and speed benchmark ({m['date']})", "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}; Python {m['python']}; "
        f"redis-server {m['redis']}; commit {m['commit']}. Written by `make bench` (`python -m bench.scale`).", "",
        "The workers, Redis, the fake Bot API and the load generator all share these cores, so the "
        "throughput figures are what this machine can do with everything on it, not a worker alone. "
        f"Load average (1 min) before the run {m['load_before']}, at its end {m.get('load_after', '?')} "
        "(anything else running on the machine shows here).", "",
        "| figure | measured | target | |", "|---|---|---|---|",
        f"| per-update processing p50 / p95 / p99 (NLU + Redis + rendering, in-process, {e['n']} updates) | "
        f"{e['p50']:.1f} / {e['p95']:.1f} / {e['p99']:.1f} ms | p95 ≤ 25 ms | {ok(e['p95'] <= TARGETS['p95_ms'])} |",
        f"| — typed text / buttons / commands, p95 | {e['text_p95']:.1f} / {e['button_p95']:.1f} / "
        f"{e['command_p95']:.1f} ms | | |",
        f"| throughput, 1 worker (webhook on loopback, {one['concurrency']} people at once) | "
        f"{one['per_s']:.0f} updates/s (HTTP p50 {one['p50']:.0f} ms, p95 {one['p95']:.0f} ms; "
        f"engine p95 in the worker {one['engine_p95']:.1f} ms) | ≥ 300 updates/s | "
        f"{ok(one['per_s'] >= TARGETS['updates_per_worker'])} |",
        f"| throughput, 2 workers, one Redis ({two['concurrency']} people at once) | {two['per_s']:.0f} updates/s "
        f"= {per_worker_two:.0f} per worker (HTTP p95 {two['p95']:.0f} ms) | ≥ 300 per worker | "
        f"{ok(per_worker_two >= TARGETS['updates_per_worker'])} |",
        f"| RSS per worker after the load | {', '.join(f'{x} MB' for x in r['rss_mb'])} | ≤ 700 MB | "
        f"{ok(max(r['rss_mb']) <= TARGETS['rss_mb'])} |",
        f"| cold start to first reply (spawn → first sendMessage) | "
        f"{', '.join(f'{x:.1f} s' for x in r['cold_start_s'])} | ≤ 15 s | "
        f"{ok(max(r['cold_start_s']) <= TARGETS['cold_start_s'])} |",
        "", "## Cost as sessions grow (1 worker)", "",
        "| sessions in Redis | updates/s | HTTP p95 ms | engine p95 in the worker, ms | Redis used | bytes/session |",
        "|---|---|---|---|---|---|",
    ]
    for row in r["sessions"]:
        lines.append(f"| {row['sessions']:,} | {row['per_s']:.0f} | {row['p95']:.0f} | {row['engine_p95']:.1f} | "
                     f"{row['redis_mb']} MB | {row['bytes_per_session']} |")
    kinds = Counter[str]()
    for part in (one, two, *r["sessions"]):
        kinds.update(part["kinds"])
    statuses = Counter[str]()
    for part in (one, two, *r["sessions"]):
        statuses.update({str(k): v for k, v in part["statuses"].items()})
    lines += ["", "## Compared with the previous run", ""]
    if before is None:
        lines.append("No earlier bench/results.md with data: this is the first run.")
    else:
        bm = before["machine"]
        lines.append(f"Previous: {bm['date']}, commit {bm['commit']}, {bm['cpu']}, {bm['cores']} cores, "
                     f"Python {bm['python']}." + (" Same machine type." if (bm["cpu"], bm["cores"]) ==
                                                  (m["cpu"], m["cores"]) else " **Different machine**: compare "
                                                                               "with care."))
        changed = since(bm["commit"])
        lines.append(f"Code changes since then ({len(changed)} commits touching bot/, nlu/, bench/ or dependencies)"
                     + (": " + "; ".join(changed[:10]) if changed else "."))
        lines += ["", "| figure | previous | now | change |", "|---|---|---|---|"]
        old, new = figures(before), figures(r)
        for name, value in new.items():
            if old.get(name):
                delta = (value - old[name]) / old[name] * 100
                lines.append(f"| {name} | {old[name]:.1f} | {value:.1f} | {delta:+.0f} % |")
        lines.append("")
        lines.append("Changes within ±10 % are run-to-run noise on a shared 2-core machine.")
    lines += [
        "", "## How it was measured", "",
        f"- Messages: {r['messages']} labelled real-style messages in {len(r['languages'])} languages "
        f"({', '.join(r['languages'])}) from `nlu/test/lang/*.tsv`. Each virtual person makes one visit: "
        "`/start` (40 % from a deep link), five typed questions, two presses of buttons from the bot's last "
        "reply, and `/menu`, `/help` or `/privacy`; their app's language is theirs 70 % of the time.",
        f"- Updates sent in the load phases: {dict(kinds)}; HTTP statuses: {dict(statuses)}; "
        f"errors logged by the workers: {r['worker_errors']}.",
        "- Per-update processing: `Engine.handle` plus HTML escaping, splitting and keyboards for every reply, "
        "in this process against the same redis-server, after 30 warm-up updates.",
        "- Throughput: `avrr run --webhook` worker processes (uvicorn, uvloop, httptools), each update POSTed to "
        "`/telegram` with the secret header; a worker answers after processing, so the HTTP time includes the "
        "per-chat lock, the engine and the replies sent to the fake Bot API. Each phase runs "
        f"{one['seconds']:.0f} s after a 3 s warm-up. 'Engine p95 in the worker' is `Engine.handle`'s own timing "
        "from the workers' logs: wall time, so it includes waiting for the event loop while other updates run.",
        "- Outgoing pacing off (`TELEGRAM_MAX_PER_SECOND=0`): the fake Bot API is not Telegram; on Telegram a bot "
        "sends about 30 messages/s in all, so these figures are headroom, not delivered messages.",
        "- Sessions: N session hashes shaped like real ones are written first; the load then comes from those "
        "people. Bytes per session = growth of Redis `used_memory` / N.",
        "- RSS: `VmRSS` of each worker process after the load. Cold start: from spawning `avrr run --webhook` "
        "to the fake Bot API receiving its first reply to a `/start` (the model load dominates).",
        "", f"{DATA_MARK}{json.dumps(r, ensure_ascii=False)} -->", "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.md")
    parser.add_argument("--seconds", type=float, default=20, help="length of each throughput phase")
    parser.add_argument("--session-seconds", type=float, default=10, help="length of each sessions phase")
    parser.add_argument("--concurrency", type=int, default=8, help="people at once per worker")
    parser.add_argument("--events", type=int, default=3000, help="updates for the in-process timing")
    parser.add_argument("--keep", type=Path, help="keep the workers' logs and Redis data in this folder")
    parser.add_argument("--sessions", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 10000, 100000])
    args = parser.parse_args(argv)
    if not shutil.which("redis-server"):
        print("redis-server is missing: run `make redis-server` (or `make bench`, which does)", file=sys.stderr)
        return 1
    import uvloop  # installed with Rasa's sanic; uvicorn uses it in the workers too

    before = previous(args.out)
    result = uvloop.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(result, before), encoding="utf-8")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
