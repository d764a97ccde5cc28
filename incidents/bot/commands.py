"""`/incident …` text and button clicks → a store change, the reply, and what to tell Slack.

Everything a person can mistype ends as a short ephemeral reply with the usage, never an
exception: Slack shows a 500 as "failed with the error dispatch_failed", which helps nobody.
An id can be left out when the channel has exactly one unresolved incident; otherwise the
reply lists the unresolved ids so the next attempt can name one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from incidents.bot.slack import fmt_time, thread_text
from incidents.bot.store import Incident, IncidentStore, NotFound, Refused

USAGE = (
    "Usage:\n"
    "`/incident declare <service> <sev1-4> <title>`\n"
    "`/incident mitigated [id]` · `/incident resolved [id]`\n"
    "`/incident cause <commit-sha|deployment-id> [id]`\n"
    "`/incident note [#id] <text>` · `/incident status [id]` · `/incident help`"
)
SEVERITY_RE = re.compile(r"^(?:sev-?)?([1-4])$", re.IGNORECASE)
ID_RE = re.compile(r"^#?(\d{1,9})$")
SHA_RE = re.compile(r"^[0-9a-f]{7,40}$")
ALIASES = {"mitigate": "mitigated", "resolve": "resolved", "notes": "note", "?": "help"}
TIMELINE_SHOWN = 10


@dataclass(frozen=True, slots=True)
class Who:
    """Who typed or clicked, and in which channel."""

    user_id: str | None
    channel_id: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The ephemeral reply, and the Slack posts it calls for (made after the reply)."""

    text: str
    incident_id: int | None = None
    announce: bool = False  # post the incident's root message (its thread)
    thread_reply: str | None = None  # post this in the incident's thread
    refresh: bool = False  # update the root message (status, buttons)


def parse_severity(token: str) -> str | None:
    """sev1..sev4, 1..4, SEV2, sev-2 → 'sev2'; anything else → None."""
    match = SEVERITY_RE.match(token)
    return f"sev{match.group(1)}" if match else None


def parse_id(token: str) -> int | None:
    match = ID_RE.match(token)
    return int(match.group(1)) if match else None


class IncidentCommands:
    """The bot's behaviour, free of HTTP: called from a worker thread per request."""

    def __init__(self, store: IncidentStore, services: Sequence[str],
                 now: Callable[[], datetime]) -> None:
        self.store = store
        self.services = list(services)
        self.now = now

    def run(self, text: str, who: Who) -> Outcome:
        words = text.split()
        verb = ALIASES.get(words[0].lower(), words[0].lower()) if words else "help"
        args = words[1:]
        try:
            if verb == "help":
                return Outcome(USAGE)
            if verb == "declare":
                return self._declare(args, who)
            if verb in ("mitigated", "resolved", "status") and len(args) <= 1:
                return self._by_verb(verb, args[0] if args else None, who)
            if verb == "cause" and len(args) in (1, 2):
                return self._cause(args[0], args[1] if len(args) == 2 else None, who)
            if verb == "note" and args:
                return self._note(args, who)
        except NotFound as exc:
            return Outcome(f"{exc}. {self._open_list(None)}")
        except Refused as exc:
            return Outcome(f"{exc}; nothing changed.")
        except _Usage as exc:
            return Outcome(f"{exc}\n{USAGE}")
        return Outcome(f"I did not understand `/incident {text.strip()}`.\n{USAGE}")

    def click(self, action_id: str, value: str, who: Who) -> Outcome:
        """A button on the incident's root message; `value` is the incident id."""
        verb = {"incident_mitigated": "mitigated", "incident_resolved": "resolved"}.get(action_id)
        incident_id = parse_id(value)
        if verb is None or incident_id is None:
            return Outcome(f"Unknown action {action_id!r}.")
        try:
            return self._by_verb(verb, str(incident_id), who)
        except (NotFound, Refused, _Usage) as exc:
            return Outcome(f"{exc}; nothing changed.")

    # --- one method per command ---------------------------------------------------------

    def _declare(self, args: list[str], who: Who) -> Outcome:
        if len(args) < 3:
            raise _Usage("Declare needs a service, a severity and a title.")
        service = self._service(args[0])
        severity = parse_severity(args[1])
        if severity is None:
            raise _Usage(f"Severity {args[1]!r} is not one of sev1, sev2, sev3, sev4.")
        title = " ".join(args[2:])
        incident = self.store.declare(service=service, severity=severity, title=title,
                                      channel_id=who.channel_id, actor=who.user_id,
                                      at=self.now())
        return Outcome(
            f"Declared incident #{incident.incident_id} ({severity}, {service}): {title}. "
            f"Later: `/incident mitigated {incident.incident_id}`.",
            incident.incident_id, announce=True)

    def _by_verb(self, verb: str, id_token: str | None, who: Who) -> Outcome:
        incident = self._target(verb, id_token, who)
        if verb == "status":
            return Outcome(self._status(incident), incident.incident_id)
        change = self.store.mitigate if verb == "mitigated" else self.store.resolve
        after = change(incident.incident_id, actor=who.user_id, at=self.now())
        at = after.mitigated_at if verb == "mitigated" else after.resolved_at
        return Outcome(f"#{after.incident_id} is {after.status} ({fmt_time(at)}).",
                       after.incident_id, thread_reply=thread_text(verb, after, who.user_id),
                       refresh=True)

    def _cause(self, ref: str, id_token: str | None, who: Who) -> Outcome:
        incident = self._target("cause", id_token, who)
        is_sha = bool(SHA_RE.match(ref.lower()))
        after = self.store.set_cause(
            incident.incident_id, sha=ref.lower() if is_sha else None,
            deployment_id=None if is_sha else ref, actor=who.user_id, at=self.now())
        what = f"commit `{ref.lower()}`" if is_sha else f"deployment `{ref}`"
        return Outcome(f"Cause of #{after.incident_id} set to {what}.", after.incident_id,
                       thread_reply=thread_text("cause", after, who.user_id), refresh=True)

    def _note(self, args: list[str], who: Who) -> Outcome:
        explicit = args[0] if args[0].startswith("#") and parse_id(args[0]) else None
        words = args[1:] if explicit else args
        if not words:
            raise _Usage("A note needs some text.")
        incident = self._target("note", explicit, who)
        text = " ".join(words)
        after = self.store.add_note(incident.incident_id, text=text, actor=who.user_id,
                                    at=self.now())
        return Outcome(f"Noted on #{after.incident_id}.", after.incident_id,
                       thread_reply=thread_text("note", after, who.user_id, text))

    # --- helpers ----------------------------------------------------------------------

    def _service(self, token: str) -> str:
        by_name = {s.lower(): s for s in self.services}
        if token.lower() in by_name:
            return by_name[token.lower()]
        raise _Usage(f"Unknown service {token!r}; configured: {', '.join(self.services)}.")

    def _target(self, verb: str, id_token: str | None, who: Who) -> Incident:
        if id_token is not None:
            incident_id = parse_id(id_token)
            if incident_id is None:
                raise _Usage(f"{id_token!r} is not an incident id (a number such as 12).")
            incident = self.store.get(incident_id)
            if incident is None:
                raise NotFound(f"No incident #{incident_id}")
            return incident
        here = self.store.active(who.channel_id)
        if len(here) == 1:
            return here[0]
        if here:
            raise _Usage(f"{len(here)} incidents are open in this channel: "
                         f"{_ids(here)}; name one, e.g. `/incident {verb} "
                         f"{here[-1].incident_id}`.")
        raise _Usage(f"No open incident in this channel. {self._open_list(verb)}")

    def _open_list(self, verb: str | None) -> str:
        everywhere = self.store.active()
        if not everywhere:
            return "No incident is open."
        hint = f" e.g. `/incident {verb} {everywhere[-1].incident_id}`" if verb else ""
        return f"Open: {_ids(everywhere)}.{hint}"

    def _status(self, incident: Incident) -> str:
        lines = [f"#{incident.incident_id} {incident.severity} {incident.service}: "
                 f"{incident.title}", f"status {incident.status} · declared "
                 f"{fmt_time(incident.started_at)}"]
        if incident.mitigated_at:
            lines[-1] += f" · mitigated {fmt_time(incident.mitigated_at)}"
        if incident.resolved_at:
            lines[-1] += f" · resolved {fmt_time(incident.resolved_at)}"
        if incident.cause_sha or incident.cause_deployment_id:
            lines.append(f"cause: {incident.cause_sha or incident.cause_deployment_id}")
        timeline = self.store.timeline(incident.incident_id)
        for event in timeline[-TIMELINE_SHOWN:]:
            who = f" <@{event.actor}>" if event.actor else ""
            detail = f": {event.text}" if event.text and event.kind != "declared" else ""
            lines.append(f"• {fmt_time(event.occurred_at)} {event.kind}{who}{detail}")
        return "\n".join(lines)


class _Usage(Exception):
    """A mistyped command: the message, followed by the usage."""


def _ids(items: list[Incident]) -> str:
    return ", ".join(f"#{i.incident_id} ({i.service}, {i.severity})" for i in items)
