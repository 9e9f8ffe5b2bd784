"""Understanding: text normalisation, country names and the Rasa NLU interpreter."""

import logging
import os
import sys

import structlog

# Set by the project itself, before anything imports Rasa: no telemetry, quiet TensorFlow.
os.environ["RASA_TELEMETRY_ENABLED"] = "false"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# TensorFlow's TFLite helpers import jax when it is installed (it comes with TensorFlow), only for a
# model converter we never use; TensorFlow handles the ImportError. Not loading it saves ~80 MB of
# memory per worker (measured in bench/results.md).
sys.modules.setdefault("jax", None)  # type: ignore[arg-type]


def _event_name_only(_logger: object, _method: str, event_dict: dict) -> dict:
    """Rasa's structlog events carry the parsed text (`parse_data_text`): keep only the event name."""
    return {"event": str(event_dict.get("event", ""))}


# Unconfigured, structlog prints every Rasa debug event (message text included) to stdout.
structlog.configure(
    processors=[_event_name_only, structlog.processors.JSONRenderer()],
    wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
    logger_factory=structlog.stdlib.LoggerFactory(),
    cache_logger_on_first_use=True,
)
