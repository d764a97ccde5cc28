"""Chaos fixtures: one small generated organisation per worker, served by the fake API in a
thread, and one uninterrupted `fourkeys run` of it (the baseline) whose published marts every
trial must reproduce row for row.

Runs are the real console entry point in a fresh process (a SIGKILL must hit a real process). The
fake server lives in the test process and its fault plan is switched between runs, so every run
of a worker talks to one address: the fake writes its own address into some rows and ETags, so a
second server on another port would serve different data.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import httpx
import pytest
from starlette.applications import Starlette

from fakes.faults import FaultPlan
from fakes.generator import GeneratedOrg, OrgSpec, generate
from fakes.scenario import load_scenario
from fakes.server import RunningServer, create_app, serve_in_thread
from fourkeys.lock import lock_path
from fourkeys.publish import MARTS, RAW_TABLES_SUMMARY, published_path
from tests.conftest import HEROKU_TOKEN, ROOT, TOKEN, write_config


def chaos_spec(today: date) -> OrgSpec:
    """5 services (one per deployment source) of 2 teams, one month: a run costs ~10 s, almost
    all of it dbt, and every mart has rows. The organisation's "now" is today (UTC midnight), so
    `fourkeys run`'s dora_summary (its window ends today) is full of numbers, not NULLs."""
    now = datetime(today.year, today.month, today.day, tzinfo=UTC)
    return OrgSpec(teams=2, services_per_team=3, total_services=5, months=1,
                   prs_per_service_per_week=5.0, seed=8, now=now)


# Every request answers 0.3 s late in the runs we kill: the extract stage (~1 s) is then long
# enough to be hit with some repositories loaded and others not. Data is unchanged.
SLOW = "slow=0.3@any:1+"
# and every load batch its own transaction (extractors/loads.py), as in a long run's many
RUN_ENV = {"GITHUB_TOKEN": TOKEN, "HEROKU_API_KEY": HEROKU_TOKEN, "DO_NOT_TRACK": "1",
           "FOURKEYS_RETRY_BASE_SECONDS": "0.05", "FOURKEYS_LOAD_MAX_ROWS": "1"}

# what the run prints at each stage boundary (log records on stderr; dbt's own log file)
UNIT_DONE = "INFO fourkeys: done: "
EXTRACTED = "INFO fourkeys: extracted "
DBT_NODE_START = re.compile(r"\] \[[^]]*\]: \d+ of (\d+) START ")
DBT_DONE = "Done. PASS="
PUBLISHED = "INFO fourkeys.publish: published the marts"
_LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \S+: ")


# pytest's `record_property` fixture: ("chaos.<name>", value) pairs summary.py adds up
RecordProperty = Callable[[str, object], None]


def today_utc() -> date:
    return datetime.now(UTC).date()


# --- reading what a run wrote -----------------------------------------------------------------


class Tail:
    """A growing text file read incrementally; counts lines holding each marker as they arrive
    (the kill loop polls every few milliseconds, so nothing is re-read)."""

    def __init__(self, path: Path, markers: tuple[str | re.Pattern[str], ...] = (),
                 offset: int = 0) -> None:
        self.path = path
        self.offset = offset
        self.lines: list[str] = []
        self._partial = b""
        self.counts: dict[str | re.Pattern[str], int] = dict.fromkeys(markers, 0)

    def poll(self) -> Tail:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except FileNotFoundError:
            return self
        if not chunk:
            return self
        self.offset += len(chunk)
        *complete, self._partial = (self._partial + chunk).split(b"\n")
        for raw in complete:
            line = raw.decode("utf-8", errors="replace")
            self.lines.append(line)
            for marker in self.counts:
                if (marker.search(line) if isinstance(marker, re.Pattern) else marker in line):
                    self.counts[marker] += 1
        return self

    def count(self, marker: str | re.Pattern[str]) -> int:
        return self.poll().counts[marker]

    @property
    def text(self) -> str:
        self.poll()
        return "\n".join(self.lines)


@dataclass
class Workspace:
    """One warehouse folder: its fourkeys.toml, warehouse, published file and dbt log."""

    directory: Path
    config: Path

    @property
    def warehouse(self) -> Path:
        return self.directory / "fourkeys.duckdb"

    @property
    def published(self) -> Path:
        return published_path(self.warehouse)

    @property
    def dbt_log(self) -> Path:
        return self.directory / "dbt" / "logs" / "dbt.log"

    @property
    def lock(self) -> Path:
        return lock_path(self.warehouse.resolve())

    def publish_leftovers(self) -> list[str]:
        """Files a publish writes beside the published one before its atomic replace."""
        prefix = f".{self.published.name}."
        return sorted(p.name for p in self.directory.iterdir() if p.name.startswith(prefix))

    def published_digest(self) -> str | None:
        if not self.published.exists():
            return None
        return hashlib.sha256(self.published.read_bytes()).hexdigest()


@dataclass
class Run:
    """A `fourkeys run` process; stderr goes to a file, read (with dbt's log) as they grow."""

    proc: subprocess.Popen[bytes]
    workspace: Workspace
    started: float
    err: Tail
    dbt: Tail

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float = 300) -> int:
        return self.proc.wait(timeout=timeout)

    def kill(self) -> bool:
        """SIGKILL now; False when the process had already exited."""
        if not self.alive():
            return False
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)
        return self.proc.returncode == -signal.SIGKILL

    def until(self, ready: Callable[[], bool], timeout: float = 240) -> bool:
        """Poll `ready` every 2 ms until it holds (True) or the process exits (False)."""
        deadline = time.monotonic() + timeout
        while True:
            if ready():
                return True
            if not self.alive():
                return ready()
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for the run:\n{self.err.text}")
            time.sleep(0.002)

    def sleep(self, seconds: float) -> bool:
        """Sleep while the process runs; False when it exited first."""
        end = time.monotonic() + seconds
        return self.until(lambda: time.monotonic() >= end)

    @property
    def stderr(self) -> str:
        return self.err.text

    def stage(self) -> str:
        """Where the run is (or was when it died): extract, dbt, publish, after publish."""
        if self.err.count(PUBLISHED):
            return "after publish"
        if self.dbt.count(DBT_DONE):
            return "publish"
        if self.err.count(EXTRACTED):
            return "dbt"
        return "extract"


def error_lines(stderr: str) -> list[str]:
    """stderr without its log records: what the command said to the user. Never a traceback."""
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.strip() and not _LOG_RECORD.match(line)]


# --- what must not change ---------------------------------------------------------------------


def published_marts(path: Path) -> dict[str, list[tuple[str | None, ...]]]:
    """The published file row for row: every mart, the watermarks and the raw-table summary,
    each table's rows sorted, values as text.

    Left out, as they differ between two correct runs by design: `_runs` (one row per run, with
    its own id, times and counts: a killed run's history is not an uninterrupted run's),
    `_watermarks.updated_at` and `_raw_tables.last_extracted_at` (when rows were written, not
    what was written). Everything else is compared, every mart column included.
    """
    skipped = {"_watermarks": "updated_at", RAW_TABLES_SUMMARY: "last_extracted_at"}
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main'"
        ).fetchall()}
        expected = {*MARTS, "_runs", "_watermarks", RAW_TABLES_SUMMARY}
        assert tables == expected, f"{path}: tables {sorted(tables ^ expected)} differ"
        out: dict[str, list[tuple[str | None, ...]]] = {}
        for name in (*MARTS, "_watermarks", RAW_TABLES_SUMMARY):
            columns = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_name = ? "
                "order by ordinal_position", [name]).fetchall() if r[0] != skipped.get(name)]
            select = ", ".join(f'"{c}"::varchar' for c in columns)
            out[name] = sorted(con.execute(f'select {select} from main."{name}"').fetchall(),
                               key=lambda row: tuple((v is not None, v or "") for v in row))
        return out
    finally:
        con.close()


def differences(actual: dict[str, list[tuple]], expected: dict[str, list[tuple]]) -> str:
    lines = []
    for name in expected:
        have, want = set(actual.get(name, [])), set(expected[name])
        if actual.get(name) != expected[name]:
            lines.append(f"{name}: {len(actual.get(name, []))} rows vs {len(expected[name])}; "
                         f"e.g. extra {sorted(have - want)[:1]}, missing {sorted(want - have)[:1]}")
    return "\n".join(lines)


# --- the organisation, its server and the baseline --------------------------------------------


@dataclass(frozen=True)
class StageTimes:
    """Seconds from the start of the baseline run (under SLOW) to each stage boundary."""

    extracted: float
    dbt_first_node: float
    dbt_done: float
    published: float
    exited: float
    units: int
    dbt_nodes: int


@dataclass
class Baseline:
    directory: Path
    day: date
    marts: dict[str, list[tuple[str | None, ...]]]
    times: StageTimes


@dataclass
class Chaos:
    org: GeneratedOrg
    app: Starlette
    server: RunningServer
    root: Path
    baseline: Baseline = field(init=False)

    # the server
    def faults(self, spec: str | None) -> None:
        """Serve the next requests with this fault plan (None: none); ordinals restart."""
        self.app.state.fake.faults = FaultPlan.parse(spec) if spec else FaultPlan()
        self.app.state.stats.reset()

    def faults_served(self) -> dict[str, int]:
        return httpx.get(f"{self.server.base_url}/_fake/stats").json()["faults_by_kind"]

    def graphql_budget(self, *, spent: bool) -> None:
        """GitHub's hourly GraphQL budget all used (resets in an hour) or all left."""
        budget = self.app.state.rate_limits.graphql
        budget.used = budget.limit if spent else 0

    # warehouses
    def workspace(self, directory: Path, *, completed: bool) -> Workspace:
        """A config pointing at the server; `completed`: the baseline's warehouse and published
        file copied in (a warehouse whose last run published)."""
        directory.mkdir(parents=True, exist_ok=True)
        config = write_config(self.org, directory, self.server.base_url)
        space = Workspace(directory, config)
        if completed:
            shutil.copy(self.baseline.directory / "fourkeys.duckdb", space.warehouse)
            shutil.copy(published_path(self.baseline.directory / "fourkeys.duckdb"),
                        space.published)
        return space

    def start(self, space: Workspace, *flags: str) -> Run:
        stderr_path = space.directory / f"stderr-{time.monotonic_ns()}.log"
        dbt_offset = space.dbt_log.stat().st_size if space.dbt_log.exists() else 0
        with open(stderr_path, "wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "fourkeys.cli", "run", "--config", str(space.config),
                 *flags], cwd=str(ROOT), env={**os.environ, **RUN_ENV},
                stdout=subprocess.DEVNULL, stderr=stderr)
        return Run(proc, space, time.monotonic(), Tail(stderr_path, (UNIT_DONE, EXTRACTED,
                                                                     PUBLISHED)),
                   Tail(space.dbt_log, (DBT_NODE_START, DBT_DONE), offset=dbt_offset))

    def run(self, space: Workspace, *flags: str, timeout: float = 300) -> tuple[int, str]:
        """(exit code, stderr) of a whole `fourkeys run`."""
        run = self.start(space, *flags)
        try:
            code = run.wait(timeout)
        finally:
            run.kill()
        return code, run.stderr

    def expected(self) -> dict[str, list[tuple[str | None, ...]]]:
        """The baseline's published marts; rebuilt if the UTC date changed since (dora_summary's
        window ends today)."""
        if self.baseline.day != today_utc():
            self.baseline = self._build_baseline()
        return self.baseline.marts

    def assert_baseline(self, published: Path, context: str = "") -> None:
        actual, expected = published_marts(published), self.expected()
        assert actual == expected, (
            f"{context}\npublished marts differ from the uninterrupted run's:\n"
            f"{differences(actual, expected)}")

    def _build_baseline(self) -> Baseline:
        """One uninterrupted `fourkeys run` (under SLOW, like the runs we kill), timing each
        stage from the run's own log lines."""
        space = self.workspace(self.root / f"baseline-{time.monotonic_ns()}", completed=False)
        self.faults(SLOW)
        day = today_utc()
        run = self.start(space)
        marks: dict[str, float] = {}
        checks = {
            "extracted": lambda: run.err.count(EXTRACTED) > 0,
            "dbt_first_node": lambda: run.dbt.count(DBT_NODE_START) > 0,
            "dbt_done": lambda: run.dbt.count(DBT_DONE) > 0,
            "published": lambda: run.err.count(PUBLISHED) > 0,
        }
        try:
            for name, check in checks.items():
                assert run.until(check), f"the baseline run stopped before {name}:\n{run.stderr}"
                marks[name] = time.monotonic() - run.started
            code = run.wait()
            marks["exited"] = time.monotonic() - run.started
        finally:
            run.kill()
            self.faults(None)
        assert code == 0, run.stderr
        nodes = {int(m.group(1)) for line in run.dbt.lines if (m := DBT_NODE_START.search(line))}
        assert len(nodes) == 1, nodes
        times = StageTimes(units=run.err.count(UNIT_DONE), dbt_nodes=nodes.pop(), **marks)
        return Baseline(space.directory, day, published_marts(space.published), times)


@pytest.fixture(scope="session")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chaos]:
    """This worker's organisation, server and baseline (built once per worker)."""
    org = generate(chaos_spec(today_utc()))
    app = create_app(load_scenario(org.scenario))
    # a killed client leaves the fake mid-request; uvicorn would log each as a traceback
    uvicorn_errors = logging.getLogger("uvicorn.error")
    with serve_in_thread(app) as server:
        uvicorn_errors.disabled = True
        try:
            chaos = Chaos(org, app, server, tmp_path_factory.mktemp("chaos"))
            chaos.baseline = chaos._build_baseline()
            yield chaos
        finally:
            uvicorn_errors.disabled = False


@pytest.fixture(autouse=True)
def _server_reset(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts and ends with a well-behaved server (no faults, a full budget)."""
    if "chaos" not in request.fixturenames:
        yield
        return
    chaos: Chaos = request.getfixturevalue("chaos")
    chaos.faults(None)
    chaos.graphql_budget(spent=False)
    yield
    chaos.faults(None)
    chaos.graphql_budget(spent=False)
