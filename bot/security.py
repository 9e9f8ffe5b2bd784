"""Pseudonymous ids and signed button data, both keyed by the deployment secret.

A channel user id (e.g. a Telegram user id) never reaches storage or logs: it is replaced by an
HMAC so that the same person maps to the same key, yet the key cannot be turned back into the id
without the secret. Button data is signed for the person it was sent to, so forged, edited or
replayed-by-someone-else callbacks are refused.
"""

from __future__ import annotations

import hashlib
import hmac

_SIG_LEN = 10  # hex characters of signature kept in button data (40 bits)


def pseudonym(secret: str, channel_user: str) -> str:
    """A stable pseudonymous id for a channel user, e.g. `pseudonym(s, "tg:42")`."""
    digest = hmac.new(secret.encode(), b"user:" + channel_user.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def _mac(secret: str, action: str, owner: str) -> str:
    message = b"btn:" + owner.encode() + b"\0" + action.encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:_SIG_LEN]


def sign(secret: str, action: str, owner: str) -> str:
    """Sign button data for one person (their pseudonym); Telegram allows 64 bytes in total."""
    mac = _mac(secret, action, owner)
    data = f"{action}|{mac}"
    if len(data.encode()) > 64:
        raise ValueError(f"button data too long: {action!r}")
    return data


def verify(secret: str, data: str, owner: str) -> str | None:
    """The action inside signed button data, or None when forged, damaged or made for someone else."""
    action, sep, mac = data.rpartition("|")
    if not sep or len(mac) != _SIG_LEN:
        return None
    return action if hmac.compare_digest(mac, _mac(secret, action, owner)) else None
