"""Slack incoming-webhook notices of unattended runs: once on failure, and on success when
`[notices] on_success = true`, with the week's four keys per team.

The webhook URL is a secret (anyone holding it can post to the channel), so it comes from the
environment variable `[notices] webhook_env` names, never from the file, and never appears in a
log line or an error. A notice that cannot be delivered is a warning: it never changes the run's
exit code or its data.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from fourkeys.config import Config
from fourkeys.logs import redact

log = logging.getLogger(__name__)

STATUS_ICON = {"success": ":white_check_mark:", "partial": ":warning:", "failed": ":x:"}


@dataclass(frozen=True)
class RunOutcome:
    command: str  # run | extract | transform
    status: str  # success | partial | failed
    detail: str  # the command's last line: its summary, or the one-line error


def notify(config: Config, outcome: RunOutcome) -> bool:
    """Post the outcome if notices are on for it; True when a notice was delivered."""
    notices = config.notices
    wanted = notices.on_success if outcome.status == "success" else notices.on_failure
    url = notices.webhook_url()
    if not wanted or url is None:
        return False
    payload = {"text": message_text(config, outcome)}
    try:
        _post(url, payload)
    except (httpx.HTTPError, _Rejected, _ServerError) as exc:
        # the URL is a secret: name the variable, never the value
        log.warning("could not deliver the Slack notice to $%s (%s); the run's result stands",
                    notices.webhook_env, _reason(exc))
        return False
    log.info("notice sent to Slack ($%s)", notices.webhook_env)
    return True


def message_text(config: Config, outcome: RunOutcome) -> str:
    icon = STATUS_ICON.get(outcome.status, ":grey_question:")
    head = (f"{icon} fourkeys {outcome.command} {outcome.status} on {socket.gethostname()}: "
            f"{redact(outcome.detail)}")
    if outcome.status == "partial":
        head += " (the next run resumes where this one stopped)"
    if outcome.status != "success":
        return head
    lines = week_lines(_published(config))
    return "\n".join([head, *lines]) if lines else head


def week_lines(published: Path) -> list[str]:
    """The latest week's four keys per team from the published marts, one line per team."""
    if not published.exists():
        return []
    import duckdb

    try:
        con = duckdb.connect(str(published), read_only=True)
    except duckdb.Error:
        return []
    try:
        rows = con.execute(
            """
            select team, week_start, deployments, median_lead_time_seconds,
                   change_failure_rate, median_restore_seconds
            from metrics_weekly
            where grain = 'team'
              and week_start = (select max(week_start) from metrics_weekly where grain = 'team')
            order by team
            """
        ).fetchall()
    except duckdb.Error:
        return []
    finally:
        con.close()
    if not rows:
        return []
    lines = [f"Week of {rows[0][1]:%Y-%m-%d}:"]
    for team, _, deployments, lead, cfr, restore in rows:
        lines.append(
            f"• {team}: {deployments} deployments, lead time {_duration(lead)}, "
            f"CFR {_percent(cfr)}, time to restore {_duration(restore)}"
        )
    return lines


def _published(config: Config) -> Path:
    from fourkeys.publish import published_path

    return published_path(config.warehouse_path())


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


class _Rejected(Exception):
    """Slack answered with a client error (a revoked or mistyped webhook): not retried."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"Slack answered {status} {body[:60]}")


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, httpx.TransportError | _ServerError)


class _ServerError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"Slack answered {status}")


@retry(retry=retry_if_exception(_transient), stop=stop_after_attempt(3),
       wait=wait_exponential(multiplier=0.5, max=4), reraise=True)
def _post(url: str, payload: dict[str, Any]) -> None:
    response = httpx.post(url, json=payload, timeout=10.0)
    if response.status_code >= 500 or response.status_code == 429:
        raise _ServerError(response.status_code)
    if response.status_code >= 400:
        raise _Rejected(response.status_code, response.text)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPError):
        return type(exc).__name__  # httpx messages can quote the URL
    return str(exc)
