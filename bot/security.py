"""Pseudonymous ids and signed button data, both keyed by the deployment secret.

A channel user id (e.g. a Telegram user id) never reaches storage or logs: it is replaced by an
HMAC so that the same person maps to the same key, yet the key cannot be turned back into the id
without the secret. Button data is signed so that forged or edited callbacks are refused.
"""

from __future__ import annotations

import hashlib
import hmac

_SIG_LEN = 10  # hex characters of signature kept in button data (40 bits)


def pseudonym(secret: str, channel_user: str) -> str:
    """A stable pseudonymous id for a channel user, e.g. `pseudonym(s, "tg:42")`."""
    digest = hmac.new(secret.encode(), b"user:" + channel_user.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def sign(secret: str, action: str) -> str:
    """Attach a short signature to button data; Telegram allows 64 bytes in total."""
    mac = hmac.new(secret.encode(), b"btn:" + action.encode(), hashlib.sha256).hexdigest()[:_SIG_LEN]
    data = f"{action}|{mac}"
    if len(data.encode()) > 64:
        raise ValueError(f"button data too long: {action!r}")
    return data


def verify(secret: str, data: str) -> str | None:
    """Return the action inside signed button data, or None when it was forged or damaged."""
    action, sep, mac = data.rpartition("|")
    if not sep or len(mac) != _SIG_LEN:
        return None
    expected = hmac.new(secret.encode(), b"btn:" + action.encode(), hashlib.sha256).hexdigest()[:_SIG_LEN]
    return action if hmac.compare_digest(mac, expected) else None
