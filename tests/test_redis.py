"""The project's own Redis: started when REDIS_URL is not set, append-only, reused, stopped."""

from __future__ import annotations

import redis

from bot import app
from bot.config import load_settings
from tests.conftest import TEST_SECRET


async def test_private_redis_is_started_and_persists_with_append_only(tmp_path) -> None:
    settings = load_settings({"AVRR_SECRET": TEST_SECRET, "AVRR_VAR_DIR": str(tmp_path)})
    async with app.redis_url(settings) as url:
        assert url.startswith("unix://") and str(tmp_path) in url
        client = redis.Redis.from_url(url)
        client.set("avrr:test:k", "v", ex=60)
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        async with app.redis_url(settings) as second:  # a second `make run` reuses it
            assert second == url
        client.close()
    server = app.private_redis(settings)
    assert not server.is_running(), "the server we started is stopped again"
    server.start()
    try:
        assert redis.Redis.from_url(server.url).get("avrr:test:k") == b"v", "data survived the restart"
    finally:
        server.stop()


async def test_redis_url_wins_over_the_private_server(redis_server, tmp_path) -> None:
    settings = load_settings({"AVRR_SECRET": TEST_SECRET, "AVRR_VAR_DIR": str(tmp_path),
                              "REDIS_URL": redis_server.url})
    async with app.redis_url(settings) as url:
        assert url == redis_server.url
    assert not (tmp_path / "redis").exists()
