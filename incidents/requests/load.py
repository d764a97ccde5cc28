"""`fourkeys import-requests`: count every file first, then load all of them in one batch.

Nothing is written unless every file parses: a bad line anywhere stops the import before the
warehouse is touched (not even the table is created). The batch replaces each file's previous
counts (`replace_by` log_file) and merges the new ones in one transaction, so importing a file
again — or a log that grew since — never counts a request twice.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fourkeys.config import Config
from fourkeys.errors import FourKeysError
from fourkeys.warehouse.base import LoadBatch, Warehouse
from incidents.requests.aggregate import FileCounts, ServiceRule, count_file, log_file_key
from incidents.requests.parse import minute_at
from incidents.tables import REQUEST_COUNTS

log = logging.getLogger(__name__)

FORMATS = ("auto", "json", "combined")


@dataclass
class ImportSummary:
    files: list[FileCounts] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(f.requests for f in self.files)

    @property
    def errors(self) -> int:
        return sum(f.errors for f in self.files)

    @property
    def rows(self) -> int:
        return sum(len(f.counts) for f in self.files)

    def services(self) -> list[str]:
        return sorted({service for f in self.files for service, _ in f.counts})

    def line(self) -> str:
        services = ", ".join(self.services()) or "none"
        partial = sum(f.partial_last_line for f in self.files)
        unfinished = (f"; {partial} unfinished last line(s) left for the next import"
                      if partial else "")
        return (f"imported {len(self.files)} request log(s): {self.requests} requests, "
                f"{self.errors} 5xx in {self.rows} service-minutes (services: {services}); "
                f"each file's earlier counts replaced{unfinished}")


def _check_files(files: list[Path]) -> list[Path]:
    """The files to read, each once (by identity), or one error line for the first bad one."""
    if not files:
        raise FourKeysError("no request log given; pass one or more FILE arguments")
    unique: dict[str, Path] = {}
    for path in files:
        if not path.exists():
            raise FourKeysError(f"{path}: no such file; check the path")
        if not path.is_file():
            raise FourKeysError(f"{path}: not a file; pass the log files themselves")
        key = log_file_key(path)
        if key in unique:
            log.debug("%s: given twice (as %s); read once", path, unique[key])
            continue
        unique[key] = path
    return list(unique.values())


def _rows(counts: FileCounts) -> list[dict[str, Any]]:
    return [{"log_file": counts.log_file, "service": service, "minute": minute_at(minute),
             "requests": cell[0], "errors": cell[1]}
            for (service, minute), cell in sorted(counts.counts.items())]


def import_request_logs(config: Config, warehouse: Warehouse, files: list[Path], *,
                        service: str | None = None, file_format: str = "auto") -> ImportSummary:
    """Request logs → `raw_request_counts` (per log file, service and UTC minute)."""
    if file_format not in FORMATS:
        raise FourKeysError(f"--format {file_format!r} is unknown; use one of "
                            f"{', '.join(FORMATS)}")
    configured = frozenset(s.name for s in config.services)
    rule = ServiceRule(default=service or config.requests.service,
                       field=config.requests.service_field, configured=configured)
    if service is not None and service not in configured:
        raise FourKeysError(f"--service: {rule.unknown(service)}")
    started_at = datetime.now(UTC)
    summary = ImportSummary()
    for path in _check_files(files):
        counts = count_file(path, file_format=file_format, rule=rule)
        log.debug("%s: %d requests (%s), %d service-minutes", path, counts.lines,
                 counts.file_format or "empty", len(counts.counts))
        summary.files.append(counts)

    batch = LoadBatch()
    for counts in summary.files:
        batch.add(REQUEST_COUNTS.name, _rows(counts))
        batch.replaced_parents.setdefault(REQUEST_COUNTS.name, []).append((counts.log_file,))
    warehouse.ensure_tables([REQUEST_COUNTS])
    warehouse.load(batch)
    warehouse.record_run({
        "run_id": uuid.uuid4().hex, "command": "import-requests", "started_at": started_at,
        "ended_at": datetime.now(UTC), "status": "success", "rows_loaded": summary.rows,
        "counts": {"files": len(summary.files), "requests": summary.requests,
                   "errors": summary.errors},
    })
    return summary
