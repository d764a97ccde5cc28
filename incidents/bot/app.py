"""`fourkeys incident-bot`: the HTTP side of the Slack incident bot.

Routes: `POST /slack/commands` (the `/incident` slash command), `POST /slack/interactions`
(the Mitigated/Resolved buttons), `GET /healthz`. Each Slack request is checked in this order,
before its body is parsed: signature and 5-minute timestamp window (else 401); a Slack delivery
retry (`X-Slack-Retry-Num`) is acknowledged with 200 and not acted on again (slash commands and
clicks are answered within 3 s, so the first delivery was handled); the same signed request
seen twice is refused (401). Only then does the command run, in one database transaction; its
Slack posts are queued and made after the reply, so a slow Slack never delays the answer.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from fourkeys.config import Config
from fourkeys.errors import FourKeysError
from incidents.bot.commands import USAGE, IncidentCommands, Outcome, Who
from incidents.bot.signature import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    ReplayGuard,
    SignatureError,
    verify,
)
from incidents.bot.slack import Outbox, SlackPoster
from incidents.bot.store import IncidentStore

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024  # Slack's payloads are a few KB
SECRET_ENV = "SLACK_SIGNING_SECRET"
TOKEN_ENV = "SLACK_BOT_TOKEN"


def utc_now() -> datetime:
    return datetime.now(UTC)


def ephemeral(text: str) -> JSONResponse:
    """A reply only the person who typed the command sees."""
    return JSONResponse({"response_type": "ephemeral", "text": text})


def _form(body: bytes) -> dict[str, str] | None:
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        return None


class _Bot:
    """The app's parts, shared by the endpoints."""

    def __init__(self, config: Config, signing_secret: str, bot_token: str,
                 now: Callable[[], datetime]) -> None:
        self.secret = signing_secret
        self.now = now
        self.store = IncidentStore.open(config.bot_database_url())
        self.commands = IncidentCommands(self.store, [s.name for s in config.services], now)
        self.poster = SlackPoster.create(config.slack.api_url, bot_token, config.slack.channel,
                                         self.store, now)
        self.outbox = Outbox()
        self.replays = ReplayGuard()

    async def authentic_body(self, request: Request) -> bytes | Response:
        """The raw body of a genuine, first-time Slack request, else the response to send."""
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return PlainTextResponse("request too large", 413)
        body = await request.body()
        try:
            verify(self.secret, request.headers, body, self.now().timestamp())
        except SignatureError as exc:
            log.warning("refused %s: %s", request.url.path, exc)
            return PlainTextResponse("invalid request signature", 401)
        retry = request.headers.get("x-slack-retry-num")
        if retry:
            log.info("acknowledged Slack retry %s of %s without acting again", retry[:8],
                     request.url.path)
            return Response(status_code=200)
        signature = request.headers[SIGNATURE_HEADER]
        if not self.replays.first_time(signature, int(request.headers[TIMESTAMP_HEADER])):
            log.warning("refused %s: the same signed request was already handled (replay)",
                        request.url.path)
            return PlainTextResponse("request already handled", 401)
        return body

    def dispatch(self, outcome: Outcome) -> None:
        """Queue the Slack posts an outcome calls for (made after the reply is sent)."""
        incident_id = outcome.incident_id
        if incident_id is None:
            return
        if outcome.announce:
            self.outbox.submit(partial(self.poster.announce, incident_id))
        if outcome.thread_reply:
            self.outbox.submit(partial(self.poster.reply, incident_id, outcome.thread_reply))
        if outcome.refresh:
            self.outbox.submit(partial(self.poster.refresh, incident_id))

    async def slash_command(self, request: Request) -> Response:
        body = await self.authentic_body(request)
        if isinstance(body, Response):
            return body
        form = _form(body)
        if form is None:
            return ephemeral(f"I could not read that command.\n{USAGE}")
        who = Who(form.get("user_id") or None, form.get("channel_id") or None)
        try:
            outcome = await run_in_threadpool(self.commands.run, form.get("text", ""), who)
        except Exception:
            log.exception("/incident %r failed", form.get("text", "")[:200])
            return ephemeral("Something went wrong on the bot's side; check "
                             "`/incident status` and try again.")
        self.dispatch(outcome)
        return ephemeral(outcome.text)

    async def interaction(self, request: Request) -> Response:
        body = await self.authentic_body(request)
        if isinstance(body, Response):
            return body
        payload = _payload(body)
        if payload is None:
            return PlainTextResponse("expected a form field `payload` with a JSON object", 400)
        if payload.get("type") != "block_actions":
            return Response(status_code=200)  # other interaction types are not ours
        who = Who(_dig(payload, "user", "id"), _dig(payload, "channel", "id"))
        for action in payload.get("actions") or []:
            if not isinstance(action, dict):
                continue
            action_id, value = str(action.get("action_id", "")), str(action.get("value", ""))
            try:
                outcome = await run_in_threadpool(self.commands.click, action_id, value, who)
            except Exception:
                log.exception("button %s on incident %r failed", action_id[:40], value[:20])
                continue
            log.info("button %s on incident %s: %s", action_id[:40], value[:20], outcome.text)
            self.dispatch(outcome)
        return Response(status_code=200)


def _payload(body: bytes) -> dict[str, Any] | None:
    form = _form(body)
    if form is None or "payload" not in form:
        return None
    try:
        payload = json.loads(form["payload"])
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _dig(payload: dict[str, Any], key: str, field: str) -> str | None:
    part = payload.get(key)
    value = part.get(field) if isinstance(part, dict) else None
    return str(value) if value else None


def create_app(config: Config, *, signing_secret: str, bot_token: str,
               now: Callable[[], datetime] = utc_now) -> Starlette:
    """The bot as a Starlette app; `now` is its clock (incident times and the signature
    window), injectable so tests get exact times. `app.state.bot` exposes its store and
    outbox."""
    bot = _Bot(config, signing_secret, bot_token, now)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        # posts still queued at shutdown get a moment to go out
        await run_in_threadpool(bot.outbox.join, 10.0)

    app = Starlette(routes=[
        Route("/slack/commands", bot.slash_command, methods=["POST"]),
        Route("/slack/interactions", bot.interaction, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ], lifespan=lifespan)
    app.state.bot = bot
    return app


def _required_env(name: str, where: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise FourKeysError(f"${name} is not set; export {name}=<{where}> before "
                            "`fourkeys incident-bot`")
    return value


def serve(config: Config, host: str = "127.0.0.1", port: int = 3000) -> None:
    """`fourkeys incident-bot`: check the secrets and the token, then serve until stopped."""
    import uvicorn

    secret = _required_env(SECRET_ENV, "the Signing Secret from your Slack app's Basic "
                                       "Information page")
    token = _required_env(TOKEN_ENV, "the Bot User OAuth Token (xoxb-...) from OAuth & "
                                     "Permissions")
    app = create_app(config, signing_secret=secret, bot_token=token)
    app.state.bot.poster.check_token()
    log.info("incident bot on http://%s:%d: slash command URL /slack/commands, "
             "interactivity URL /slack/interactions; threads in %s", host, port,
             config.slack.channel)
    uvicorn.run(app, host=host, port=port, log_level="warning")
