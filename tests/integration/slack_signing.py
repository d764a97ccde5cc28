"""Slack requests as Slack would send them, signed here from the documented v0 algorithm
(independently of the bot's own `incidents.bot.signature`)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from typing import Any
from urllib.parse import urlencode

_trigger = itertools.count(1)


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """`v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}` keyed by the signing secret."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": sign(secret, timestamp, body),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def command_body(text: str, *, user_id: str = "U0ALICE", channel_id: str = "C0TEAM") -> bytes:
    """A slash-command body; every invocation gets its own trigger_id, as in Slack."""
    n = next(_trigger)
    return urlencode({
        "token": "legacy-verification-token", "team_id": "T0FAKE", "team_domain": "acme",
        "channel_id": channel_id, "channel_name": "incidents", "user_id": user_id,
        "user_name": user_id.lower(), "command": "/incident", "text": text,
        "api_app_id": "A0BOT", "response_url": f"https://hooks.slack.com/commands/T0FAKE/{n}/x",
        "trigger_id": f"{n}.{n * 7}.abcdef",
    }).encode()


def action_body(action_id: str, incident_id: int | str, *, user_id: str = "U0BOB",
                channel_id: str = "C0TEAM", message_ts: str = "1700000000.000100") -> bytes:
    """A block_actions interaction: one button click, as the `payload` form field."""
    n = next(_trigger)
    payload: dict[str, Any] = {
        "type": "block_actions", "team": {"id": "T0FAKE"},
        "user": {"id": user_id, "username": user_id.lower()}, "api_app_id": "A0BOT",
        "trigger_id": f"{n}.{n * 7}.abcdef", "channel": {"id": channel_id},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id},
        "message": {"ts": message_ts, "type": "message"},
        "response_url": f"https://hooks.slack.com/actions/T0FAKE/{n}/x",
        "actions": [{"action_id": action_id, "block_id": f"incident-{incident_id}",
                     "value": str(incident_id), "type": "button",
                     "action_ts": f"{1700000000 + n}.000000"}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()
