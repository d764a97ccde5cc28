"""The bot's database: one transaction per command, safe under concurrent requests.

SQLite (the default) gets WAL, a busy timeout and `BEGIN IMMEDIATE`: every transaction takes
the write lock up front, so two commands on one incident queue behind each other instead of
one failing to upgrade a read lock (SQLITE_BUSY, a lost write). PostgreSQL gets row locks
(`SELECT … FOR UPDATE`). Every change to an incident sets `updated_at`, which the importer
reads incrementally. Times are stored as UTC.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, insert, select, update
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from fourkeys.errors import FourKeysError
from incidents.bot.schema import events, incidents, metadata

log = logging.getLogger(__name__)

BUSY_TIMEOUT_SECONDS = 30
ACTIVE = ("open", "mitigated")


@dataclass(frozen=True, slots=True)
class Incident:
    incident_id: int
    service: str
    severity: str
    title: str
    status: str
    channel_id: str | None
    thread_ts: str | None
    declared_by: str | None
    started_at: datetime
    mitigated_at: datetime | None
    resolved_at: datetime | None
    cause_sha: str | None
    cause_deployment_id: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Event:
    event_id: int
    incident_id: int
    kind: str
    actor: str | None
    text: str | None
    occurred_at: datetime


class NotFound(Exception):
    """No incident with that id."""


class Refused(Exception):
    """The change makes no sense for the incident's state (e.g. mitigating a resolved one)."""


def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they were written as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _row_incident(row: Any) -> Incident:
    data = dict(row._mapping)
    for key in ("started_at", "mitigated_at", "resolved_at", "created_at", "updated_at"):
        data[key] = _utc(data[key])
    return Incident(**data)


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS,
                                              "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _shown(url: str) -> str:
    """The URL without its password (it may hold one)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not an SQLAlchemy URL)"


def open_engine(url: str) -> Engine:
    """An engine for `url` with the tables created; a bad URL or missing driver is a
    FourKeysError naming [slack] bot_database."""
    try:
        engine = _sqlite_engine(url) if url.startswith("sqlite") else create_engine(
            url, pool_pre_ping=True)
        metadata.create_all(engine)
    except (ArgumentError, ModuleNotFoundError, SQLAlchemyError, OSError) as exc:
        raise FourKeysError(
            f"[slack] bot_database {_shown(url)}: cannot open it ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0]}); fix the path/URL or install its driver"
        ) from None
    return engine


class IncidentStore:
    """Reads and writes `bot_incidents` / `bot_incident_events`; each write method is one
    transaction that changes the incident and appends its timeline event together."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> IncidentStore:
        return cls(open_engine(url))

    # --- reads ------------------------------------------------------------------------

    def get(self, incident_id: int) -> Incident | None:
        with self.engine.begin() as conn:
            row = conn.execute(
                select(incidents).where(incidents.c.incident_id == incident_id)).first()
        return _row_incident(row) if row else None

    def active(self, channel_id: str | None = None) -> list[Incident]:
        """Incidents not yet resolved, oldest first; only `channel_id`'s if given."""
        query = select(incidents).where(incidents.c.status.in_(ACTIVE))
        if channel_id is not None:
            query = query.where(incidents.c.channel_id == channel_id)
        with self.engine.begin() as conn:
            rows = conn.execute(query.order_by(incidents.c.incident_id)).fetchall()
        return [_row_incident(r) for r in rows]

    def timeline(self, incident_id: int) -> list[Event]:
        query = (select(events).where(events.c.incident_id == incident_id)
                 .order_by(events.c.occurred_at, events.c.event_id))
        with self.engine.begin() as conn:
            rows = conn.execute(query).fetchall()
        return [Event(**{**r._mapping, "occurred_at": _utc(r.occurred_at)}) for r in rows]

    def count_events(self) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(select(func.count()).select_from(events)).scalar_one())

    # --- writes -----------------------------------------------------------------------

    def declare(self, *, service: str, severity: str, title: str, channel_id: str | None,
                actor: str | None, at: datetime) -> Incident:
        at = at.astimezone(UTC)
        with self.engine.begin() as conn:
            key = conn.execute(insert(incidents).values(
                service=service, severity=severity, title=title, status="open",
                channel_id=channel_id, declared_by=actor, started_at=at, created_at=at,
                updated_at=at)).inserted_primary_key
            if key is None:
                raise RuntimeError("the database did not return the new incident's id")
            incident_id = key[0]
            conn.execute(insert(events).values(incident_id=incident_id, kind="declared",
                                               actor=actor, text=title, occurred_at=at))
            row = conn.execute(
                select(incidents).where(incidents.c.incident_id == incident_id)).one()
        return _row_incident(row)

    def mitigate(self, incident_id: int, *, actor: str | None, at: datetime) -> Incident:
        def change(current: Incident, at: datetime) -> dict[str, Any]:
            if current.status != "open":
                raise Refused(f"#{incident_id} is already {current.status}")
            return {"status": "mitigated", "mitigated_at": at}

        return self._change(incident_id, "mitigated", actor, None, at, change)

    def resolve(self, incident_id: int, *, actor: str | None, at: datetime) -> Incident:
        def change(current: Incident, at: datetime) -> dict[str, Any]:
            if current.status == "resolved":
                raise Refused(f"#{incident_id} is already resolved")
            return {"status": "resolved", "resolved_at": at}

        return self._change(incident_id, "resolved", actor, None, at, change)

    def set_cause(self, incident_id: int, *, sha: str | None, deployment_id: str | None,
                  actor: str | None, at: datetime) -> Incident:
        """The latest cause wins: naming a commit clears a named deployment and vice versa,
        so the incident never points at two different failures."""
        text = sha or deployment_id
        return self._change(incident_id, "cause", actor, text, at, lambda _current, _at: {
            "cause_sha": sha, "cause_deployment_id": deployment_id})

    def add_note(self, incident_id: int, *, text: str, actor: str | None,
                 at: datetime) -> Incident:
        return self._change(incident_id, "note", actor, text, at, lambda _current, _at: {})

    def set_thread(self, incident_id: int, *, channel_id: str, thread_ts: str,
                   at: datetime) -> None:
        """Where the incident's Slack thread is (after the announcement was posted)."""
        with self.engine.begin() as conn:
            conn.execute(update(incidents).where(incidents.c.incident_id == incident_id)
                         .values(channel_id=channel_id, thread_ts=thread_ts,
                                 updated_at=at.astimezone(UTC)))

    def _change(self, incident_id: int, kind: str, actor: str | None, text: str | None,
                at: datetime, change: Callable[[Incident, datetime], dict[str, Any]]) -> Incident:
        """Lock the incident, apply `change` (which may refuse), append the event, all in
        one transaction."""
        at = at.astimezone(UTC)
        with self.engine.begin() as conn:
            row = conn.execute(select(incidents).where(incidents.c.incident_id == incident_id)
                               .with_for_update()).first()
            if row is None:
                raise NotFound(f"no incident #{incident_id}")
            values = {**change(_row_incident(row), at), "updated_at": at}
            conn.execute(update(incidents).where(incidents.c.incident_id == incident_id)
                         .values(**values))
            conn.execute(insert(events).values(incident_id=incident_id, kind=kind,
                                               actor=actor, text=text, occurred_at=at))
            row = conn.execute(
                select(incidents).where(incidents.c.incident_id == incident_id)).one()
        return _row_incident(row)
