"""Bad request logs: one `fourkeys: error:` line naming the file (and line) and the fix, exit 1,
no traceback, and the warehouse exactly as it was — even when other files of the same command
were fine (every file is parsed before anything is written).

Each case starts from a warehouse that already holds one imported log, runs the real
`fourkeys import-requests` in-process, and compares every table before and after.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from fourkeys.cli import main
from tests.conftest import table_snapshot

CONFIG = """
[warehouse]
path = "fourkeys.duckdb"

[[services]]
name = "api"
team = "core"
repository = "acme/api"
deployment_source = "merged_pull_requests"

[[services]]
name = "web"
team = "core"
repository = "acme/web"
deployment_source = "merged_pull_requests"
"""
GOOD_JSON = "".join(json.dumps({"time": f"2026-10-10T20:{m:02d}:00Z", "status": s,
                                "service": "api"}) + "\n"
                    for m in range(10) for s in (200, 200, 503))
GOOD_COMBINED = "".join(
    f'10.0.0.1 - - [10/Oct/2026:13:{m:02d}:00 -0700] "GET / HTTP/1.1" {s} 12 "-" "ua"\n'
    for m in range(10) for s in (200, 500))


@dataclass(frozen=True)
class Case:
    id: str
    files: Callable[[Path], list[str]]  # writes the files, returns the CLI's FILE arguments
    expected: tuple[str, ...]  # fragments of the one error line
    flags: tuple[str, ...] = ()


def _write(directory: Path, name: str, text: str) -> str:
    (directory / name).write_text(text, encoding="utf-8")
    return str(directory / name)


def _lines(*lines: str) -> str:
    return "".join(line + "\n" for line in lines)


CASES = [
    Case("json_line_that_parses_to_nothing",
         lambda d: [_write(d, "fine.jsonl", GOOD_JSON),
                    _write(d, "bad.jsonl", "".join(GOOD_JSON.splitlines(keepends=True)[:2])
                           + "<html>502 Bad Gateway</html>\n" + GOOD_JSON)],
         ("bad.jsonl:3: not a JSON object", "fix or remove the line", "--format combined")),
    Case("combined_line_that_parses_to_nothing",
         lambda d: [_write(d, "access.log", GOOD_COMBINED + "GET /health 200\n"
                           + GOOD_COMBINED)],
         ("access.log:21: not a combined-format line", "--format json"),
         flags=("--service", "web")),
    Case("json_forced_on_an_access_log",
         lambda d: [_write(d, "access.log", GOOD_COMBINED)],
         ("access.log:1: not a JSON object",), flags=("--format", "json")),
    Case("unknown_service_in_a_line",
         lambda d: [_write(d, "x.jsonl", GOOD_JSON + _lines(json.dumps(
             {"time": "2026-10-10T21:00:00Z", "status": 200, "service": "checkout"})))],
         ('x.jsonl:31: service "checkout" is not configured', "configured services: api, web",
          "[[services]]")),
    Case("unknown_service_flag",
         lambda d: [_write(d, "access.log", GOOD_COMBINED)],
         ('--service: service "nope" is not configured', "configured services: api, web"),
         flags=("--service", "nope")),
    Case("access_log_with_no_service",
         lambda d: [_write(d, "access.log", GOOD_COMBINED)],
         ("access.log:1: the line names no service", "--service NAME",
          "[requests] service")),
    Case("missing_file",
         lambda d: [_write(d, "fine.jsonl", GOOD_JSON), str(d / "nowhere.log")],
         ("nowhere.log: no such file",)),
    Case("a_directory",
         lambda d: [str(d)],
         ("not a file",)),
    Case("json_line_without_a_status",
         lambda d: [_write(d, "x.jsonl", _lines(
             json.dumps({"time": "2026-10-10T21:00:00Z", "status": 200}),
             json.dumps({"time": "2026-10-10T21:00:01Z", "code": 500})))],
         ('x.jsonl:2: JSON line without a status', '"status" or "status_code"'),
         flags=("--service", "api")),
    Case("json_line_with_a_bad_time",
         lambda d: [_write(d, "x.jsonl", _lines(
             json.dumps({"time": "10/10/2026 9pm", "status": 200, "service": "api"})))],
         ('x.jsonl:1: "time": "10/10/2026 9pm" is not an ISO-8601 time',)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_request_log(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "fourkeys.toml"
    config.write_text(CONFIG, encoding="utf-8")
    logs = tmp_path / "logs"
    logs.mkdir()
    seed = _write(tmp_path, "earlier.jsonl", GOOD_JSON)
    assert main(["import-requests", "--config", str(config), seed]) == 0
    before = table_snapshot(tmp_path / "fourkeys.duckdb")
    assert before["raw_request_counts"], "the warehouse holds counts to protect"
    capsys.readouterr()

    code = main(["import-requests", "--config", str(config), *case.flags, *case.files(logs)])

    err = capsys.readouterr().err
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("fourkeys: error: "), err
    assert "Traceback" not in err
    for fragment in case.expected:
        assert fragment in lines[0], lines[0]
    assert table_snapshot(tmp_path / "fourkeys.duckdb") == before
