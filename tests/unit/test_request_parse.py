"""Request-log lines → (UTC minute, service, is 5xx), and a file → per-minute counts.

Expected minutes are written as UTC wall-clock times and converted here with the standard
library, never with the parser's own helpers.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fourkeys.errors import FourKeysError
from incidents.requests.aggregate import ServiceRule, count_file, log_file_key
from incidents.requests.parse import (
    CombinedParser,
    LineError,
    detect_format,
    parse_json_line,
)


def minute(text: str) -> int:
    """'2026-10-10 20:55' (UTC) → minutes since the epoch."""
    at = datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    return int(at.timestamp()) // 60


def js(**fields: object) -> str:
    return json.dumps(fields) + "\n"


# --- JSON lines ------------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value", "expected"), [
    ("time", "2026-10-10T20:55:36Z", "2026-10-10 20:55"),
    ("timestamp", "2026-10-10T13:55:36-07:00", "2026-10-10 20:55"),  # offset → UTC
    ("@timestamp", "2026-10-10T22:55:59.999+02:00", "2026-10-10 20:55"),
    ("time", "2026-10-10 20:55:00", "2026-10-10 20:55"),  # no offset: taken as UTC
    ("time", 1791665736, "2026-10-10 20:55"),  # epoch seconds
    ("time", 1791665736.9, "2026-10-10 20:55"),
    ("time", "1791665736.123", "2026-10-10 20:55"),  # nginx $msec
    ("time", 1791665736123, "2026-10-10 20:55"),  # epoch milliseconds
    ("timestamp", "2026-10-10T20:56:00Z", "2026-10-10 20:56"),  # the next minute starts here
])
def test_json_time_fields_and_formats(field: str, value: object, expected: str) -> None:
    request = parse_json_line(js(**{field: value, "status": 200}), "service")
    assert request.minute == minute(expected)


def test_the_first_present_time_field_wins() -> None:
    line = js(time=None, timestamp="2026-10-10T20:55:00Z", status=200,
              **{"@timestamp": "2030-01-01T00:00Z"})
    assert parse_json_line(line, "service").minute == minute("2026-10-10 20:55")


@pytest.mark.parametrize(("fields", "is_error"), [
    ({"status": 500}, True),
    ({"status": 599}, True),
    ({"status": 503.0}, True),
    ({"status_code": "502"}, True),
    ({"status": 499}, False),
    ({"status": 404}, False),
    ({"status_code": 200}, False),
    ({"status": 600, "status_code": 500}, None),  # `status` comes first, and 600 is no status
])
def test_json_status_fields_and_5xx(fields: dict[str, object], is_error: bool | None) -> None:
    line = js(time="2026-10-10T20:55:36Z", **fields)
    if is_error is None:
        with pytest.raises(LineError, match="not an HTTP status code"):
            parse_json_line(line, "service")
    else:
        assert parse_json_line(line, "service").is_error is is_error


def test_json_service_from_the_configured_field() -> None:
    line = js(time="2026-10-10T20:55:36Z", status=200, app="checkout-api", service="other")
    assert parse_json_line(line, "app").service == "checkout-api"
    assert parse_json_line(js(time="2026-10-10T20:55:36Z", status=200), "app").service is None


@pytest.mark.parametrize(("line", "reason"), [
    ("not json\n", "not a JSON object"),
    ("[1, 2]\n", "not a JSON object"),
    (js(status=200), "without a time"),
    (js(time="2026-10-10T20:55:36Z"), "without a status"),
    (js(time="2026-10-10T20:55:36Z", status="ok"), "not an HTTP status code"),
    (js(time="yesterday", status=200), "not an ISO-8601 time"),
    (js(time="2026-10-10T20:55:36Z", status=200, service=7), "not a service name"),
])
def test_json_lines_that_give_no_request(line: str, reason: str) -> None:
    with pytest.raises(LineError, match=reason):
        parse_json_line(line, "service")


# --- the combined format ---------------------------------------------------------------------

def test_the_combined_example_in_utc() -> None:
    line = ('127.0.0.1 - - [10/Oct/2026:13:55:36 -0700] "GET /a HTTP/1.1" 500 2326 "-" '
            '"curl/8"\n')
    request = CombinedParser().parse(line)
    assert (request.minute, request.service, request.is_error) == (
        minute("2026-10-10 20:55"), None, True)


@pytest.mark.parametrize(("line", "expected", "is_error"), [
    # the common log format (no referer and user agent)
    ('10.1.2.3 - frank [10/Oct/2026:13:55:36 +0000] "GET /a HTTP/1.0" 200 2326\n',
     "2026-10-10 13:55", False),
    # a half-hour zone across midnight, and an escaped quote in the request
    ('::1 - - [11/Oct/2026:02:10:00 +0530] "GET /a\\"b HTTP/1.1" 503 - "-" "x \\"y\\""\n',
     "2026-10-10 20:40", True),
    # extra fields after the user agent (nginx's $request_time)
    ('10.0.0.1 - - [31/Dec/2026:23:59:59 -0100] "POST /b HTTP/2.0" 502 0 "https://r/" "ua" 0.2\n',
     "2027-01-01 00:59", True),
    ('10.0.0.1 - - [01/jan/2027:00:00:00 +0000] "GET / HTTP/1.1" 499 0 "-" "ua"\n',
     "2027-01-01 00:00", False),
])
def test_combined_variants(line: str, expected: str, is_error: bool) -> None:
    request = CombinedParser().parse(line)
    assert (request.minute, request.is_error) == (minute(expected), is_error)


def test_combined_lines_of_one_minute_share_it_and_the_next_minute_moves_on() -> None:
    parser = CombinedParser()
    stamps = ["10/Oct/2026:13:55:00 -0700", "10/Oct/2026:13:55:59 -0700",
              "10/Oct/2026:13:56:00 -0700", "10/Oct/2026:13:56:00 +0000"]
    got = [parser.parse(f'h - - [{s}] "GET / HTTP/1.1" 200 1\n').minute for s in stamps]
    assert got == [minute("2026-10-10 20:55"), minute("2026-10-10 20:55"),
                   minute("2026-10-10 20:56"), minute("2026-10-10 13:56")]


@pytest.mark.parametrize("line", [
    "GET /a 500\n",
    '127.0.0.1 - - [10/Oct/2026:13:55:36 -0700] "GET /a HTTP/1.1" - 2326\n',
    '127.0.0.1 - - [10/Foo/2026:13:55:36 -0700] "GET /a HTTP/1.1" 200 1\n',
    '127.0.0.1 - - [31/Feb/2026:13:55:36 -0700] "GET /a HTTP/1.1" 200 1\n',
    js(time="2026-10-10T20:55:36Z", status=200),
])
def test_lines_that_are_not_combined_format(line: str) -> None:
    with pytest.raises(LineError):
        CombinedParser().parse(line)


def test_auto_detects_json_lines_by_a_leading_brace() -> None:
    assert detect_format('  {"time": 1}') == "json"
    assert detect_format('127.0.0.1 - - [10/Oct/2026:13:55:36 -0700] "GET /"') == "combined"


# --- a whole file ----------------------------------------------------------------------------

RULE = ServiceRule(default="web", field="service", configured=frozenset({"web", "api"}))


def test_a_file_counted_per_service_and_minute(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        js(time="2026-10-10T20:55:01Z", status=500, service="api")
        + "\n   \n"  # blank lines are skipped
        + js(time="2026-10-10T20:55:59Z", status=200, service="api")
        + js(time="2026-10-10T20:56:00Z", status=502)  # no service: the default
        + js(time="2026-10-10T20:55:30Z", status=200),  # out of order: still its minute
        encoding="utf-8")
    counts = count_file(path, file_format="auto", rule=RULE)
    assert counts.file_format == "json" and counts.lines == 4
    assert counts.counts == {("api", minute("2026-10-10 20:55")): [2, 1],
                             ("web", minute("2026-10-10 20:56")): [1, 1],
                             ("web", minute("2026-10-10 20:55")): [1, 0]}
    assert counts.log_file == str(path.resolve())


def test_an_unfinished_last_line_is_left_for_the_next_import(tmp_path: Path) -> None:
    path = tmp_path / "live.log"
    path.write_text('h - - [10/Oct/2026:13:55:36 -0700] "GET / HTTP/1.1" 500 1\n'
                    'h - - [10/Oct/2026:13:55:37 -0700] "GET / HT', encoding="utf-8")
    counts = count_file(path, file_format="combined", rule=RULE)
    assert counts.counts == {("web", minute("2026-10-10 20:55")): [1, 1]}
    assert counts.partial_last_line


def test_a_gzipped_log_counts_as_its_uncompressed_name(tmp_path: Path) -> None:
    line = 'h - - [10/Oct/2026:13:55:36 -0700] "GET / HTTP/1.1" 200 1\n'
    plain = tmp_path / "access.log-20261010"
    plain.write_text(line, encoding="utf-8")
    packed = tmp_path / "access.log-20261010.gz"
    packed.write_bytes(gzip.compress(line.encode()))
    counted = count_file(packed, file_format="auto", rule=RULE)
    assert counted.counts == count_file(plain, file_format="auto", rule=RULE).counts
    assert log_file_key(packed) == log_file_key(plain) == str(plain.resolve())


def test_a_bad_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(js(time="2026-10-10T20:55:01Z", status=200) + "oops\n"
                    + js(time="2026-10-10T20:55:01Z", status=200), encoding="utf-8")
    with pytest.raises(FourKeysError, match=rf"^{path}:2: not a JSON object"):
        count_file(path, file_format="auto", rule=RULE)


def test_a_service_nobody_configured(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(js(time="2026-10-10T20:55:01Z", status=200, service="nope"),
                    encoding="utf-8")
    with pytest.raises(FourKeysError, match=r':1: service "nope" is not configured '
                       r"\(configured services: api, web\)"):
        count_file(path, file_format="auto", rule=RULE)
