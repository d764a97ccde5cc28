"""Injected faults over real HTTP: retriable ones change nothing, fatal ones are one clear line.

Every comparison is against a clean run of the same scenario served on the same port (the fake
puts its own address in some URLs, e.g. workflow runs' `html_url`, and so in their ETags), through
the real CLI in a fresh process.
"""

from __future__ import annotations

import ast
import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb

from fakes.faults import FaultPlan
from fakes.generator import GeneratedOrg
from fakes.scenario import load_scenario
from fakes.server import create_app, serve_in_thread
from tests.conftest import Served, run_cli, table_snapshot, write_config
from tests.integration.test_extract_idempotence import check_partial_state

# Several at once on every channel. Heroku and REST faults are stacked on consecutive ordinals:
# the first request on the channel fails four times in a row and succeeds on its fifth attempt
# (the policy allows six), whatever the number of requests the run makes there.
RETRIABLE = (
    "502@graphql:2,secondary_403@graphql:4,malformed@graphql:6,429@graphql:8,"
    "429@rest:1,malformed@rest:2,502@rest:3,secondary_403@rest:4,"
    "secondary_403@heroku:1,429@heroku:2,502@heroku:3,malformed@heroku:4"
)
FAST_RETRIES = {"FOURKEYS_RETRY_BASE_SECONDS": "0.05"}
_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING) \S+: ")
_REQUEST = re.compile(
    r"^(?P<at>\S+ \S+) DEBUG extractors\.http: (?P<channel>rest|heroku) GET (?P<path>\S+) → "
    r"(?P<status>\d+) "
)


@contextmanager
def _serve(org: GeneratedOrg, directory: Path, *, port: int = 0, faults: str | None = None,
           rate_limit: int = 5000) -> Iterator[Served]:
    """A fresh fake server (port 0: any free port) and a config in `directory` pointing at it."""
    plan = FaultPlan.parse(faults) if faults else None
    scenario = load_scenario(org.scenario)
    with serve_in_thread(create_app(scenario, plan, rate_limit=rate_limit), port=port) as server:
        config = write_config(org, directory, server.base_url)
        yield Served(org, scenario, server, config, directory / "fourkeys.duckdb")


# histories pinned to GraphQL: unpinned, each repository's goes to the budget spent less so far,
# which depends on timing, and the request counts below are compared run to run
PINNED = {"FOURKEYS_HISTORY_API": "graphql"}


def _extract(served: Served, *flags: str, env: dict[str, str] | None = None):
    return run_cli(*flags, "extract", "--config", str(served.config_path),
                   env={**PINNED, **(env or {})}, timeout=120)


def _error_lines(stderr: str) -> list[str]:
    """stderr without the progress/log records: what the user is told went wrong."""
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if not _LOG_LINE.match(line)]


def _last_run(path: Path) -> tuple[str, str | None]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select status, message from _runs order by started_at desc "
                           "limit 1").fetchone()
    finally:
        con.close()


def _clean_run(org: GeneratedOrg, directory: Path) -> tuple[int, dict[str, list[tuple]],
                                                            dict[str, int]]:
    """(port, tables, requests per channel) of a clean run."""
    with _serve(org, directory) as clean:
        done = _extract(clean)
        assert done.returncode == 0, done.stderr
        return (clean.server.port, table_snapshot(clean.warehouse_path),
                clean.stats()["requests"])


def test_retriable_faults_on_every_channel_lose_and_duplicate_nothing(
    small_org: GeneratedOrg, tmp_path: Path
) -> None:
    port, clean_tables, clean_requests = _clean_run(small_org, tmp_path / "clean")
    with _serve(small_org, tmp_path / "faults", port=port, faults=RETRIABLE) as served:
        done = _extract(served, "-v", env=FAST_RETRIES)
        assert done.returncode == 0, done.stderr
        assert table_snapshot(served.warehouse_path) == clean_tables
        stats = served.stats()

    # every fault was served, and each cost exactly one more request than the clean run made
    plan = Counter(item.split("@")[0] for item in RETRIABLE.split(","))
    assert stats["faults_by_kind"] == dict(plan)
    assert stats["faults_injected"] == sum(plan.values()) == 12
    for channel in ("graphql", "rest", "heroku"):
        on_channel = sum(1 for item in RETRIABLE.split(",") if f"@{channel}:" in item)
        assert stats["requests"][channel] == clean_requests[channel] + on_channel, channel
    # the extractor saw and counted the same requests, and said why it retried each time
    summary = re.search(r"with (\d+) requests \((\{[^}]*\})", done.stderr)
    assert summary is not None, done.stderr
    assert int(summary.group(1)) == stats["requests"]["total"]
    assert ast.literal_eval(summary.group(2)) == {
        c: n for c, n in stats["requests"].items() if c != "total"}
    assert done.stderr.count("INFO extractors.http: retrying ") == 12
    # progress is reported as units finish, not all at once at the end: the GitHub units are
    # done while Heroku still waits out its Retry-Afters
    log = done.stderr.splitlines()
    first_done = next(i for i, line in enumerate(log) if "INFO fourkeys: done: " in line)
    last_heroku = max(i for i, line in enumerate(log) if "extractors.http: heroku GET" in line)
    assert first_done < last_heroku, done.stderr

    # Retry-After (1 s on 429 and rate-limit 403s) is honoured; other retries use the short base
    lines = [m for m in map(_REQUEST.match, done.stderr.splitlines()) if m]
    honoured, quick = [], []
    for i, line in enumerate(lines):
        retry = next((m for m in lines[i + 1:] if m["channel"] == line["channel"]
                      and m["path"] == line["path"]), None)
        if retry is None or line["status"] not in ("403", "429", "502"):
            continue
        gap = (datetime.fromisoformat(retry["at"].replace(",", "."))
               - datetime.fromisoformat(line["at"].replace(",", "."))).total_seconds()
        (quick if line["status"] == "502" else honoured).append(gap)
    assert len(honoured) == 4 and len(quick) == 2, done.stderr
    assert min(honoured) >= 0.99, honoured
    assert max(quick) < 0.99, quick


def test_rejected_token_is_one_line_and_changes_nothing(
    small_org: GeneratedOrg, tmp_path: Path
) -> None:
    port, _, _ = _clean_run(small_org, tmp_path)
    before = table_snapshot(tmp_path / "fourkeys.duckdb")
    # the same warehouse, its config pointed at a new server (same scenario) that rejects the token
    with _serve(small_org, tmp_path, port=port, faults="401@graphql:1") as served:
        done = _extract(served)
        assert served.stats()["faults_by_kind"] == {"401": 1}
    assert done.returncode == 1
    assert done.stdout == ""
    # cron mode logs each finished unit: a Heroku app, which needs no GitHub token, may finish
    # before the rejection stops the run; what the user is told went wrong is one line, the last
    lines = _error_lines(done.stderr)
    assert len(lines) == 1 and lines == done.stderr.splitlines()[-1:], done.stderr
    assert all(" done: heroku:" in line for line in done.stderr.splitlines()[:-1]), done.stderr
    named = re.match(r"fourkeys: error: (acme/[\w.-]+)[ :]", lines[0])
    assert named is not None, lines[0]
    assert named.group(1) in {r.full_name for r in served.scenario.repositories}
    assert "the token was rejected" in lines[0]
    assert table_snapshot(served.warehouse_path) == before
    status, message = _last_run(served.warehouse_path)
    assert status == "failed" and "the token was rejected" in (message or "")


def test_missing_repository_is_one_line_naming_it(small_org: GeneratedOrg,
                                                    tmp_path: Path) -> None:
    with _serve(small_org, tmp_path) as served:
        first = small_org.services[0].repository
        text = served.config_path.read_text()
        assert f'repository = "{first}"' in text
        served.config_path.write_text(text.replace(f'"{first}"', '"acme/does-not-exist"'))
        done = _extract(served)
    assert done.returncode == 1, done.stderr
    errors = _error_lines(done.stderr)
    assert len(errors) == 1 and errors == done.stderr.splitlines()[-1:], done.stderr
    assert errors[0].startswith("fourkeys: error: acme/does-not-exist")
    assert "not found" in errors[0]


def test_spent_rate_limit_stops_resumably_with_exact_watermarks(
    small_org: GeneratedOrg, tmp_path: Path
) -> None:
    port, clean_tables, _ = _clean_run(small_org, tmp_path / "clean")
    directory = tmp_path / "partial"
    # 56 an hour: the first few pages (≈ 2 points each, histories by REST) fit above the
    # 50-point floor, the rest do not (the whole organisation costs 12 points and 9 requests)
    with _serve(small_org, directory, port=port, rate_limit=56) as tiny:
        text = tiny.config_path.read_text().replace(
            "[github]\n", "[github]\nmax_rate_limit_wait_seconds = 0\n", 1)
        tiny.config_path.write_text(text)
        started = time.monotonic()
        done = _extract(tiny)
        assert time.monotonic() - started < 30  # it stopped, it did not wait for the reset
    assert done.returncode == 2, done.stderr
    errors = _error_lines(done.stderr)
    assert len(errors) == 1 and errors == done.stderr.splitlines()[-1:], done.stderr
    assert "rate limit" in errors[0] and "resume" in errors[0], errors[0]
    assert _last_run(tiny.warehouse_path)[0] == "partial"
    # what was written is a consistent prefix: watermarks equal the clean run's, each backed by
    # all of its stream's rows, and no row a clean run would not have
    counts = check_partial_state(tiny.warehouse_path, clean_tables)
    assert 0 < counts["_watermarks"] < len(clean_tables["_watermarks"]), counts

    with _serve(small_org, directory, port=port) as fresh:  # a new budget; same warehouse
        done = _extract(fresh)
        assert done.returncode == 0, done.stderr
        assert table_snapshot(fresh.warehouse_path) == clean_tables
