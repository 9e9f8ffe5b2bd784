"""Structured logs without personal data: event names and safe fields only, one JSON per line.

Message text never reaches a log line: callers pass constant event names and whitelisted
fields (pseudonym prefix, route, language, timings). Third-party loggers that would print
URLs with the bot token or message contents are turned down.
"""

from __future__ import annotations

import json
import logging
import sys

SAFE_FIELDS = ("pid", "kind", "route", "lang", "ms", "error", "where", "model", "examples", "dir", "mode",
               "method", "retry_after", "attempt")
_NOISY = ("httpx", "httpcore", "telegram", "apscheduler", "rasa", "tensorflow", "absl", "matplotlib", "asyncio",
          "uvicorn")


class JsonFormatter(logging.Formatter):
    """`{"level": "INFO", "logger": "avrr.engine", "event": "event", "route": "about", ...}`"""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {"time": round(record.created, 3), "level": record.levelname,
                                   "logger": record.name, "event": record.msg if isinstance(record.msg, str)
                                   else type(record.msg).__name__}
        for name in SAFE_FIELDS:
            if name in record.__dict__:
                data[name] = record.__dict__[name]
        return json.dumps(data, ensure_ascii=False)


def setup(level: str = "INFO", stream: object = None) -> None:
    """Send our logs as JSON lines to stderr; keep libraries at WARNING."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.ERROR)  # its INFO lines carry the bot token in the URL


def where(exc: BaseException) -> str:
    """File and line where an exception was raised, without its message (which may hold text)."""
    tb = exc.__traceback__
    while tb and tb.tb_next:
        tb = tb.tb_next
    if tb is None:
        return "?"
    return f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}"
