"""Configuration: bad or missing settings fail at start with one clear line."""

from __future__ import annotations

import subprocess

import pytest

from bot.config import ConfigError, load_settings
from tests.conftest import AVRR, TEST_SECRET


def test_defaults_in_development() -> None:
    s = load_settings({"AVRR_SECRET": TEST_SECRET})
    assert (s.env, s.default_language, s.session_ttl_days, s.telegram_token) == ("development", "en", 30, None)


def test_development_secret_is_created_once(tmp_path) -> None:
    first = load_settings({"AVRR_VAR_DIR": str(tmp_path)}).secret
    assert len(first) >= 32 and load_settings({"AVRR_VAR_DIR": str(tmp_path)}).secret == first
    assert (tmp_path / "dev-secret").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(("env", "needle"), [
    ({"AVRR_ENV": "production"}, "AVRR_SECRET is required"),
    ({"AVRR_SECRET": "short"}, "AVRR_SECRET must be at least 32"),
    ({"AVRR_ENV": "staging"}, "AVRR_ENV"),
    ({"TELEGRAM_BOT_TOKEN": "nonsense"}, "TELEGRAM_BOT_TOKEN"),
    ({"TELEGRAM_API_BASE_URL": "ftp://x"}, "TELEGRAM_API_BASE_URL"),
    ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
    ({"DEFAULT_LANGUAGE": "de"}, "DEFAULT_LANGUAGE"),
    ({"SESSION_TTL_DAYS": "forever"}, "SESSION_TTL_DAYS"),
    ({"SESSION_TTL_DAYS": "0"}, "SESSION_TTL_DAYS"),
    ({"NLU_THRESHOLD": "2"}, "NLU_THRESHOLD"),
    ({"LOG_LEVEL": "chatty"}, "LOG_LEVEL"),
])
def test_bad_settings_name_the_variable(env: dict[str, str], needle: str) -> None:
    env = {"AVRR_SECRET": TEST_SECRET, **env} if "AVRR_SECRET" not in env and env.get("AVRR_ENV") != "production" \
        else env
    with pytest.raises(ConfigError) as err:
        load_settings(env)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_the_command_line_prints_one_clear_line() -> None:
    result = subprocess.run([AVRR, "run"], capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "AVRR_SECRET": "short"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "avrr: configuration error: AVRR_SECRET must be at least 32 characters (try: openssl rand -hex 32)"]


def test_every_command_has_help() -> None:
    for args in (["--help"], ["run", "--help"], ["chat", "--help"], ["route", "--help"], ["train", "--help"],
                 ["content", "check", "--help"]):
        result = subprocess.run([AVRR, *args], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0 and "usage: avrr" in result.stdout, args
