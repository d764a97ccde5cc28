"""One request-log line → (minute, service, is 5xx), for JSON lines and the combined format.

Only what the failure signal needs is kept: the UTC minute the request was logged in, the
service it belongs to (JSON lines may name it), and whether its status was a 5xx. A line that
yields none of that raises `LineError` with the reason and the fix, and the caller turns it
into `FILE:LINE: ...` for the user: a log we cannot read is an error, never a silent skip, so
the counts can be trusted.

Timestamps: JSON lines take `time`, `timestamp` or `@timestamp` (the first present), as
ISO-8601 (an offset or `Z`; a time without one is taken as UTC) or epoch seconds (a number or a
numeric string such as nginx's `$msec`; values ≥ 1e11 are epoch milliseconds). The combined
format's `[10/Oct/2026:13:55:36 -0700]` carries its own offset. Both are converted to UTC
before the minute is taken.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

Format = Literal["json", "combined"]

TIME_FIELDS = ("time", "timestamp", "@timestamp")
STATUS_FIELDS = ("status", "status_code")
EPOCH_MS_FROM = 1e11  # an epoch this large in seconds would be after the year 5000

JSON_EXAMPLE = '{"time": "2026-10-10T13:55:36Z", "status": 500, "service": "checkout-api"}'
COMBINED_EXAMPLE = ('127.0.0.1 - - [10/Oct/2026:13:55:36 -0700] "GET /a HTTP/1.1" 500 2326 '
                    '"-" "curl/8"')

# host ident user [time] "request" status bytes ["referer" "user-agent"]: the combined format,
# and the common log format it extends. Quoted fields may hold escaped quotes (Apache `\"`).
_QUOTED = r'"(?:[^"\\]|\\.)*"'
COMBINED_RE = re.compile(
    rf"^\S+ \S+ .*?\[(?P<time>[^\]]+)\] {_QUOTED} (?P<status>\d{{3}}) \S+"
    rf"(?: {_QUOTED} {_QUOTED})?(?: .*)?$"
)
CLF_TIME_RE = re.compile(
    r"^(?P<day>\d{1,2})/(?P<month>[A-Za-z]{3})/(?P<year>\d{4}):(?P<hour>\d{2}):(?P<minute>\d{2})"
    r":(?P<second>\d{2})(?:\.\d+)? (?P<sign>[+-])(?P<oh>\d{2}):?(?P<om>\d{2})$"
)
# month names are fixed English in both nginx and Apache, whatever the machine's locale
MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}


class LineError(ValueError):
    """Why a line gives no request; the message ends with what to do about it."""


@dataclass(frozen=True, slots=True)
class Request:
    minute: int  # minutes since the Unix epoch, UTC (the minute the request was logged in)
    service: str | None  # named by the line (JSON lines), else None: the default applies
    is_error: bool  # status 500-599


def minute_of(moment: datetime) -> int:
    """Whole minutes since the epoch, UTC; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() // 60)


def minute_at(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=UTC)


def detect_format(first_line: str) -> Format:
    """`auto`: a file whose first non-blank line is a JSON object is JSON lines."""
    return "json" if first_line.lstrip().startswith("{") else "combined"


def _status(value: Any) -> int:
    if isinstance(value, bool):
        raise LineError(f"status {json.dumps(value)} is not an HTTP status code (100-599)")
    try:
        status = int(value)
    except (TypeError, ValueError):
        raise LineError(
            f"status {json.dumps(value)} is not an HTTP status code (100-599)") from None
    if not 100 <= status <= 599:
        raise LineError(f"status {status} is not an HTTP status code (100-599)")
    return status


def _epoch_minute(value: float) -> int:
    seconds = value / 1000 if abs(value) >= EPOCH_MS_FROM else value
    return int(seconds // 60)


def _json_time(value: Any, field: str) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _epoch_minute(float(value))
    if isinstance(value, str):
        text = value.strip()
        try:
            return _epoch_minute(float(text))
        except ValueError:
            pass
        try:
            return minute_of(datetime.fromisoformat(text))
        except ValueError:
            pass
    raise LineError(
        f'"{field}": {json.dumps(value)} is not an ISO-8601 time or epoch seconds '
        '(e.g. "2026-10-10T13:55:36Z" or 1791640536)')


def parse_json_line(line: str, service_field: str) -> Request:
    """A JSON object with a time, a status and, optionally, the service."""
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        raise LineError(
            f"not a JSON object (JSON lines need one request per line, e.g. {JSON_EXAMPLE}); "
            "fix or remove the line, or pass --format combined for an access log")
    time_field = next((f for f in TIME_FIELDS if record.get(f) is not None), None)
    if time_field is None:
        raise LineError(
            'JSON line without a time (a "time", "timestamp" or "@timestamp" field, ISO-8601 '
            'or epoch seconds); add it to the log format')
    status_field = next((f for f in STATUS_FIELDS if record.get(f) is not None), None)
    if status_field is None:
        raise LineError(
            'JSON line without a status (a "status" or "status_code" field, e.g. 500); '
            "add it to the log format")
    minute = _json_time(record[time_field], time_field)
    status = _status(record[status_field])
    service = record.get(service_field)
    if service is not None and not isinstance(service, str):
        raise LineError(f'"{service_field}": {json.dumps(service)} is not a service name')
    return Request(minute, service or None, 500 <= status <= 599)


class CombinedParser:
    """Combined-format lines; remembers the last timestamp prefix it converted, since a log's
    consecutive lines almost always share their minute (the one costly step per line)."""

    def __init__(self) -> None:
        self._last_key: tuple[str, str] | None = None
        self._last_minute = 0

    def parse(self, line: str) -> Request:
        match = COMBINED_RE.match(line.rstrip("\r\n"))
        if match is None:
            raise LineError(
                f"not a combined-format line (expected e.g. {COMBINED_EXAMPLE}); fix or "
                "remove the line, or pass --format json for JSON lines")
        stamp = match["time"]
        # "10/Oct/2026:13:55" + the offset: the same minute whatever the seconds
        key = (stamp[:17], stamp[-6:])
        if key != self._last_key:
            self._last_minute = self._minute(stamp)
            self._last_key = key
        status = _status(match["status"])
        return Request(self._last_minute, None, 500 <= status <= 599)

    @staticmethod
    def _minute(stamp: str) -> int:
        found = CLF_TIME_RE.match(stamp)
        month = MONTHS.get(found["month"].lower()) if found else None
        if found is None or month is None:
            raise LineError(
                f"[{stamp}] is not a log time like [10/Oct/2026:13:55:36 -0700]; fix the line")
        offset = timedelta(hours=int(found["oh"]), minutes=int(found["om"]))
        try:
            moment = datetime(int(found["year"]), month, int(found["day"]), int(found["hour"]),
                              int(found["minute"]),
                              tzinfo=timezone(-offset if found["sign"] == "-" else offset))
        except ValueError as exc:
            raise LineError(f"[{stamp}] is not a valid time ({exc}); fix the line") from None
        return minute_of(moment)
