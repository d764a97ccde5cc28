"""Slack request signing (v0), checked before a byte of the body is parsed.

Slack signs every request with the app's signing secret: `X-Slack-Signature` is
`v0=` + hex(HMAC-SHA256(secret, "v0:{X-Slack-Request-Timestamp}:{raw body}")). A request is
accepted only if that matches (compared in constant time) and its timestamp is within five
minutes of the bot's clock, which bounds how long a captured request could be replayed.
`ReplayGuard` closes the rest of that window: an identical signed request seen again within
it is refused too. See https://api.slack.com/authentication/verifying-requests-from-slack.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Mapping

VERSION = "v0"
MAX_AGE_SECONDS = 300
SIGNATURE_HEADER = "x-slack-signature"
TIMESTAMP_HEADER = "x-slack-request-timestamp"


class SignatureError(Exception):
    """Why a request was refused; the text names the check, never a secret or header value."""


def compute_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Slack-Signature` Slack would send for `body` at `timestamp`."""
    base = f"{VERSION}:{timestamp}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return f"{VERSION}={digest}"


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> None:
    """Raise SignatureError unless `body` was signed with `secret` within five minutes of
    `now` (epoch seconds). `headers` is looked up by lower-case name."""
    timestamp = headers.get(TIMESTAMP_HEADER, "").strip()
    signature = headers.get(SIGNATURE_HEADER, "").strip()
    if not timestamp or not signature:
        raise SignatureError("missing X-Slack-Request-Timestamp or X-Slack-Signature")
    if not timestamp.isdigit():
        raise SignatureError("X-Slack-Request-Timestamp is not a whole number of seconds")
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        raise SignatureError("timestamp is more than 5 minutes from now (stale or replayed)")
    expected = compute_signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SignatureError("signature does not match (wrong signing secret or altered body)")


class ReplayGuard:
    """Remembers the signatures accepted in the last five minutes (older ones are already
    refused as stale), so the same signed request cannot be played twice.

    In memory, per process: after a restart only the timestamp window protects, which is the
    defence Slack documents. Every genuine slash command or click differs (its `trigger_id`
    and timestamp), so a repeat is never a legitimate second command.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}

    def first_time(self, signature: str, timestamp: int) -> bool:
        """Record `signature`; False if it was already recorded."""
        with self._lock:
            if signature in self._seen:
                return False
            horizon = timestamp - 2 * MAX_AGE_SECONDS
            for old in [s for s, at in self._seen.items() if at < horizon]:
                del self._seen[old]
            self._seen[signature] = timestamp
            return True
