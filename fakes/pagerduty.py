"""The fake PagerDuty REST API (v2), mounted at `/pagerduty`: incidents, their log entries,
services.

Reproduced from PagerDuty's REST API reference, derived from the scenario's `pagerduty` key:
- `Authorization: Token token=<key>` is required (401 otherwise); an `Accept` header, when sent,
  must ask for `application/vnd.pagerduty+json;version=2`;
- classic pagination: `limit` (default 25, at most 100) and `offset`, answers carry `limit`,
  `offset`, `more` and `total` (null unless `total=true`); offset + limit may not pass 10 000;
- `GET /incidents` filters by the `since`/`until` creation window (at most 6 months apart; with
  neither, the last 30 days; `date_range=all` ignores both), `service_ids[]`, `statuses[]` and
  `urgencies[]`, and sorts by `sort_by` (`created_at`, `incident_number`; `:asc`/`:desc`);
  `time_zone` must be UTC here (times are always rendered as UTC `Z`);
- an incident carries `resolved_at` and `last_status_change_at`, and `acknowledgements` only
  while it is acknowledged (PagerDuty empties the list when it resolves);
- `GET /incidents/{id}/log_entries` lists trigger / acknowledge / resolve entries, newest first.

`omit_fields` lets a test serve incidents without some fields (an older API shape) so a client's
fallback to the log entries is exercised.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from fakes.rest_builders import dumps
from fakes.rest_common import iso
from fakes.scenario import PagerDutyIncident, Scenario

AUTH_RE = re.compile(r"^\s*Token\s+token=\S+", re.IGNORECASE)
ACCEPT_VERSION_RE = re.compile(r"application/vnd\.pagerduty\+json;\s*version=(\d+)", re.I)
WEB = "https://fake.pagerduty.com"
DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET = 25, 100, 10_000
MAX_RANGE = timedelta(days=183)  # "the since and until options allow a maximum of 6 months"
SORTS = ("created_at", "incident_number")


class PagerDutyError(Exception):
    def __init__(self, status: int, message: str, code: int, *errors: str) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"error": {"message": message, "code": code}}
        if errors:
            self.body["error"]["errors"] = list(errors)


def _invalid(*errors: str) -> PagerDutyError:
    return PagerDutyError(400, "Invalid Input Provided", 2001, *errors)


def _time(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(f"{name} is not a valid date/time.") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _page(request: Request, items: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    q = request.query_params
    try:
        limit = int(q.get("limit", DEFAULT_LIMIT))
        offset = int(q.get("offset", 0))
    except ValueError:
        raise _invalid("limit and offset must be integers.") from None
    if limit < 1 or offset < 0:
        raise _invalid("limit must be positive and offset not negative.")
    limit = min(limit, MAX_LIMIT)
    if offset + limit > MAX_OFFSET:
        raise _invalid(f"Offset must be less than {MAX_OFFSET - limit + 1}.")
    page = items[offset : offset + limit]
    total = len(items) if q.get("total") == "true" else None
    return page, {"limit": limit, "offset": offset, "more": offset + limit < len(items),
                  "total": total}


class PagerDutyService:
    """Serves the scenario's PagerDuty services and incidents."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.services = {s.id: s for s in scenario.pagerduty.services}
        self.incidents = {i.id: i for i in scenario.pagerduty.incidents}
        self.omit_fields: frozenset[str] = frozenset()

    # --- bodies -----------------------------------------------------------------------------
    def _service_ref(self, base: str, service_id: str) -> dict[str, Any]:
        service = self.services.get(service_id)
        return {"id": service_id, "type": "service_reference",
                "summary": service.name if service else service_id,
                "self": f"{base}/services/{service_id}",
                "html_url": f"{WEB}/service-directory/{service_id}"}

    def incident_body(self, base: str, i: PagerDutyIncident) -> dict[str, Any]:
        changed = i.resolved_at if i.status == "resolved" else (
            i.acknowledged_at if i.status == "acknowledged" else None)
        updated = max(t for t in (i.created_at, i.acknowledged_at, i.resolved_at) if t)
        acks = []
        if i.status == "acknowledged" and i.acknowledged_at:
            acks = [{"at": iso(i.acknowledged_at),
                     "acknowledger": {"id": "PUSER01", "type": "user_reference",
                                      "summary": "On-call engineer"}}]
        body = {
            "id": i.id, "type": "incident", "summary": f"[#{i.incident_number}] {i.title}",
            "self": f"{base}/incidents/{i.id}", "html_url": f"{WEB}/incidents/{i.id}",
            "incident_number": i.incident_number, "title": i.title, "description": i.title,
            "created_at": iso(i.created_at), "updated_at": iso(updated), "status": i.status,
            "incident_key": None, "service": self._service_ref(base, i.service),
            "assignments": [], "assigned_via": "escalation_policy",
            "last_status_change_at": iso(changed or i.created_at),
            "resolved_at": iso(i.resolved_at) if i.status == "resolved" else None,
            "first_trigger_log_entry": {"id": f"T{i.id}", "type": "trigger_log_entry_reference",
                                        "self": f"{base}/log_entries/T{i.id}"},
            "alert_counts": {"all": 1, "triggered": int(i.status != "resolved"),
                             "resolved": int(i.status == "resolved")},
            "is_mergeable": True, "escalation_policy": None, "teams": [], "pending_actions": [],
            "acknowledgements": acks, "priority": None, "resolve_reason": None,
            "urgency": i.urgency,
        }
        for name in self.omit_fields:
            body.pop(name, None)
        return body

    def log_entries(self, base: str, i: PagerDutyIncident) -> list[dict[str, Any]]:
        events = [("trigger", i.created_at)]
        if i.acknowledged_at:
            events.append(("acknowledge", i.acknowledged_at))
        if i.status == "resolved" and i.resolved_at:
            events.append(("resolve", i.resolved_at))
        ref = {"id": i.id, "type": "incident_reference", "self": f"{base}/incidents/{i.id}"}
        entries = [
            {"id": f"{kind[0].upper()}{i.id}", "type": f"{kind}_log_entry",
             "summary": f"{kind.title()}d" if kind != "trigger" else "Triggered",
             "self": f"{base}/log_entries/{kind[0].upper()}{i.id}", "html_url": None,
             "created_at": iso(at), "incident": ref,
             "service": self._service_ref(base, i.service),
             "channel": {"type": "auto" if kind == "trigger" else "web_trigger"}}
            for kind, at in events
        ]
        return entries[::-1]  # newest first

    # --- endpoints --------------------------------------------------------------------------
    def list_incidents(self, request: Request, base: str) -> dict[str, Any]:
        q = request.query_params
        if q.get("time_zone", "UTC") not in ("UTC", "Etc/UTC"):
            raise _invalid("This fake renders times in UTC only; pass time_zone=UTC.")
        chosen = list(self.incidents.values())
        if q.get("date_range") != "all":
            now = datetime.fromtimestamp(time.time(), UTC)
            until = _time(q["until"], "until") if "until" in q else now
            since = _time(q["since"], "since") if "since" in q else until - timedelta(days=30)
            if until - since > MAX_RANGE:
                raise _invalid("Date Range must be less than 6 months.")
            chosen = [i for i in chosen if since <= i.created_at < until]
        for param, attr in (("service_ids[]", "service"), ("statuses[]", "status"),
                            ("urgencies[]", "urgency")):
            wanted = q.getlist(param)
            if wanted:
                chosen = [i for i in chosen if getattr(i, attr) in wanted]
        field, _, direction = q.get("sort_by", "created_at:asc").partition(":")
        if field not in SORTS or direction not in ("", "asc", "desc"):
            raise _invalid(f"sort_by must be one of {', '.join(SORTS)} with :asc or :desc.")
        chosen.sort(key=lambda i: (getattr(i, field), i.incident_number),
                    reverse=direction == "desc")
        page, meta = _page(request, chosen)
        return {"incidents": [self.incident_body(base, i) for i in page], **meta}

    def _incident(self, incident_id: str) -> PagerDutyIncident:
        incident = self.incidents.get(incident_id)
        if incident is None:
            raise PagerDutyError(404, "Not Found", 2100)
        return incident

    def list_services(self, request: Request, base: str) -> dict[str, Any]:
        query = request.query_params.get("query", "").lower()
        chosen = sorted((s for s in self.services.values() if query in s.name.lower()),
                        key=lambda s: s.name)
        page, meta = _page(request, chosen)
        return {"services": [self.service_body(base, s.id) for s in page], **meta}

    def service_body(self, base: str, service_id: str) -> dict[str, Any]:
        service = self.services.get(service_id)
        if service is None:
            raise PagerDutyError(404, "Not Found", 2100)
        return {**self._service_ref(base, service_id), "type": "service", "name": service.name,
                "status": "active", "description": None}

    def respond(self, request: Request, template: str) -> Response:
        if not AUTH_RE.match(request.headers.get("authorization", "")):
            return _json(401, {"error": {"message": "Authentication required", "code": 2006}})
        version = ACCEPT_VERSION_RE.search(request.headers.get("accept", ""))
        if version and version.group(1) != "2":
            return _json(400, {"error": {"message": "Unsupported API version", "code": 2001}})
        base = str(request.base_url).rstrip("/") + "/pagerduty"
        p = request.path_params
        try:
            if template.endswith("/incidents"):
                body = self.list_incidents(request, base)
            elif template.endswith("/log_entries"):
                entries = self.log_entries(base, self._incident(p["incident_id"]))
                page, meta = _page(request, entries)
                body = {"log_entries": page, **meta}
            elif template.endswith("/incidents/{incident_id}"):
                body = {"incident": self.incident_body(base, self._incident(p["incident_id"]))}
            elif template.endswith("/services"):
                body = self.list_services(request, base)
            else:
                body = {"service": self.service_body(base, p["service_id"])}
        except PagerDutyError as exc:
            return _json(exc.status, exc.body)
        return _json(200, body)


def _json(status: int, body: Any) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json",
                    headers={"x-request-id": f"fake-{time.monotonic_ns():x}"})


PAGERDUTY_ROUTES = (
    "/pagerduty/incidents",
    "/pagerduty/incidents/{incident_id}",
    "/pagerduty/incidents/{incident_id}/log_entries",
    "/pagerduty/services",
    "/pagerduty/services/{service_id}",
)
