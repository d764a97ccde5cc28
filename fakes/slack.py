"""A fake Slack on 127.0.0.1: the few Web API methods the incident bot calls, and incoming
webhooks (run notices). It records every call so tests can assert on what Slack was told.

Routes
    Web API            POST /api/chat.postMessage, /api/chat.update, /api/auth.test
    incoming webhooks  POST /services/{path}   (answers `ok`, as Slack does)
    health             GET  /healthz

Like Slack, the Web API answers HTTP 200 with `{"ok": false, "error": ...}` on failures:
`not_authed` without a token, `invalid_auth` for one that is not `xoxb-…` (or not in
`FakeSlack(tokens=...)` when given). Channel names (`#incidents`) get a stable fake id, as
Slack answers with the channel's id. In tests:

    with serve_fake_slack() as (server, fake):
        api_url = f"{server.base_url}/api/"          # [slack] api_url
        webhook = f"{server.base_url}/services/T0/B0/x"
        ... fake.posts(), fake.webhook_posts
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from fakes.server import RunningServer, serve_in_thread

FIRST_TS_SECONDS = 1_700_000_000
FIRST_TS_MICROS = 100
BOT_USER_ID = "U0FAKEBOT"
BOT_ID = "B0FAKEBOT"
TEAM_ID = "T0FAKE"


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One Web API call as received: method, its arguments, the bearer token (or None)."""

    method: str
    args: dict[str, Any]
    token: str | None
    answer: dict[str, Any]


@dataclass(frozen=True, slots=True)
class WebhookPost:
    path: str
    body: Any  # the parsed JSON (None if the body was not JSON)


def channel_id(name: str) -> str:
    """The fake id of a channel: ids pass through, `#name` maps to a stable C… id."""
    if not name.startswith("#"):
        return name
    return "C" + hashlib.sha1(name.encode()).hexdigest()[:10].upper()


@dataclass
class FakeSlack:
    """The fake's state and behaviour knobs; `app` serves it."""

    tokens: frozenset[str] | None = None  # None: any xoxb-… token is valid
    delay_seconds: float = 0.0  # every Web API answer waits this long (a slow Slack)
    fail_with: str | None = None  # every Web API call answers {"ok": false, "error": this}
    webhook_failure: tuple[int, str] | None = None  # (status, body) for every webhook post
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _calls: list[ApiCall] = field(default_factory=list, repr=False)
    _webhooks: list[WebhookPost] = field(default_factory=list, repr=False)
    _messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict, repr=False)
    _ts_counter: int = FIRST_TS_MICROS

    # --- what tests read ----------------------------------------------------------------

    @property
    def calls(self) -> list[ApiCall]:
        with self._lock:
            return list(self._calls)

    def posts(self) -> list[ApiCall]:
        """Successful chat.postMessage calls, in order."""
        return [c for c in self.calls if c.method == "chat.postMessage" and c.answer["ok"]]

    def updates(self) -> list[ApiCall]:
        return [c for c in self.calls if c.method == "chat.update" and c.answer["ok"]]

    @property
    def webhook_posts(self) -> list[WebhookPost]:
        with self._lock:
            return list(self._webhooks)

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """A message as it stands now (after chat.update)."""
        with self._lock:
            found = self._messages.get((channel_id(channel), ts))
            return dict(found) if found else None

    # --- the app --------------------------------------------------------------------------

    @property
    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/api/{method}", self._api, methods=["POST", "GET"]),
            Route("/services/{path:path}", self._webhook, methods=["POST"]),
            Route("/healthz", lambda request: JSONResponse({"status": "ok"})),
        ])

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        args = await _arguments(request)
        token = _bearer(request) or (str(args.pop("token")) if "token" in args else None)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        answer = self._answer(method, args, token)
        with self._lock:
            self._calls.append(ApiCall(method, args, token, answer))
        return JSONResponse(answer)

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        if not token:
            return {"ok": False, "error": "not_authed"}
        valid = token in self.tokens if self.tokens is not None else token.startswith("xoxb-")
        if not valid:
            return {"ok": False, "error": "invalid_auth"}
        if self.fail_with:
            return {"ok": False, "error": self.fail_with}
        handler = {"chat.postMessage": self._post_message, "chat.update": self._update,
                   "auth.test": self._auth_test}.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        return handler(args)

    def _next_ts(self) -> str:
        with self._lock:
            self._ts_counter += 1
            n = self._ts_counter - 1
        return f"{FIRST_TS_SECONDS + n // 1_000_000}.{n % 1_000_000:06d}"

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        cid, ts = channel_id(channel), self._next_ts()
        message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts,
                   "text": args.get("text", ""), "team": TEAM_ID}
        if args.get("blocks"):
            message["blocks"] = args["blocks"]
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        with self._lock:
            self._messages[(cid, ts)] = message
        return {"ok": True, "channel": cid, "ts": ts, "message": message}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        cid, ts = channel_id(str(args.get("channel") or "")), str(args.get("ts") or "")
        with self._lock:
            message = self._messages.get((cid, ts))
            if message is None:
                return {"ok": False, "error": "message_not_found"}
            message.update({k: args[k] for k in ("text", "blocks") if k in args})
            return {"ok": True, "channel": cid, "ts": ts, "text": message.get("text", ""),
                    "message": dict(message)}

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://fake-slack.invalid/", "team": "Fake",
                "user": "fourkeys", "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                "bot_id": BOT_ID}

    async def _webhook(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self._lock:
            self._webhooks.append(WebhookPost(request.path_params["path"], body))
        if self.webhook_failure:
            status, text = self.webhook_failure
            return PlainTextResponse(text, status)
        if not isinstance(body, dict):
            return PlainTextResponse("invalid_payload", 400)
        if not body.get("text") and not body.get("blocks"):
            return PlainTextResponse("no_text", 400)
        return PlainTextResponse("ok")


async def _arguments(request: Request) -> dict[str, Any]:
    """Slack takes JSON or a form; slack_sdk sends chat.* as JSON and auth.test as a form."""
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            parsed = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    args: dict[str, Any] = dict(parse_qsl(raw.decode("utf-8", "replace")))
    for key in ("blocks", "attachments"):  # form posts carry these as JSON strings
        if isinstance(args.get(key), str):
            with suppress(ValueError):
                args[key] = json.loads(args[key])
    return args


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    if not value.startswith("Bearer "):
        return None
    return value[len("Bearer "):].strip() or None


@contextmanager
def serve_fake_slack(fake: FakeSlack | None = None, host: str = "127.0.0.1",
                     port: int = 0) -> Iterator[tuple[RunningServer, FakeSlack]]:
    """Serve `fake` (a new FakeSlack by default) on a daemon thread until the block ends."""
    fake = fake or FakeSlack()
    with serve_in_thread(fake.app, host, port) as server:
        yield server, fake
