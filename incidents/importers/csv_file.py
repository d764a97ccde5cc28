"""Incidents from a CSV or JSON-lines file → raw_incidents (columns in docs/incidents.md).

The file is the source of truth for its rows: the whole file is validated first (any bad row is
one line `FILE:LINE: <column>: <what is wrong>; <fix>` and nothing is written), then its rows
replace every row the file loaded before, in one transaction — an incident deleted from the file
leaves the warehouse too. The watermark (source "csv", partition = the path as configured) is a
hash of the file's bytes and the source's default service: an unchanged file is not written at
all. A file no longer configured has its rows removed the same way (see `retire`).

Times are ISO-8601 with an offset (`2026-01-07T15:00:00Z`, `…+01:00`); a time without one is
rejected rather than guessed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fourkeys.config import Config, IncidentSourceConfig
from fourkeys.errors import FourKeysError
from fourkeys.warehouse.base import LoadBatch, Watermark
from incidents.importers import SourceImport, incident_row, iso, parse_utc
from incidents.tables import INCIDENTS

log = logging.getLogger(__name__)

SOURCE = "csv"
STREAM = "file"
COLUMNS = ("id", "service", "severity", "title", "url", "started_at", "detected_at",
           "mitigated_at", "resolved_at", "cause", "deployment_id")
TIMES = ("started_at", "detected_at", "mitigated_at", "resolved_at")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")


@dataclass(frozen=True)
class _Where:
    file: str
    line: int

    def fail(self, column: str, problem: str) -> FourKeysError:
        return FourKeysError(f"{self.file}:{self.line}: {column}: {problem}")


def _records(text: str, shown: str, jsonl: bool) -> list[tuple[_Where, dict[str, Any]]]:
    """(where, {column: value}) for every record; unknown or mis-shaped ones fail."""
    out: list[tuple[_Where, dict[str, Any]]] = []
    if jsonl:
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            where = _Where(shown, number)
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise where.fail("(line)", f"not valid JSON ({exc.msg}, column {exc.colno}); "
                                 "write one JSON object per line") from None
            if not isinstance(record, dict):
                raise where.fail("(line)", "is not a JSON object; write one object per line, "
                                 'e.g. {"id": "INC-1", "started_at": "2026-01-07T15:00:00Z"}')
            _check_names(list(record), where)
            out.append((where, record))
        return out
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise FourKeysError(f"{shown}:1: (header): the file is empty; the first line must name "
                            f"the columns, e.g. {','.join(COLUMNS)}") from None
    names = [h.strip() for h in header]
    _check_names(names, _Where(shown, 1))
    last_line = reader.line_num
    for cells in reader:
        where = _Where(shown, last_line + 1)
        last_line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(names):
            raise where.fail("(row)", f"has {len(cells)} fields but the header has "
                             f"{len(names)}; quote values that contain commas")
        out.append((where, dict(zip(names, cells, strict=True))))
    return out


def _check_names(names: list[str], where: _Where) -> None:
    for name in names:
        if name not in COLUMNS:
            raise where.fail(name or "(empty)", f"is not a known column; use {', '.join(COLUMNS)}"
                             " (docs/incidents.md)")
    if len(set(names)) != len(names):
        raise where.fail("(header)", "a column is named twice; name each column once")
    if "id" not in names:
        raise where.fail("id", "the required column is missing; add an id column")


def _text(value: Any, column: str, where: _Where) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise where.fail(column, f"must be text, got {json.dumps(value)[:40]}; quote it")
    return str(value).strip() or None


def _row(record: dict[str, Any], where: _Where, source: IncidentSourceConfig, file_key: str,
         services: list[str]) -> dict[str, Any]:
    values = {c: _text(record.get(c), c, where) for c in COLUMNS}
    if not values["id"]:
        raise where.fail("id", "is empty; give every incident an id unique in the file")
    service = values["service"] or source.service
    if service is None:
        raise where.fail("service", "is empty and the source has no default; name one of "
                         f"{', '.join(services)} (or set service in [[incident_sources]])")
    folded = {s.lower(): s for s in services}
    if service not in services and service.lower() not in folded:
        raise where.fail("service", f"{service!r} is not a configured service; use one of "
                         f"{', '.join(services)}")
    times: dict[str, datetime | None] = {}
    for column in TIMES:
        raw = values[column]
        if raw is None:
            times[column] = None
            continue
        try:
            times[column] = parse_utc(raw)
        except ValueError as exc:
            fix = ("add the UTC offset, e.g. 2026-01-07T15:00:00Z" if "offset" in str(exc)
                   else "write an ISO-8601 time such as 2026-01-07T15:00:00Z")
            raise where.fail(column, f"{raw!r} is not a time with a UTC offset; {fix}") from None
    start = times["started_at"] or times["detected_at"]
    if start is None:
        raise where.fail("started_at", "is empty and so is detected_at; give at least one")
    mitigated, resolved = times["mitigated_at"], times["resolved_at"]
    for column, value in (("mitigated_at", mitigated), ("resolved_at", resolved)):
        if value is not None and value < start:
            raise where.fail(column, f"{values[column]} is before the start {iso(start)}; "
                             "fix either time")
    if mitigated is not None and resolved is not None and resolved < mitigated:
        raise where.fail("resolved_at", f"{values['resolved_at']} is before mitigated_at; "
                         "fix either time")
    url = values["url"]
    if url and not url.startswith(("http://", "https://")):
        raise where.fail("url", f"{url!r} is not an http(s) URL; write the full link or leave "
                         "it empty")
    status = ("resolved" if times["resolved_at"] else
              "mitigated" if times["mitigated_at"] else "open")
    return incident_row(
        SOURCE, f"{file_key}:{values['id']}", service=folded.get(service.lower(), service),
        severity=values["severity"], title=values["title"], url=url, status=status,
        cause_text=values["cause"], named_deployment_id=values["deployment_id"],
        **{c: iso(t) if t else None for c, t in times.items()}, origin=file_key)


def key_of(source: IncidentSourceConfig) -> str:
    """The file as configured: its rows' `origin` and the prefix of their external_id."""
    return Path(source.path or "").as_posix()


def read_incident_file(config: Config, source: IncidentSourceConfig,
                       marks: dict[tuple[str, str], Watermark], *,
                       full_refresh: bool = False) -> SourceImport:
    """Validate the whole file; a changed one yields a batch replacing its rows."""
    assert source.path is not None  # config validation guarantees it
    file_key = key_of(source)
    path = config.resolve_path(source.path)
    result = SourceImport(SOURCE, f"csv {file_key}")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FourKeysError(f"{path}: incident file not found (incident_sources path = "
                            f"{source.path!r}, relative to the config file); create it or fix "
                            "the path") from None
    except OSError as exc:
        raise FourKeysError(f"{path}: cannot read the incident file "
                            f"({exc.strerror or type(exc).__name__}); check the path") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FourKeysError(f"{path}:{line}: (file): not UTF-8 text; save it as UTF-8") from None
    jsonl = path.suffix.lower() in JSONL_SUFFIXES or (
        path.suffix.lower() != ".csv" and text.lstrip().startswith("{"))
    services = [s.name for s in config.services]
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for where, record in _records(text, str(path), jsonl):
        row = _row(record, where, source, file_key, services)
        if row["external_id"] in seen:
            raise where.fail("id", f"{row['external_id'].split(':', 1)[1]!r} is also on line "
                             f"{seen[row['external_id']]}; ids must be unique in the file")
        seen[row["external_id"]] = where.line
        rows.append(row)
    digest = hashlib.sha256(data + f"\0{source.service}".encode()).hexdigest()
    previous = marks.get((file_key, STREAM))
    if previous and previous.value == digest and not full_refresh:
        log.info("csv %s: unchanged since the last import; nothing to write", file_key)
        result.notes.append(file_key)
        return result
    batch = LoadBatch(replaced_parents={INCIDENTS.name: [(SOURCE, file_key)]})
    batch.add(INCIDENTS.name, rows)
    batch.watermarks.append(Watermark(SOURCE, file_key, STREAM, digest))
    result.batch = batch
    return result


def retire(marks: dict[tuple[str, str], Watermark], configured: set[str]) -> SourceImport | None:
    """Files imported before but no longer configured: their rows go, their mark is cleared."""
    gone = sorted(p for (p, s), m in marks.items() if s == STREAM and m.value
                  and p not in configured)
    if not gone:
        return None
    log.info("csv: %s no longer configured; removing its incidents", ", ".join(gone))
    batch = LoadBatch(replaced_parents={INCIDENTS.name: [(SOURCE, p) for p in gone]})
    batch.watermarks += [Watermark(SOURCE, p, STREAM, None) for p in gone]
    return SourceImport(SOURCE, "csv (unconfigured files)", batch=batch)
