"""What the bot says in Slack, and the one worker that says it.

Slack wants a slash command answered within 3 s, and chat.postMessage can be slower than
that, so requests only queue their posts (`Outbox`); one worker thread sends them in order.
Order matters: a thread reply needs the `ts` of the incident's root message, which the
declare's post stores first. A failed post is logged (never with the token) and dropped: the
incident is already committed, and the next post for it retries the missing root message.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from fourkeys.errors import FourKeysError
from incidents.bot.store import Incident, IncidentStore

log = logging.getLogger(__name__)

AUTH_ERRORS = ("not_authed", "invalid_auth", "account_inactive", "token_revoked",
               "token_expired")
STATUS_EMOJI = {"open": ":red_circle:", "mitigated": ":large_yellow_circle:",
                "resolved": ":large_green_circle:"}


def fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _minutes(start: datetime, end: datetime | None) -> str:
    if end is None:
        return ""
    minutes = int((end - start).total_seconds() // 60)
    return f" ({minutes} min after declared)"


def thread_text(kind: str, incident: Incident, actor: str | None, note: str = "") -> str:
    """The reply posted in the incident's thread for one timeline event."""
    by = f"<@{actor}>" if actor else "someone"
    if kind == "mitigated":
        return (f"Mitigated by {by} at {fmt_time(incident.mitigated_at)}"
                f"{_minutes(incident.started_at, incident.mitigated_at)}.")
    if kind == "resolved":
        return (f"Resolved by {by} at {fmt_time(incident.resolved_at)}"
                f"{_minutes(incident.started_at, incident.resolved_at)}.")
    if kind == "cause":
        return f"Cause set by {by}: {_cause(incident)}."
    return f"Note from {by}: {note}"


def _cause(incident: Incident) -> str:
    if incident.cause_sha:
        return f"commit `{incident.cause_sha}`"
    if incident.cause_deployment_id:
        return f"deployment `{incident.cause_deployment_id}`"
    return "not named yet"


def root_message(incident: Incident) -> tuple[str, list[dict[str, Any]]]:
    """The incident's root message: fallback text and blocks, with the buttons that still
    make sense (value = incident id)."""
    headline = (f"Incident #{incident.incident_id} ({incident.severity}, {incident.service}): "
                f"{incident.title}")
    declared_by = f" by <@{incident.declared_by}>" if incident.declared_by else ""
    detail = (f"{STATUS_EMOJI.get(incident.status, '')} *{incident.status}* · declared"
              f"{declared_by} {fmt_time(incident.started_at)} · cause: {_cause(incident)}")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*\n{detail}"}},
    ]
    buttons = []
    if incident.status == "open":
        buttons.append(_button("Mitigated", "incident_mitigated", incident, "primary"))
    if incident.status != "resolved":
        buttons.append(_button("Resolved", "incident_resolved", incident, None))
    if buttons:
        blocks.append({"type": "actions", "block_id": f"incident-{incident.incident_id}",
                       "elements": buttons})
    return f"{headline} ({incident.status})", blocks


def _button(label: str, action_id: str, incident: Incident, style: str | None) -> dict:
    button: dict[str, Any] = {"type": "button", "action_id": action_id,
                              "text": {"type": "plain_text", "text": label},
                              "value": str(incident.incident_id)}
    if style:
        button["style"] = style
    return button


class SlackPoster:
    """Posts an incident's root message and thread replies through Slack's Web API."""

    def __init__(self, client: WebClient, channel: str, store: IncidentStore,
                 now: Callable[[], datetime], token: str) -> None:
        self.client = client
        self.channel = channel
        self.store = store
        self.now = now
        self._token = token

    @classmethod
    def create(cls, api_url: str, token: str, channel: str, store: IncidentStore,
               now: Callable[[], datetime]) -> SlackPoster:
        client = WebClient(token=token, base_url=api_url, timeout=10)
        client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
        return cls(client, channel, store, now, token)

    def check_token(self) -> None:
        """auth.test at start-up: a refused token is the user's to fix (FourKeysError); an
        unreachable Slack only warns, as posts are best effort and the bot still records."""
        try:
            self.client.auth_test()
        except SlackApiError as exc:
            error = str(exc.response.get("error") if exc.response is not None else exc)
            if error in AUTH_ERRORS:
                raise FourKeysError(
                    f"Slack refused $SLACK_BOT_TOKEN ({error}); copy the Bot User OAuth Token "
                    "(xoxb-...) from your Slack app's OAuth & Permissions page") from None
            log.warning("Slack auth.test failed: %s; serving anyway", self._clean(error))
        except Exception as exc:
            log.warning("cannot reach Slack (%s: %s); serving anyway, posts fail until it is "
                        "reachable", type(exc).__name__, self._clean(str(exc)))

    def announce(self, incident_id: int) -> bool:
        """Post the root message and remember its `ts` as the incident's thread."""
        incident = self.store.get(incident_id)
        if incident is None:
            return False
        text, blocks = root_message(incident)
        answer = self._call("chat.postMessage", incident_id, lambda: self.client.chat_postMessage(
            channel=self.channel, text=text, blocks=blocks, unfurl_links=False))
        if answer is None:
            return False
        self.store.set_thread(incident_id, channel_id=str(answer["channel"]),
                              thread_ts=str(answer["ts"]), at=self.now())
        return True

    def reply(self, incident_id: int, text: str) -> None:
        """Post `text` in the incident's thread (posting its root message first if the
        declare's post had failed)."""
        incident = self.store.get(incident_id)
        if incident is None:
            return
        if not incident.thread_ts:
            if not self.announce(incident_id):
                return
            incident = self.store.get(incident_id)
        if incident is None or not incident.thread_ts:
            return
        thread = incident
        self._call("chat.postMessage", incident_id, lambda: self.client.chat_postMessage(
            channel=thread.channel_id or self.channel, thread_ts=thread.thread_ts, text=text))

    def refresh(self, incident_id: int) -> None:
        """Bring the root message up to date (status line, buttons)."""
        incident = self.store.get(incident_id)
        if incident is None or not incident.thread_ts or not incident.channel_id:
            return
        channel, ts = incident.channel_id, incident.thread_ts
        text, blocks = root_message(incident)
        self._call("chat.update", incident_id, lambda: self.client.chat_update(
            channel=channel, ts=ts, text=text, blocks=blocks))

    def _call(self, method: str, incident_id: int, send: Callable[[], Any]) -> Any | None:
        try:
            return send()
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            log.warning("Slack %s for incident #%d failed: %s (the incident is saved)",
                        method, incident_id, self._clean(str(error or exc)))
        except Exception as exc:  # network trouble must not kill the worker
            log.warning("Slack %s for incident #%d failed: %s: %s (the incident is saved)",
                        method, incident_id, type(exc).__name__, self._clean(str(exc)))
        return None

    def _clean(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


class Outbox:
    """A FIFO of Slack jobs run by one daemon thread, started on first use."""

    def __init__(self) -> None:
        self._jobs: deque[Callable[[], object]] = deque()
        self._cond = threading.Condition()
        self._pending = 0
        self._thread: threading.Thread | None = None

    def submit(self, job: Callable[[], object]) -> None:
        with self._cond:
            self._jobs.append(job)
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="incident-bot-slack",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def join(self, timeout: float = 30.0) -> bool:
        """Wait until every submitted job has run; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._jobs))
                job = self._jobs.popleft()
            try:
                job()
            except Exception:  # a bug in one job must not stop the others
                log.exception("Slack job failed")
            finally:
                with self._cond:
                    self._pending -= 1
                    self._cond.notify_all()
