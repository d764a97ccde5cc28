"""The warehouse interface every backend implements (DuckDB now; BigQuery behind the same shape).

A `LoadBatch` is the unit of idempotence: rows for several raw tables plus the watermarks they
justify. A backend applies it in one transaction, so a killed run either wrote a batch whole
(data and watermark) or not at all; re-running merges on natural keys and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class Table:
    """A raw table: name, natural primary key, typed columns (DuckDB type names)."""

    name: str
    primary_key: tuple[str, ...]
    columns: dict[str, str]
    # children are replaced whole per parent key (e.g. a PR's commits after a force-push)
    replace_by: tuple[str, ...] = ()

    def all_columns(self) -> dict[str, str]:
        return {**self.columns, "_extracted_at": "TIMESTAMPTZ"}


@dataclass(frozen=True)
class Watermark:
    source: str  # "github" | "heroku"
    partition: str  # repository "owner/name" or Heroku app
    stream: str
    value: str | None  # ISO-8601 UTC timestamp or a source-specific cursor (Heroku version)
    etag: str | None = None


@dataclass
class LoadBatch:
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # parents whose children are replaced: table name → list of replace_by key tuples
    replaced_parents: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    watermarks: list[Watermark] = field(default_factory=list)

    def add(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        self.rows.setdefault(table, []).extend(rows)

    def row_count(self) -> int:
        return sum(len(r) for r in self.rows.values())

    def extend(self, other: LoadBatch) -> None:
        """Take `other`'s rows, replaced parents and watermarks (loaded in one transaction)."""
        for table, rows in other.rows.items():
            self.add(table, rows)
        for table, parents in other.replaced_parents.items():
            self.replaced_parents.setdefault(table, []).extend(parents)
        self.watermarks.extend(other.watermarks)


class Warehouse(Protocol):
    def ensure_tables(self, tables: Iterable[Table]) -> None: ...

    def load(self, batch: LoadBatch) -> None: ...

    def watermarks(self, source: str) -> dict[tuple[str, str], Watermark]: ...

    def read_rows(self, table: Table) -> list[dict[str, Any]]: ...

    def stream_counts(self, source: str, streams: dict[str, tuple[str, str, int]],
                      since: datetime) -> dict[tuple[str, str], tuple[int, int]]: ...

    def stored_keys(self, source: str,
                    streams: dict[str, tuple[str, str, str, str, int, str | None]],
                    ) -> dict[tuple[str, str], dict[str, Any]]: ...

    def reset_watermarks(self, source: str, partitions: Iterable[str]) -> None: ...

    def record_run(self, run: dict[str, Any]) -> None: ...

    def close(self) -> None: ...
