"""Telegram's flood limits, shared by every worker through Redis, and retries after a 429.

Telegram asks bots to stay near 30 messages a second in all, one a second per chat (short
bursts are tolerated) and 20 a minute per group. With several workers these budgets must be
shared, so each is a GCRA bucket in Redis (one key holding the "theoretical arrival time"):
a Lua script checks the bot's bucket and the chat's (or group's) bucket together and either
takes a slot in both or says how long to wait. When Telegram still answers 429 (`RetryAfter`),
the chat's bucket is pushed back by the wait it returned, so every worker waits, and the request
is retried a bounded number of times. Logs name the method and the wait, never text or chat ids;
bucket keys are HMACs of the chat id, with a TTL of a few seconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

from redis.asyncio import Redis
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.security import pseudonym
from bot.store import PREFIX

log = logging.getLogger("avrr.limits")

# Methods that put a message into a chat: the ones Telegram's limits count.
_MESSAGE_METHODS = ("send", "copy", "forward", "edit")
_UNPACED = frozenset({"sendChatAction"})

# KEYS: buckets; ARGV: per bucket its interval and tolerance in ms. Returns 0 (slots taken) or ms to wait.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local wait = 0
local tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  if tat - tolerance > now then
    wait = math.max(wait, tat - tolerance - now)
  end
  tats[i] = tat + interval
end
if wait > 0 then return math.ceil(wait) end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, tostring(tats[i]), 'PX', math.ceil(tats[i] - now) + 1000)
end
return 0
"""

# KEYS[1] bucket; ARGV pause ms, tolerance ms: nobody sends to it before now + pause.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now + tonumber(ARGV[1]) + tonumber(ARGV[2]))
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(tat - now) + 1000)
return 1
"""


def retry_seconds(exc: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds (PTB 22 returns int or timedelta, with a warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class Bucket:
    """One GCRA budget: `rate` messages per `per` seconds, with bursts of up to `burst`."""

    def __init__(self, rate: float, per: float, burst: int) -> None:
        self.interval_ms = per * 1000 / rate
        self.tolerance_ms = (burst - 1) * self.interval_ms


class RedisRateLimiter(BaseRateLimiter[int]):
    """A python-telegram-bot rate limiter whose budgets live in Redis, shared by all workers.

    `per_second=0` turns pacing off (a local Bot API server, the benchmarks) but keeps the 429 retries.
    `rate_limit_args` of a bot method, when given, is the number of retries for that call.
    """

    def __init__(self, redis: Redis, secret: str, bot_id: str, per_second: int = 30,
                 chat: Bucket | None = None, group: Bucket | None = None,
                 max_retries: int = 3, max_retry_wait: float = 60.0) -> None:
        self.redis = redis
        self.secret = secret
        self.pacing = per_second > 0
        self.bot = Bucket(per_second or 1, 1, burst=1 + per_second // 10)
        self.chat = chat or Bucket(1, 1, burst=3)
        self.group = group or Bucket(20, 60, burst=3)
        self.bot_key = f"{PREFIX}:lim:b:{pseudonym(secret, f'bot:{bot_id}')[:12]}"
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self._take = redis.register_script(_TAKE)
        self._pause = redis.register_script(_PAUSE)

    async def initialize(self) -> None:
        """Nothing to open: the Redis client belongs to the store."""

    async def shutdown(self) -> None:
        """Nothing to close: the Redis client belongs to the store."""

    def buckets(self, chat_id: object) -> list[tuple[str, Bucket]]:
        """The bot's bucket and the chat's: a group's (negative id or @name) or a private chat's."""
        text = str(chat_id)
        group = text.startswith(("-", "@")) or not text.isdigit()
        h = pseudonym(self.secret, f"limit:{chat_id}")[:16]
        own = (f"{PREFIX}:lim:g:{h}", self.group) if group else (f"{PREFIX}:lim:c:{h}", self.chat)
        return [(self.bot_key, self.bot), own]

    async def acquire(self, chat_id: object) -> float:
        """Wait until the bot and the chat both have room for one message; returns the seconds waited."""
        buckets = self.buckets(chat_id)
        keys = [k for k, _ in buckets]
        args: list[float] = []
        for _, b in buckets:
            args += [b.interval_ms, b.tolerance_ms]
        waited = 0.0
        while True:
            wait_ms = int(await self._take(keys=keys, args=args))
            if wait_ms <= 0:
                return waited
            pause = min(wait_ms, 1000) / 1000
            waited += pause
            await asyncio.sleep(pause)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Pace message-sending calls, and retry any call after a 429 with the wait Telegram returned."""
        chat_id = data.get("chat_id")
        paced = (self.pacing and chat_id is not None and endpoint.startswith(_MESSAGE_METHODS)
                 and endpoint not in _UNPACED)
        retries = self.max_retries if rate_limit_args is None else rate_limit_args
        for attempt in range(retries + 1):
            if paced:
                await self.acquire(chat_id)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = retry_seconds(exc)
                if attempt >= retries or seconds > self.max_retry_wait:
                    log.error("telegram flood control: giving up", extra={"method": endpoint, "retry_after": seconds,
                                                                          "attempt": attempt + 1})
                    raise
                log.warning("telegram flood control: waiting", extra={"method": endpoint, "retry_after": seconds,
                                                                      "attempt": attempt + 1})
                if self.pacing:  # every worker waits, not only this one
                    key, bucket = self.buckets(chat_id)[1] if chat_id is not None else (self.bot_key, self.bot)
                    await self._pause(keys=[key], args=[seconds * 1000, bucket.tolerance_ms])
                await asyncio.sleep(seconds)
        raise AssertionError("unreachable")  # the loop returns or raises
