"""PagerDuty incidents (REST API v2) → raw_incidents, incrementally.

Reading rule (docs/incidents.md): incidents are listed by their creation time, oldest first, in
windows of at most 179 days (PagerDuty refuses a `since`..`until` range over 6 months), 100 a
page. The first run starts at the account's (or service's) earliest incident — one `limit=1`
request with `date_range=all` finds it. The watermark (`_watermarks`, source "pagerduty",
partition = the configured `pagerduty_service` or "*") is the run's start: every incident
created before it has been read. A later run lists from the watermark minus one day (a late
incident is caught), and re-reads by id each incident that was still unresolved last time and was
created before that window (stream "open_incidents" holds their ids), so a resolution is never
missed and a quiet account costs one request per run.

Mapping: started_at = detected_at = created_at (PagerDuty's trigger is the first sign of the
problem); mitigated_at = NULL (an acknowledgement means someone is looking, not that the impact
ended); resolved_at = `resolved_at`, else `last_status_change_at` of a resolved incident, else
its latest resolve log entry (one more request, only for that incident).
"""

from __future__ import annotations

import logging
import os
import re
from datetime import datetime, timedelta
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from fourkeys.config import Config, IncidentSourceConfig
from fourkeys.errors import FourKeysError
from fourkeys.warehouse.base import LoadBatch, Watermark
from incidents.importers import SourceImport, incident_row, iso, parse_utc
from incidents.tables import INCIDENTS

log = logging.getLogger(__name__)
logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry full URLs

SOURCE = "pagerduty"
LOOKBACK = timedelta(days=1)
WINDOW = timedelta(days=179)
PAGE, MAX_OFFSET = 100, 10_000
ID_RE = re.compile(r"^P[A-Z0-9]{6,13}$")
ATTEMPTS = 5


class _Retriable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _backoff_base() -> float:
    """The project's backoff base (`FOURKEYS_RETRY_BASE_SECONDS`, as the extractors read it)."""
    try:
        return max(float(os.environ.get("FOURKEYS_RETRY_BASE_SECONDS", "") or 0.5), 0.0)
    except ValueError:
        return 0.5


class PagerDutyClient:
    """httpx + tenacity: 429, 5xx, timeouts and malformed JSON are retried with jittered
    backoff (never sooner than `Retry-After` / `ratelimit-reset`); 401 and other 4xx are one
    line. The key travels in a header and is never logged."""

    def __init__(self, api_url: str, token: str, token_env: str, timeout: float = 30.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.token_env = token_env
        self.requests = 0
        self._http = httpx.Client(timeout=timeout, headers={
            "Authorization": f"Token token={token}",
            "Accept": "application/vnd.pagerduty+json;version=2",
            "User-Agent": "fourkeys-importer"})

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: dict[str, Any], what: str,
            missing_ok: bool = False) -> dict[str, Any] | None:
        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            base = wait_random_exponential(multiplier=_backoff_base(), max=30)(state)
            after = exc.retry_after if isinstance(exc, _Retriable) else None
            return max(after or 0.0, base)

        retrying = Retrying(stop=stop_after_attempt(ATTEMPTS), wait=wait, reraise=True,
                            retry=retry_if_exception_type((_Retriable, httpx.TransportError)),
                            before_sleep=lambda s: log.info("retrying PagerDuty %s", what))
        try:
            return retrying(self._send, path, params, what, missing_ok)
        except _Retriable as exc:
            raise FourKeysError(f"PagerDuty {what}: gave up after {ATTEMPTS} attempts ({exc}); "
                                "PagerDuty is failing, re-run later (nothing was written)"
                                ) from None
        except httpx.TransportError as exc:
            raise FourKeysError(f"PagerDuty {what}: cannot reach {httpx.URL(self.api_url).host} "
                                f"({type(exc).__name__}); check [pagerduty] api_url and the "
                                "network") from None

    def _send(self, path: str, params: dict[str, Any], what: str,
              missing_ok: bool) -> dict[str, Any] | None:
        response = self._http.get(self.api_url + path, params=params)
        self.requests += 1
        status = response.status_code
        log.debug("pagerduty GET %s → %s", path, status)
        if status == 200:
            try:
                data = response.json()
            except ValueError:
                raise _Retriable(f"malformed JSON from {what}") from None
            if not isinstance(data, dict):
                raise _Retriable(f"unexpected JSON from {what}")
            return data
        if status == 429 or status >= 500:
            raw = response.headers.get("retry-after") or response.headers.get("ratelimit-reset")
            after = float(raw) if raw and raw.replace(".", "", 1).isdigit() else None
            raise _Retriable(f"HTTP {status}", after)
        if status == 401:
            raise FourKeysError(
                f"PagerDuty rejected the token in ${self.token_env} (401); create a REST API "
                f"key (read-only is enough) and export {self.token_env}=<key>")
        if status == 404 and missing_ok:
            return None
        message = _error_message(response)
        if status == 403:
            raise FourKeysError(f"PagerDuty refused {what} (403 {message}); the key in "
                                f"${self.token_env} cannot read it: use a key with access")
        raise FourKeysError(f"PagerDuty {what}: HTTP {status} {message}; check [pagerduty] "
                            "api_url and the source's pagerduty_service")


def _error_message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error") or {}
        parts = [str(error.get("message") or ""), *map(str, error.get("errors") or [])]
    except (ValueError, AttributeError):
        parts = [response.text[:120]]
    return " ".join(" ".join(p for p in parts if p).split())[:200]


def _resolve_service(client: PagerDutyClient, wanted: str) -> str:
    """`pagerduty_service` (an id or a name) → the service id."""
    if ID_RE.match(wanted):
        found = client.get(f"/services/{wanted}", {}, f"service {wanted}", missing_ok=True)
        if found is not None:
            return wanted
    data = client.get("/services", {"query": wanted, "limit": PAGE}, f"services named {wanted}")
    for service in (data or {}).get("services") or []:
        if str(service.get("name", "")).lower() == wanted.lower():
            return str(service["id"])
    raise FourKeysError(f"PagerDuty has no service {wanted!r} (by id or name); fix "
                        "pagerduty_service in [[incident_sources]]")


class _Reader:
    """One PagerDuty incident source: lists, re-reads the open ones, maps to rows."""

    def __init__(self, client: PagerDutyClient, source: IncidentSourceConfig,
                 services: list[str], service_id: str | None) -> None:
        self.client, self.source = client, source
        self.services = services
        self.service_id = service_id
        self.found: dict[str, dict[str, Any]] = {}
        self.base: dict[str, Any] = {"time_zone": "UTC", "sort_by": "created_at:asc"}
        if service_id:
            self.base["service_ids[]"] = [service_id]
        if set(source.urgencies) != {"high", "low"}:  # filtered by PagerDuty: fewer pages
            self.base["urgencies[]"] = list(source.urgencies)

    def earliest(self) -> datetime | None:
        data = self.client.get("/incidents", {**self.base, "date_range": "all", "limit": 1},
                               "incidents (earliest)") or {}
        first = data.get("incidents") or []
        return parse_utc(first[0]["created_at"]) if first else None

    def list_window(self, since: datetime, until: datetime) -> None:
        offset = 0
        while True:
            params = {**self.base, "since": iso(since), "until": iso(until), "offset": offset,
                      "limit": PAGE}
            data = self.client.get("/incidents", params, "incidents") or {}
            items = data.get("incidents") or []
            self.found.update((str(i["id"]), i) for i in items)
            if not data.get("more") or not items:
                return
            offset += len(items)
            if offset + PAGE > MAX_OFFSET:  # past PagerDuty's offset cap: go on from the time
                last = parse_utc(items[-1]["created_at"])
                if last <= since:
                    raise FourKeysError(f"PagerDuty: over {MAX_OFFSET} incidents created at "
                                        f"{iso(since)}; narrow the source with pagerduty_service")
                since, offset = last, 0

    def reread(self, incident_id: str) -> None:
        data = self.client.get(f"/incidents/{incident_id}", {}, f"incident {incident_id}",
                               missing_ok=True)
        if data is None:
            log.info("pagerduty: incident %s is gone (404); keeping what was imported",
                     incident_id)
            return
        self.found[incident_id] = data["incident"]

    def resolved_at(self, incident: dict[str, Any]) -> str | None:
        if incident.get("status") != "resolved":
            return None
        if incident.get("resolved_at") or incident.get("last_status_change_at"):
            return incident.get("resolved_at") or incident.get("last_status_change_at")
        times: list[str] = []
        offset = 0
        while True:  # an older API shape: the resolve log entry has the time
            data = self.client.get(f"/incidents/{incident['id']}/log_entries",
                                   {"is_overview": "true", "time_zone": "UTC", "limit": PAGE,
                                    "offset": offset}, f"incident {incident['id']} log") or {}
            entries = data.get("log_entries") or []
            times += [e["created_at"] for e in entries if e.get("type") == "resolve_log_entry"]
            if not data.get("more") or not entries:
                break
            offset += len(entries)
        return max(times, key=parse_utc) if times else None

    def service_of(self, incident: dict[str, Any]) -> str | None:
        if self.service_id and self.source.service:
            return self.source.service
        name = str((incident.get("service") or {}).get("summary") or "")
        if name in self.services:
            return name
        folded = [s for s in self.services if s.lower() == name.lower()]
        return folded[0] if len(folded) == 1 else self.source.service

    def row(self, incident: dict[str, Any]) -> dict[str, Any]:
        priority = incident.get("priority") or {}
        severity = priority.get("summary") or priority.get("name") or incident.get("urgency")
        texts = [incident.get("title"), incident.get("description")]
        cause = "\n".join(dict.fromkeys(str(t) for t in texts if t)) or None
        created = incident["created_at"]
        return incident_row(
            SOURCE, str(incident["id"]), service=self.service_of(incident),
            severity=str(severity).lower() if severity else None, title=incident.get("title"),
            url=incident.get("html_url"), status=incident.get("status"), cause_text=cause,
            created_at=created, started_at=created, detected_at=created,
            resolved_at=self.resolved_at(incident), updated_at=incident.get("updated_at"),
            origin=(incident.get("service") or {}).get("id"))


def import_pagerduty(config: Config, source: IncidentSourceConfig,
                     marks: dict[tuple[str, str], Watermark], *, run_started_at: datetime,
                     since: datetime | None = None, full_refresh: bool = False) -> SourceImport:
    """Read one pagerduty incident source; the batch carries its rows and watermarks."""
    assert config.pagerduty is not None  # config validation guarantees it
    partition = source.pagerduty_service or "*"
    result = SourceImport(SOURCE, f"pagerduty {partition}")
    token = config.pagerduty_token()
    client = PagerDutyClient(config.pagerduty.api_url, token, config.pagerduty.token_env)
    try:
        known = marks.get((partition, "service_id"))
        service_id = None
        if source.pagerduty_service:
            service_id = (known.value if known and known.value and not full_refresh
                          else _resolve_service(client, source.pagerduty_service))
        reader = _Reader(client, source, [s.name for s in config.services], service_id)
        mark = None if full_refresh else marks.get((partition, "incidents"))
        start = parse_utc(mark.value) - LOOKBACK if mark and mark.value else None
        if since is not None:  # --since: a backfill depth, never a gap after the watermark
            start = min(since, start) if start else since
        if start is None:
            start = reader.earliest()
        window = start
        while window is not None and window < run_started_at:
            end = min(window + WINDOW, run_started_at)
            reader.list_window(window, end)
            window = end
        open_before = marks.get((partition, "open_incidents"))
        if open_before and open_before.value and not full_refresh:
            for incident_id in open_before.value.split(","):
                if incident_id not in reader.found:
                    reader.reread(incident_id)
        rows = [reader.row(i) for i in reader.found.values()]
    finally:
        client.close()
        result.requests = client.requests
    still_open = sorted(r["external_id"] for r in rows if r["status"] != "resolved")
    batch = LoadBatch()
    batch.add(INCIDENTS.name, rows)
    batch.watermarks += [
        Watermark(SOURCE, partition, "incidents", iso(run_started_at)),
        Watermark(SOURCE, partition, "open_incidents", ",".join(still_open) or None),
    ]
    if service_id:
        batch.watermarks.append(Watermark(SOURCE, partition, "service_id", service_id))
    result.batch = batch
    return result
