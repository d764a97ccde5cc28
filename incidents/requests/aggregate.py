"""A request log, read line by line, → request and 5xx counts per (service, minute).

Streaming on purpose: only the counters live in memory (one entry per service and minute the
file covers, about 525,000 a year per service), never the lines, so a 1 GB log needs no more
memory than a small one. Gzipped files (`access.log.2.gz`) are read the same way.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from fourkeys.errors import FourKeysError
from incidents.requests.parse import (
    CombinedParser,
    Format,
    LineError,
    Request,
    detect_format,
    parse_json_line,
)

log = logging.getLogger(__name__)

COMPRESSED_SUFFIX = ".gz"


def log_file_key(path: Path) -> str:
    """A file's identity in `raw_request_counts.log_file`: its resolved absolute path, without
    a `.gz` suffix. Re-importing the same path (a log that grew) replaces its counts; the
    suffix is dropped so that compressing a rotated log (`access.log-20261128` →
    `access.log-20261128.gz`) does not count it a second time under a new name."""
    text = str(path.resolve())
    return text.removesuffix(COMPRESSED_SUFFIX)


@dataclass
class FileCounts:
    path: Path  # as the user gave it (for messages)
    log_file: str  # log_file_key(path)
    file_format: Format | None = None  # None: the file had no line at all
    lines: int = 0  # requests counted
    partial_last_line: bool = False  # an unfinished last line was left for the next import
    # (service, epoch minute) → [requests, 5xx]
    counts: dict[tuple[str, int], list[int]] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(c[0] for c in self.counts.values())

    @property
    def errors(self) -> int:
        return sum(c[1] for c in self.counts.values())


@contextmanager
def _open(path: Path) -> Iterator[TextIO]:
    # undecodable bytes (a URL or user agent in Latin-1) must not fail a line we only need the
    # time and status of
    if path.name.endswith(COMPRESSED_SUFFIX):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
            yield fh
    else:
        with path.open(encoding="utf-8", errors="replace") as fh:
            yield fh


@dataclass(frozen=True)
class ServiceRule:
    """Which service a request belongs to, and which services exist."""

    default: str | None  # --service, else [requests] service
    field: str  # JSON lines: [requests] service_field
    configured: frozenset[str]

    def unknown(self, name: str) -> str:
        known = ", ".join(sorted(self.configured)) or "none"
        return (f'service "{name}" is not configured (configured services: {known}); fix the '
                f'"{self.field}" field or --service, or add a [[services]] entry named "{name}"')

    def missing(self, file_format: Format) -> str:
        named_by = (f'no "{self.field}" field' if file_format == "json"
                    else "the combined format names no service")
        return (f"the line names no service ({named_by}) and there is no default; pass "
                '--service NAME or set [requests] service = "NAME" in the config')


def count_file(path: Path, *, file_format: str, rule: ServiceRule) -> FileCounts:
    """Every line of `path` counted, or a FourKeysError `PATH:LINE: why; fix` for the first
    line that gives no request. Blank lines are skipped; so is an unparseable LAST line without
    a newline, which is a line the server is still writing (the next import counts it)."""
    counts = FileCounts(path, log_file_key(path))
    checked: set[str] = set()
    parse: Callable[[str], Request] | None = None
    try:
        with _open(path) as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                if parse is None:
                    chosen = detect_format(line) if file_format == "auto" else file_format
                    counts.file_format = "json" if chosen == "json" else "combined"
                    parse = _parser(counts.file_format, rule.field)
                try:
                    request = parse(line)
                except LineError as exc:
                    if not line.endswith("\n"):
                        log.debug("%s:%d: partial last line left for the next import",
                                  path, number)
                        counts.partial_last_line = True
                        break
                    raise FourKeysError(f"{path}:{number}: {exc}") from None
                service = request.service or rule.default
                if service is None:
                    assert counts.file_format is not None
                    raise FourKeysError(f"{path}:{number}: {rule.missing(counts.file_format)}")
                if service not in checked:
                    if service not in rule.configured:
                        raise FourKeysError(f"{path}:{number}: {rule.unknown(service)}")
                    checked.add(service)
                cell = counts.counts.get((service, request.minute))
                if cell is None:
                    counts.counts[(service, request.minute)] = [1, int(request.is_error)]
                else:
                    cell[0] += 1
                    cell[1] += request.is_error
                counts.lines += 1
    except (OSError, EOFError, zlib.error) as exc:  # unreadable, or a truncated/corrupt .gz
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise FourKeysError(f"{path}: cannot read the log ({reason}); check the file") from None
    return counts


def _parser(file_format: Format, service_field: str) -> Callable[[str], Request]:
    if file_format == "json":
        return lambda line: parse_json_line(line, service_field)
    return CombinedParser().parse
