"""Per-chat order across workers: one chat's updates run one at a time, in arrival order.

Several worker processes may receive updates of the same chat at once (Telegram opens up to
`max_connections` connections; a load balancer spreads them). Each update takes a ticket from a
per-chat counter when it arrives (`HINCRBY`), and runs when every earlier ticket is done *and* it
holds the chat's short lock (`SET NX PX` with a random token, extended while it runs, released by
a compare-and-delete script). Different chats never wait for each other.

A crashed worker cannot block a chat for ever: its lock expires, and when the queue has made no
progress for `stall` seconds while the lock is free, the next waiter skips the missing tickets.

Only counters and a random token are stored, under an HMAC of the chat id (never the id itself,
never text), and every key has a TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from bot.security import pseudonym
from bot.store import PREFIX

log = logging.getLogger("avrr.ordering")

# KEYS[1] queue hash {next, done}, KEYS[2] lock; ARGV token, lock ms, queue ttl s.
# Takes the next ticket, and the lock at once when nothing is ahead (the common case: one round trip).
_ARRIVE = """
local ticket = redis.call('HINCRBY', KEYS[1], 'next', 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
if done >= ticket - 1 and redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {ticket, 1, done}
end
return {ticket, 0, done}
"""

# KEYS[1] queue, KEYS[2] lock; ARGV token, lock ms, ticket, done seen by the waiter, skip (0/1), queue ttl s.
# With skip=1 and no progress since the waiter last looked and no lock held, earlier tickets are abandoned.
_TRY = """
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
local ticket = tonumber(ARGV[3])
if done < ticket - 1 then
  if ARGV[5] == '1' and done == tonumber(ARGV[4]) and redis.call('EXISTS', KEYS[2]) == 0 then
    redis.call('HSET', KEYS[1], 'done', ticket - 1)
    redis.call('EXPIRE', KEYS[1], ARGV[6])
    done = ticket - 1
  else
    return {0, done}
  end
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, done}
end
return {0, done}
"""

# KEYS[1] queue, KEYS[2] lock; ARGV token, ticket, queue ttl s. Returns 1 when our lock was still ours.
_FINISH = """
local released = 0
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
  released = 1
end
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
if tonumber(ARGV[2]) > done then
  redis.call('HSET', KEYS[1], 'done', ARGV[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return released
"""

# KEYS[1] lock; ARGV token, lock ms.
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class OrderTimeout(Exception):
    """The chat's queue did not reach this update within `max_wait` (a flood): it is dropped."""


class ChatOrder:
    """Serialise the work for one chat across every worker that shares this Redis."""

    def __init__(self, redis: Redis, secret: str, lock_ms: int = 5000, stall: float = 10.0,
                 max_wait: float = 50.0, queue_ttl: int = 3600) -> None:
        self.redis = redis
        self.secret = secret
        self.lock_ms = lock_ms
        self.stall = stall  # > lock_ms: a live holder keeps extending its lock, so only the dead are skipped
        self.max_wait = max_wait  # below Telegram's webhook timeout, so a flooded chat never piles up retries
        self.queue_ttl = queue_ttl
        self._arrive = redis.register_script(_ARRIVE)
        self._try = redis.register_script(_TRY)
        self._finish = redis.register_script(_FINISH)
        self._extend = redis.register_script(_EXTEND)
        self._keepers: set[asyncio.Task[None]] = set()  # references, so running keepers are not collected

    def keys(self, chat: str) -> list[str]:
        """The queue and lock keys of a chat, named by an HMAC of its id (`chat` like "tg:12345")."""
        h = pseudonym(self.secret, f"order:{chat}")[:20]
        return [f"{PREFIX}:ord:{h}", f"{PREFIX}:lock:{h}"]

    @contextlib.asynccontextmanager
    async def turn(self, chat: str) -> AsyncIterator[int]:
        """Wait for this chat's turn, hold it while the body runs, then let the next one in.

        Yields the ticket number. Raises `OrderTimeout` when the turn did not come in `max_wait`.
        """
        keys = self.keys(chat)
        token = secrets.token_hex(8)
        ticket, got, done = await self._arrive(keys=keys, args=[token, self.lock_ms, self.queue_ttl])
        ticket, got, done = int(ticket), int(got), int(done)
        if not got:
            await self._wait(keys, token, ticket, done)
        stop = asyncio.Event()
        keeper = asyncio.create_task(self._keep(keys[1], token, stop))
        self._keepers.add(keeper)
        keeper.add_done_callback(self._keepers.discard)
        try:
            yield ticket
        finally:
            # Told to stop, never awaited: a cancellation swallowed inside the Redis client must not
            # hold this update (seen under load); a late extend is harmless, it checks the token.
            stop.set()
            released = await self._finish(keys=keys, args=[token, ticket, self.queue_ttl])
            if not int(released):
                log.warning("chat lock expired while processing", extra={"ms": self.lock_ms})

    async def _wait(self, keys: list[str], token: str, ticket: int, done: int) -> None:
        """Poll with a growing, jittered pause (2 ms up to 50 ms) until it is our turn and the lock is ours."""
        started = time.monotonic()
        seen, seen_at, pause = done, started, 0.002
        while True:
            now = time.monotonic()
            if now - started > self.max_wait:
                raise OrderTimeout
            skip = 1 if now - seen_at > self.stall else 0
            got, done = await self._try(keys=keys, args=[token, self.lock_ms, ticket, seen, skip, self.queue_ttl])
            if int(got):
                if skip:
                    log.warning("chat queue stalled: earlier updates skipped",
                                extra={"ms": round((now - seen_at) * 1000)})
                return
            if int(done) != seen:
                seen, seen_at = int(done), time.monotonic()
            await asyncio.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 1.5, 0.05)

    async def _keep(self, lock: str, token: str, stop: asyncio.Event) -> None:
        """Extend the lock every third of its life while the update is processed (slow sends, 429 waits)."""
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), self.lock_ms / 3000)
            if stop.is_set():
                return
            try:
                await self._extend(keys=[lock], args=[token, self.lock_ms])
            except Exception as exc:  # a blip in Redis: the next try may work, the lock has time left
                log.warning("could not extend chat lock", extra={"error": type(exc).__name__})
