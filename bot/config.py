"""Settings from environment variables (and an optional `.env`), checked once at start.

Every setting is documented in the README's configuration table. A bad value raises
`ConfigError` with one line that names the variable, so the operator knows what to fix.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """A setting is missing or invalid; the message is one line for the operator."""


@dataclass(frozen=True)
class Settings:
    """Everything the assistant reads from its environment."""

    env: str = "development"
    secret: str = ""
    telegram_token: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    redis_url: str | None = None
    default_language: str = "en"
    session_ttl_days: int = 30
    nlu_threshold: float = 0.3
    review_max_age_days: int = 180
    eligibility_ttl_minutes: int = 30
    rate_limit_per_minute: int = 20
    stats_ttl_days: int = 400
    office_timezone: str = "UTC"
    appointment_retention_days: int = 7
    bot_username: str | None = None
    counsellor_chat_id: int | None = None
    counsellor_allowlist: tuple[int, ...] = ()
    office_hours: tuple[tuple[int, int, int], ...] = ((0, 540, 1020), (1, 540, 1020), (2, 540, 1020),
                                                      (3, 540, 1020), (4, 540, 1020))  # (weekday, from, to) minutes
    handoff_remind_minutes: int = 5
    handoff_timeout_minutes: int = 20
    handoff_ttl_hours: int = 24
    log_level: str = "INFO"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8080
    webhook_workers: int = 1
    webhook_max_connections: int = 40
    telegram_max_per_second: int = 30
    root: Path = ROOT
    var_dir: Path = field(default=ROOT / "var")

    @property
    def content_dir(self) -> Path:
        return self.root / "content"

    @property
    def locales_dir(self) -> Path:
        return self.root / "locales"

    @property
    def session_ttl(self) -> int:
        """Session lifetime in seconds."""
        return self.session_ttl_days * 86400


def _int(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} must be between {low} and {high}")
    return value


def _float(env: dict[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} must be between {low} and {high}")
    return value


def _timezone(env: dict[str, str]) -> str:
    name = env.get("OFFICE_TIMEZONE", "").strip() or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"OFFICE_TIMEZONE={name!r} is not a time zone such as Africa/Dar_es_Salaam") from None
    return name


def _allowlist(env: dict[str, str]) -> tuple[int, ...]:
    raw = env.get("COUNSELLOR_ALLOWLIST", "").strip()
    try:
        return tuple(int(x) for x in raw.replace(" ", "").split(",") if x)
    except ValueError:
        raise ConfigError("COUNSELLOR_ALLOWLIST must be Telegram user ids separated by commas") from None


def _chat_id(env: dict[str, str]) -> int | None:
    raw = env.get("COUNSELLOR_CHAT_ID", "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"COUNSELLOR_CHAT_ID={raw!r} must be a Telegram chat id such as -1001234567890") from None


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _office_hours(env: dict[str, str]) -> tuple[tuple[int, int, int], ...]:
    """OFFICE_HOURS such as "mon-fri 09:00-17:00; sat 10:00-13:00" → (weekday, from, to) in minutes."""
    raw = env.get("OFFICE_HOURS", "").strip().lower() or "mon-fri 09:00-17:00"
    problem = ConfigError(f"OFFICE_HOURS={raw!r} must look like 'mon-fri 09:00-17:00; sat 10:00-13:00'")
    out: list[tuple[int, int, int]] = []
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        try:
            days, span = part.split()
            first, _, last = days.partition("-")
            start, end = (int(t[:2]) * 60 + int(t[3:]) for t in span.split("-"))
            lo, hi = DAYS.index(first), DAYS.index(last or first)
        except ValueError:
            raise problem from None
        if not 0 <= start < end <= 24 * 60 or lo > hi:
            raise problem
        out += [(day, start, end) for day in range(lo, hi + 1)]
    if not out:
        raise problem
    return tuple(sorted(out))


WEBHOOK_SECRET_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _webhook_url(env: dict[str, str]) -> str | None:
    """Telegram only posts to https; plain http is accepted for loopback (tests, a local Bot API server)."""
    raw = env.get("WEBHOOK_URL", "").strip() or None
    if raw is None:
        return None
    url = urlparse(raw)
    local = url.hostname in ("127.0.0.1", "localhost", "::1")
    if (url.scheme != "https" and not (url.scheme == "http" and local)) or not url.hostname:
        raise ConfigError(f"WEBHOOK_URL={raw!r} must be an https:// address, e.g. https://bot.example.org/telegram")
    return raw


def _webhook_secret(env: dict[str, str]) -> str | None:
    """The header Telegram sends with every update: 16-256 characters of A-Z, a-z, 0-9, _ and -."""
    raw = env.get("WEBHOOK_SECRET", "").strip() or None
    if raw is not None and (not 16 <= len(raw) <= 256 or not set(raw) <= WEBHOOK_SECRET_CHARS):
        raise ConfigError("WEBHOOK_SECRET must be 16-256 characters of A-Z, a-z, 0-9, _ and - "
                          "(try: openssl rand -hex 32)")
    return raw


def _dev_secret(var_dir: Path) -> str:
    """A per-machine secret for development, created once and kept in var/ (mode 600)."""
    path = var_dir / "dev-secret"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def load_settings(environ: dict[str, str] | None = None, root: Path = ROOT) -> Settings:
    """Read settings from `.env` (if present) overlaid by the real environment."""
    env: dict[str, str] = {}
    dotenv = root / ".env"
    if environ is None:
        if dotenv.exists():
            env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        env.update(os.environ)
    else:
        env.update(environ)

    mode = env.get("AVRR_ENV", "development").strip() or "development"
    if mode not in ("development", "production"):
        raise ConfigError(f"AVRR_ENV={mode!r} must be 'development' or 'production'")

    var_dir = Path(env.get("AVRR_VAR_DIR", "").strip() or root / "var")

    secret = env.get("AVRR_SECRET", "").strip()
    if secret and len(secret) < 32:
        raise ConfigError("AVRR_SECRET must be at least 32 characters (try: openssl rand -hex 32)")
    if not secret:
        if mode == "production":
            raise ConfigError("AVRR_SECRET is required when AVRR_ENV=production (try: openssl rand -hex 32)")
        secret = _dev_secret(var_dir)

    token = env.get("TELEGRAM_BOT_TOKEN", "").strip() or None
    if token and ":" not in token:
        raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a token from @BotFather (123456:ABC...)")

    api = env.get("TELEGRAM_API_BASE_URL", "").strip() or "https://api.telegram.org"
    if urlparse(api).scheme not in ("http", "https"):
        raise ConfigError(f"TELEGRAM_API_BASE_URL={api!r} must start with http:// or https://")

    redis_url = env.get("REDIS_URL", "").strip() or None
    if redis_url and urlparse(redis_url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"REDIS_URL={redis_url!r} must start with redis://, rediss:// or unix://")

    from bot.i18n import available_languages  # late import: i18n needs no settings

    languages = available_languages(root / "locales")
    default_language = env.get("DEFAULT_LANGUAGE", "").strip() or "en"
    if default_language not in languages:
        raise ConfigError(
            f"DEFAULT_LANGUAGE={default_language!r} is not one of the languages in locales/: {', '.join(languages)}"
        )

    log_level = (env.get("LOG_LEVEL", "").strip() or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"LOG_LEVEL={log_level!r} must be DEBUG, INFO, WARNING or ERROR")

    return Settings(
        env=mode,
        secret=secret,
        telegram_token=token,
        telegram_api_base_url=api.rstrip("/"),
        redis_url=redis_url,
        default_language=default_language,
        session_ttl_days=_int(env, "SESSION_TTL_DAYS", 30, 1, 365),
        nlu_threshold=_float(env, "NLU_THRESHOLD", 0.3, 0.0, 1.0),
        review_max_age_days=_int(env, "REVIEW_MAX_AGE_DAYS", 180, 1, 3650),
        eligibility_ttl_minutes=_int(env, "ELIGIBILITY_TTL_MINUTES", 30, 1, 1440),
        rate_limit_per_minute=_int(env, "RATE_LIMIT_PER_MINUTE", 20, 1, 1000),
        stats_ttl_days=_int(env, "STATS_TTL_DAYS", 400, 1, 3650),
        office_timezone=_timezone(env),
        appointment_retention_days=_int(env, "APPOINTMENT_RETENTION_DAYS", 7, 1, 365),
        bot_username=(env.get("TELEGRAM_BOT_USERNAME", "").strip().lstrip("@") or None),
        counsellor_chat_id=_chat_id(env),
        counsellor_allowlist=_allowlist(env),
        office_hours=_office_hours(env),
        handoff_remind_minutes=_int(env, "HANDOFF_REMIND_MINUTES", 5, 1, 1440),
        handoff_timeout_minutes=_int(env, "HANDOFF_TIMEOUT_MINUTES", 20, 1, 1440),
        handoff_ttl_hours=_int(env, "HANDOFF_TTL_HOURS", 24, 1, 24 * 14),
        log_level=log_level,
        webhook_url=_webhook_url(env),
        webhook_secret=_webhook_secret(env),
        webhook_listen=env.get("WEBHOOK_LISTEN", "").strip() or "127.0.0.1",
        webhook_port=_int(env, "WEBHOOK_PORT", 8080, 1, 65535),
        webhook_workers=_int(env, "WEBHOOK_WORKERS", 1, 1, 64),
        webhook_max_connections=_int(env, "WEBHOOK_MAX_CONNECTIONS", 40, 1, 100),
        telegram_max_per_second=_int(env, "TELEGRAM_MAX_PER_SECOND", 30, 0, 1000),
        root=root,
        var_dir=var_dir,
    )
