"""GitHub's timestamps: ISO-8601 with `Z` ↔ aware datetimes (watermarks, `since` filters)."""

from __future__ import annotations

from datetime import datetime


def parse_ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
