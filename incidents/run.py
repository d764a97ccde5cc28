"""`fourkeys import-incidents` (also the last step of `extract`/`run`): every imported incident
source — the Slack bot's database, PagerDuty, CSV / JSON-lines files — into raw_incidents.

Two phases, so a user's mistake writes nothing: first every source is READ (files validated
whole, APIs paged, the bot database queried); only then is each source's batch (rows and
watermarks together) loaded, one transaction per source. A malformed file, a rejected token or
an unreachable API therefore stops the command before the first write. github_issues sources are
not imported here: `extractors/` reads them with the repository.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fourkeys.config import Config
from fourkeys.warehouse.base import Warehouse
from incidents.importers import SourceImport
from incidents.importers.bot_db import import_bot_database
from incidents.importers.csv_file import key_of, read_incident_file, retire
from incidents.importers.pagerduty import import_pagerduty
from incidents.tables import INCIDENTS

log = logging.getLogger(__name__)


@dataclass
class ImportSummary:
    rows: Counter[str] = field(default_factory=Counter)  # per source type
    requests: Counter[str] = field(default_factory=Counter)  # per API ("pagerduty")
    unchanged: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def line(self) -> str:
        rows = ", ".join(f"{s}={n}" for s, n in sorted(self.rows.items()))
        unchanged = f"; unchanged: {', '.join(self.unchanged)}" if self.unchanged else ""
        return (f"imported {self.total_rows} incidents ({rows or 'no sources'}) with "
                f"{sum(self.requests.values())} requests in {self.seconds:.1f}s{unchanged}")


def read_sources(config: Config, warehouse: Warehouse, *, since: datetime | None = None,
                 full_refresh: bool = False) -> list[SourceImport]:
    """Phase one: read every imported source; nothing is written."""
    run_started_at = datetime.now(UTC).replace(microsecond=0)
    reads: list[SourceImport] = []
    csv_marks = warehouse.watermarks("csv")
    files: set[str] = set()
    for source in config.incident_sources:
        if source.type == "csv":
            reads.append(read_incident_file(config, source, csv_marks,
                                            full_refresh=full_refresh))
            files.add(key_of(source))
    retired = retire(csv_marks, files)
    if retired is not None:
        reads.append(retired)
    if any(s.type == "slack_bot" for s in config.incident_sources):
        # one database, however many slack_bot entries name it
        reads.append(import_bot_database(config, warehouse.watermarks("slack_bot"),
                                         run_started_at=run_started_at, since=since,
                                         full_refresh=full_refresh))
    pd_marks = warehouse.watermarks("pagerduty") if any(
        s.type == "pagerduty" for s in config.incident_sources) else {}
    partitions: set[str] = set()
    for source in config.incident_sources:
        partition = source.pagerduty_service or "*"
        if source.type != "pagerduty" or partition in partitions:
            continue
        partitions.add(partition)
        reads.append(import_pagerduty(config, source, pd_marks, run_started_at=run_started_at,
                                      since=since, full_refresh=full_refresh))
    return reads


def import_incidents(config: Config, warehouse: Warehouse, *, since: datetime | None = None,
                     full_refresh: bool = False) -> ImportSummary:
    """Read every imported incident source, then load each one's batch."""
    started = time.monotonic()
    summary = ImportSummary()
    reads = read_sources(config, warehouse, since=since, full_refresh=full_refresh)
    if any(r.batch is not None for r in reads):
        warehouse.ensure_tables([INCIDENTS])
    for read in reads:
        if read.batch is not None:
            warehouse.load(read.batch)
        summary.rows[read.source] += read.rows
        if read.requests:
            summary.requests[read.source] += read.requests
        summary.unchanged += read.notes
    summary.seconds = time.monotonic() - started
    log.debug("incident sources read: %s", ", ".join(r.label for r in reads) or "none")
    return summary
