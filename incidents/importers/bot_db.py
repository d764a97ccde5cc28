"""The Slack incident bot's own database → raw_incidents, incrementally by `updated_at`.

The bot writes `bot_incidents` (one transaction per command, `updated_at` set on every change);
this importer only reads it — SQLite is opened read-only, so the bot keeps writing while we
read. Rows with `updated_at` at or after the watermark minus `OVERLAP` are read again: a bot
transaction that stamped its row just before our last read but committed just after is still
picked up. The watermark (source "slack_bot", partition = the database URL without password) is
the latest `updated_at` read, never past the run's start.

Mapping: external_id = incident_id; started_at = the bot's started_at; detected_at = created_at
(when it was declared in Slack); mitigated_at / resolved_at as the bot recorded them; cause_text =
cause_sha; named_deployment_id = cause_deployment_id; url = the Slack thread, when the bot talks
to Slack itself (a fake or proxy API URL gives no usable link).
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from fourkeys.config import Config
from fourkeys.errors import FourKeysError
from fourkeys.warehouse.base import LoadBatch, Watermark
from incidents.bot.schema import incidents as bot_incidents
from incidents.importers import SourceImport, as_utc, incident_row, iso, parse_utc
from incidents.tables import INCIDENTS

log = logging.getLogger(__name__)

SOURCE = "slack_bot"
OVERLAP = timedelta(minutes=10)
SLACK_API = "https://slack.com/api/"


def _engine(url: str) -> tuple[Engine | None, str]:
    """A read-only engine and the URL to name in messages; (None, …) when the SQLite file does
    not exist yet (the bot has not run)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise FourKeysError(f"[slack] bot_database {url!r} is not a database URL; use a file "
                            "path or postgresql://USER@HOST/DB") from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not parsed.database or not path.is_file():
            return None, shown
        uri = f"{path.resolve().as_uri()}?mode=ro"
        return create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True)), shown
    try:
        return create_engine(parsed, execution_options={"postgresql_readonly": True}), shown
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise FourKeysError(f"{shown}: no driver for this database ({exc}); install it, e.g. "
                            "pip install psycopg2-binary") from None


def _thread_url(config: Config, channel: str | None, ts: str | None) -> str | None:
    if not channel or not ts or config.slack.api_url != SLACK_API:
        return None
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


def _time(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None


def _row(config: Config, r: Any) -> dict[str, Any]:
    return incident_row(
        SOURCE, str(r.incident_id), service=r.service, severity=r.severity, title=r.title,
        url=_thread_url(config, r.channel_id, r.thread_ts), status=r.status,
        cause_text=r.cause_sha, named_deployment_id=r.cause_deployment_id,
        created_at=_time(r.created_at), started_at=_time(r.started_at),
        detected_at=_time(r.created_at), mitigated_at=_time(r.mitigated_at),
        resolved_at=_time(r.resolved_at), updated_at=_time(r.updated_at), origin=r.channel_id)


def import_bot_database(config: Config, marks: dict[tuple[str, str], Watermark], *,
                        run_started_at: datetime, since: datetime | None = None,
                        full_refresh: bool = False) -> SourceImport:
    """Read the bot's incidents changed since the watermark."""
    engine, shown = _engine(config.bot_database_url())
    result = SourceImport(SOURCE, "slack_bot")
    if engine is None:
        log.info("slack_bot: no bot database at %s yet; nothing to import", shown)
        return result
    mark = None if full_refresh else marks.get((shown, "bot_incidents"))
    lower = parse_utc(mark.value) - OVERLAP if mark and mark.value else None
    if since is not None:
        lower = min(since, lower) if lower else since
    try:
        with engine.connect() as con:
            if not inspect(con).has_table(bot_incidents.name):
                log.info("slack_bot: %s has no bot_incidents table yet; nothing to import", shown)
                return result
            query = select(bot_incidents).order_by(bot_incidents.c.updated_at)
            if lower is not None:
                # SQLite compares the stored text: bind a naive UTC time like the stored ones
                bound = lower if engine.dialect.name != "sqlite" else lower.replace(tzinfo=None)
                query = query.where(bot_incidents.c.updated_at >= bound)
            records = con.execute(query).fetchall()
    except SQLAlchemyError as exc:
        first = (str(getattr(exc, "orig", None) or exc).splitlines() or ["?"])[0]
        raise FourKeysError(f"{shown}: cannot read the bot database ({first}); check [slack] "
                            "bot_database") from None
    finally:
        engine.dispose()
    batch = LoadBatch()
    batch.add(INCIDENTS.name, [_row(config, r) for r in records])
    if records:
        latest = min(max(as_utc(r.updated_at) for r in records), run_started_at)
        batch.watermarks.append(Watermark(SOURCE, shown, "bot_incidents", iso(latest)))
    result.batch = batch
    return result
