"""Bad incident imports: a malformed CSV / JSON-lines row, an unknown service, a missing file, a
PagerDuty key that is rejected — each is one `fourkeys: error:` line from the real CLI (a fresh
process), exit 1, no traceback, and the warehouse exactly as it was.

Each case starts from a warehouse that already holds a good import, then changes the input so
that a successful run WOULD write (the CSV differs from the imported one), and checks nothing did.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fakes.faults import FaultPlan
from fakes.scenario import load_scenario
from fakes.server import RunningServer, create_app, serve_in_thread
from fourkeys.cli import main
from tests.conftest import run_cli, table_snapshot
from tests.integration.test_import_incidents import (
    PD_TOKEN,
    pd_incident,
    pd_scenario,
    write_config,
)

GOOD = "id,service,started_at,resolved_at\nINC-1,shop,2026-01-07T15:00:00Z,2026-01-07T16:00:00Z\n"
HEADER = "id,service,started_at,resolved_at,cause\n"
SOURCES = """
[[incident_sources]]
type = "csv"
path = "{path}"
service = "shop"
"""
PAGERDUTY = """
[[incident_sources]]
type = "pagerduty"
pagerduty_service = "PSHOP01"
service = "shop"
"""


@dataclass(frozen=True)
class Case:
    id: str
    file: str | None  # the incident file's new content (None: the file is deleted)
    expect: tuple[str, ...]  # each must appear in the error line
    name: str = "incidents.csv"


CASES = [
    Case("time_without_offset", HEADER + "INC-1,shop,2026-01-07 15:00,,\n",
         ("incidents.csv:2: started_at: '2026-01-07 15:00'", "UTC offset",
          "2026-01-07T15:00:00Z")),
    Case("not_a_time", HEADER + "INC-1,shop,2026-01-07T15:00:00Z,,\n" +
         "INC-2,shop,yesterday,,\n", ("incidents.csv:3: started_at: 'yesterday'", "ISO-8601")),
    Case("unknown_service", HEADER + "INC-1,shop,2026-01-07T15:00:00Z,,\n"
         "INC-2,checkout,2026-01-08T15:00:00Z,,\n",
         ("incidents.csv:3: service: 'checkout' is not a configured service",
          "use one of shop, search")),
    Case("too_many_fields", HEADER + "INC-1,shop,2026-01-07T15:00:00Z,,caused by a, b\n",
         ("incidents.csv:2: (row): has 6 fields but the header has 5", "quote")),
    Case("unknown_column", "id,service,started,resolved_at\n",
         ("incidents.csv:1: started: is not a known column", "started_at")),
    Case("duplicate_id", HEADER + "INC-1,shop,2026-01-07T15:00:00Z,,\n"
         "INC-1,shop,2026-01-08T15:00:00Z,,\n",
         ("incidents.csv:3: id: 'INC-1' is also on line 2", "unique")),
    Case("resolved_before_start", HEADER + "INC-1,shop,2026-01-07T15:00:00Z,"
         "2026-01-07T14:00:00Z,\n", ("incidents.csv:2: resolved_at:", "before the start")),
    Case("no_start", HEADER + "INC-1,shop,,2026-01-07T14:00:00Z,\n",
         ("incidents.csv:2: started_at: is empty and so is detected_at",)),
    Case("jsonl_not_json", '{"id": "A", "started_at": "2026-01-07T15:00:00Z"}\n{"id": "B",\n',
         ("incidents.jsonl:2: (line): not valid JSON", "one JSON object per line"),
         name="incidents.jsonl"),
    Case("missing_file", None, ("incidents.csv: incident file not found", "fix the path")),
]


def assert_one_line_error(done: object, expect: tuple[str, ...]) -> None:
    stdout, stderr = done.stdout, done.stderr  # type: ignore[attr-defined]
    assert done.returncode == 1, stdout + stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stdout + stderr
    assert PD_TOKEN not in stdout + stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fourkeys: error: "), stderr
    for word in expect:
        assert word in lines[0], f"{word!r} missing from: {lines[0]}"


@pytest.fixture(autouse=True)
def _pd_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGERDUTY_TOKEN", PD_TOKEN)
    monkeypatch.setenv("FOURKEYS_RETRY_BASE_SECONDS", "0")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_incident_file_is_one_line_and_writes_nothing(case: Case, tmp_path: Path) -> None:
    config = write_config(tmp_path, SOURCES.format(path=case.name))
    incident_file = tmp_path / case.name
    incident_file.write_text(GOOD if case.name.endswith(".csv") else
                             '{"id": "A", "started_at": "2026-01-07T15:00:00Z"}\n')
    assert main(["import-incidents", "--config", str(config)]) == 0
    before = table_snapshot(tmp_path / "fourkeys.duckdb")
    assert len(before["raw_incidents"]) == 1
    if case.file is None:
        incident_file.unlink()
    else:
        incident_file.write_text(case.file, encoding="utf-8")
    done = run_cli("import-incidents", "--config", str(config))
    assert_one_line_error(done, case.expect)
    assert str(incident_file) in done.stderr
    assert table_snapshot(tmp_path / "fourkeys.duckdb") == before


@pytest.fixture
def rejecting_pagerduty() -> Iterator[RunningServer]:
    """PagerDuty answering 401 from its first request on (the fault channel `pagerduty`)."""
    now = datetime.now(UTC)
    scenario = pd_scenario([pd_incident(1, "PSHOP01", now - timedelta(days=2))])
    app = create_app(load_scenario(scenario), FaultPlan.parse("401@pagerduty:1+"))
    with serve_in_thread(app) as server:
        yield server


def test_a_rejected_pagerduty_key_is_one_line_and_writes_nothing(
        tmp_path: Path, rejecting_pagerduty: RunningServer) -> None:
    # a good CSV import first; then the CSV changes and a PagerDuty source is added: the 401
    # stops the command before the changed CSV is written too
    config = write_config(tmp_path, SOURCES.format(path="incidents.csv"),
                          base_url=rejecting_pagerduty.base_url)
    (tmp_path / "incidents.csv").write_text(GOOD, encoding="utf-8")
    assert main(["import-incidents", "--config", str(config)]) == 0
    before = table_snapshot(tmp_path / "fourkeys.duckdb")
    (tmp_path / "incidents.csv").write_text(GOOD.replace("16:00", "17:00"), encoding="utf-8")
    write_config(tmp_path, SOURCES.format(path="incidents.csv") + PAGERDUTY,
                 base_url=rejecting_pagerduty.base_url)
    done = run_cli("import-incidents", "--config", str(config))
    assert_one_line_error(done, ("PagerDuty rejected the token in $PAGERDUTY_TOKEN (401)",
                                 "export PAGERDUTY_TOKEN="))
    assert table_snapshot(tmp_path / "fourkeys.duckdb") == before


def test_a_missing_pagerduty_key_is_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, PAGERDUTY)
    done = run_cli("import-incidents", "--config", str(config), env={"PAGERDUTY_TOKEN": ""})
    assert_one_line_error(done, ("$PAGERDUTY_TOKEN", "not set"))
    assert not (tmp_path / "fourkeys.duckdb").exists()  # checked before anything is written
