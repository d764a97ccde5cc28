"""The incident bot's own database (SQLite by default, PostgreSQL by URL): two tables.

Shared by the bot (which writes it, one transaction per command) and the `slack_bot` importer
(which reads it incrementally by `updated_at`). Times are UTC.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

incidents = Table(
    "bot_incidents",
    metadata,
    Column("incident_id", Integer, primary_key=True, autoincrement=True),
    Column("service", String(200), nullable=False),
    Column("severity", String(20), nullable=False),  # sev1 .. sev4
    Column("title", Text, nullable=False),
    Column("status", String(20), nullable=False),  # open | mitigated | resolved
    Column("channel_id", String(64)),
    Column("thread_ts", String(64)),  # the incident's thread in the channel
    Column("declared_by", String(64)),
    Column("started_at", DateTime(timezone=True), nullable=False),  # when it was declared
    Column("mitigated_at", DateTime(timezone=True)),
    Column("resolved_at", DateTime(timezone=True)),
    Column("cause_sha", String(64)),
    Column("cause_deployment_id", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("bot_incidents_updated_at", "updated_at"),
)

events = Table(
    "bot_incident_events",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", Integer, ForeignKey("bot_incidents.incident_id"), nullable=False),
    Column("kind", String(20), nullable=False),  # declared | mitigated | resolved | cause | note
    Column("actor", String(64)),
    Column("text", Text),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Index("bot_incident_events_incident", "incident_id"),
)
