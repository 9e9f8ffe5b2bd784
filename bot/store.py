"""The one small Redis layer: every key the assistant writes is made and expired here.

Keys are `avrr:<kind>:<pseudonym>`; each write sets a TTL, so nothing lives forever.
Values never hold message text: only what a flow needs (language, last route, counters).
"""

from __future__ import annotations

from redis.asyncio import Redis

PREFIX = "avrr"


def connect(url: str) -> Redis:
    """An asyncio Redis client that returns str values."""
    return Redis.from_url(url, decode_responses=True)


class Store:
    """Session state per person, shared by every worker through Redis."""

    def __init__(self, redis: Redis, session_ttl: int) -> None:
        self.redis = redis
        self.session_ttl = session_ttl

    @staticmethod
    def key(kind: str, ident: str = "") -> str:
        """`avrr:<kind>:<ident>` (a person's pseudonym, a reference, …), or `avrr:<kind>` for an index."""
        return f"{PREFIX}:{kind}:{ident}" if ident else f"{PREFIX}:{kind}"

    async def load_session(self, pid: str) -> dict[str, str]:
        """The person's session fields, or {} for a new or expired session."""
        return await self.redis.hgetall(self.key("s", pid))

    async def save_session(self, pid: str, fields: dict[str, str]) -> None:
        """Write changed fields and refresh the TTL in one round trip."""
        key = self.key("s", pid)
        async with self.redis.pipeline(transaction=True) as pipe:
            if fields:
                pipe.hset(key, mapping=fields)
            pipe.expire(key, self.session_ttl)
            await pipe.execute()

    async def load_flow(self, kind: str, pid: str) -> dict[str, str]:
        """A flow's short-lived state (e.g. eligibility answers), or {} when none or expired."""
        return await self.redis.hgetall(self.key(kind, pid))

    async def save_flow(self, kind: str, pid: str, fields: dict[str, str], ttl: int) -> None:
        """Write a flow's state with its own (short) TTL."""
        key = self.key(kind, pid)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, ttl)
            await pipe.execute()

    async def drop_flow(self, kind: str, pid: str) -> None:
        await self.redis.delete(self.key(kind, pid))

    async def count_hit(self, pid: str, window: int) -> int:
        """Count one message in the person's current window (flood control); the key expires with it."""
        key = self.key("rate", pid)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window, nx=True)
            hits, _ = await pipe.execute()
        return int(hits)

    async def count(self, day: str, campaign: str, lang: str, topic: str, metric: str, ttl: int) -> None:
        """Add one to an aggregate counter (per day, campaign, language, entry topic): never per person."""
        key = f"{PREFIX}:stats:{day}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, f"{campaign}|{lang}|{topic}|{metric}", 1)
            pipe.expire(key, ttl)
            await pipe.execute()

    async def counters(self) -> dict[str, dict[str, int]]:
        """Every day's counters: {"2026-11-22": {"campaign|lang|topic|metric": n}}."""
        out = {}
        async for key in self.redis.scan_iter(match=f"{PREFIX}:stats:*", count=1000):
            out[key.rsplit(":", 1)[-1]] = {k: int(v) for k, v in (await self.redis.hgetall(key)).items()}
        return out

    async def keys_without_ttl(self) -> list[str]:
        """Every key that would live forever (there must be none): `avrr privacy audit`."""
        return [k async for k in self.redis.scan_iter(match="*", count=1000) if await self.redis.ttl(k) == -1]

    async def forget(self, pid: str) -> int:
        """Delete every key that belongs to this person; returns how many were deleted."""
        keys = [k async for k in self.redis.scan_iter(match=f"{PREFIX}:*:{pid}*", count=500)]
        return await self.redis.delete(*keys) if keys else 0

    async def ping(self) -> bool:
        return bool(await self.redis.ping())
