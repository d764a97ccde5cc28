"""Incident importers: the Slack bot's database, PagerDuty, CSV / JSON-lines files.

Each importer READS its source and returns a `SourceImport` (rows and watermarks in one
`LoadBatch`); `incidents.run` writes the batches only after every source was read, so a bad
token or a malformed file writes nothing, and a killed run leaves each source's batch whole or
absent (the warehouse applies a batch in one transaction).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fourkeys.warehouse.base import LoadBatch
from incidents.tables import INCIDENTS


@dataclass
class SourceImport:
    """What one source yields: `batch` is None when there is nothing to write (unchanged)."""

    source: str  # 'slack_bot' | 'pagerduty' | 'csv'
    label: str  # e.g. "csv incidents.csv", for the summary line
    batch: LoadBatch | None = None
    requests: int = 0
    notes: list[str] = field(default_factory=list)  # what was unchanged (not written)

    @property
    def rows(self) -> int:
        return self.batch.row_count() if self.batch else 0


def incident_row(source: str, external_id: str, **values: Any) -> dict[str, Any]:
    """A raw_incidents row with every column present (missing ones NULL)."""
    unknown = set(values) - set(INCIDENTS.columns)
    if unknown:  # a programming error, not a user's
        raise KeyError(f"raw_incidents has no column(s) {sorted(unknown)}")
    row: dict[str, Any] = dict.fromkeys(INCIDENTS.columns)
    row.update(values, source=source, external_id=external_id)
    return row


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already (SQLite drops zones)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_utc(text: str) -> datetime:
    """An ISO-8601 time with an offset (`Z` included) → aware UTC; ValueError otherwise."""
    parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("no UTC offset")
    return parsed.astimezone(UTC)


def iso(value: datetime) -> str:
    """UTC, seconds (microseconds when present), `Z`."""
    return as_utc(value).isoformat().replace("+00:00", "Z")
