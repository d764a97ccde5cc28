"""Bad command lines, bad scenario files and bad API answers: one error line, the contract's exit
code, no traceback, no token, and nothing written.

Command-line and scenario cases fail before any work, so the case folder must be byte-identical
afterwards. API cases run the real `fourkeys extract` against the fake GitHub/Heroku serving a
fault from the first request on (or a name the server does not know), so no unit can load: the
warehouse may hold its bookkeeping (`_runs` records the failed run, by design) but no raw row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from fakes.generator import GeneratedOrg
from fakes.scenario import load_scenario
from fakes.server import create_app, serve_in_thread
from tests.bad_inputs.test_bad_config import listing, valid_toml
from tests.conftest import HEROKU_TOKEN, TOKEN, run_cli


def assert_error_line(done: object, expect: tuple[str, ...], code: int = 1) -> str:
    """Exactly one `fourkeys: error:` line and it is the last; progress lines (INFO, retries)
    may precede it under cron, never a traceback or a token."""
    out = done.stdout + done.stderr  # type: ignore[attr-defined]
    assert done.returncode == code, out  # type: ignore[attr-defined]
    assert "Traceback" not in out, out
    assert TOKEN not in out and HEROKU_TOKEN not in out
    lines = done.stderr.splitlines()  # type: ignore[attr-defined]
    errors = [line for line in lines if line.startswith("fourkeys: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], done.stderr  # type: ignore[attr-defined]
    for word in expect:
        assert word in errors[0], f"{word!r} missing from: {errors[0]}"
    return errors[0]


# --- the command line ----------------------------------------------------------------------------
CLI_CASES: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    ("sql_without_query", ("sql",), ("required", "query")),
    ("sql_unknown_format", ("sql", "--format", "xml", "select 1"), ("invalid choice", "'xml'")),
    ("as_of_not_a_date", ("transform", "--as-of", "2026-02-30"), ("2026-02-30", "2026-01-31")),
    ("since_a_word", ("extract", "--since", "yesterday"), ("--since", "'yesterday'")),
    ("port_not_a_number", ("dashboard", "--port", "eighty"), ("invalid int value", "'eighty'")),
    ("import_requests_without_files", ("import-requests",), ("required", "FILE")),
    ("import_requests_unknown_format", ("import-requests", "--format", "xml", "x.log"),
     ("invalid choice", "'xml'")),
    ("unknown_command", ("frobnicate",), ("invalid choice", "'frobnicate'")),
    ("fake_api_without_scenario", ("fake-api",), ("required", "--scenario")),
    ("log_format_unknown", ("--log-format", "yaml", "run"), ("invalid choice", "'yaml'")),
    ("as_of_without_value", ("transform", "--as-of"), ("--as-of", "expected one argument")),
    ("bot_port_not_a_number", ("incident-bot", "--port", "x"), ("invalid int value", "'x'")),
]


@pytest.mark.parametrize(("argv", "expect"),
                         [pytest.param(a, e, id=i) for i, a, e in CLI_CASES])
def test_bad_command_line(argv: tuple[str, ...], expect: tuple[str, ...],
                          tmp_path: Path) -> None:
    config = tmp_path / "fourkeys.toml"
    config.write_text('[warehouse]\npath = "w.duckdb"\n[[services]]\nname = "a"\nteam = "t"\n'
                      'repository = "acme/a"\ndeployment_source = "merged_pull_requests"\n')
    before = listing(tmp_path)
    done = run_cli(*argv, env={"FOURKEYS_CONFIG": str(config)}, timeout=60)
    assert_error_line(done, expect)
    assert listing(tmp_path) == before


def test_sql_before_anything_was_published(tmp_path: Path) -> None:
    config = tmp_path / "fourkeys.toml"
    config.write_text('[warehouse]\npath = "w.duckdb"\n[[services]]\nname = "a"\nteam = "t"\n'
                      'repository = "acme/a"\ndeployment_source = "merged_pull_requests"\n')
    before = listing(tmp_path)
    done = run_cli("sql", "--config", str(config), "select 1", timeout=60)
    assert_error_line(done, ("fourkeys run",))
    assert listing(tmp_path) == before


# --- scenario files (`fourkeys fake-api --scenario`) -------------------------------------------
def _valid(org: GeneratedOrg) -> dict:  # type: ignore[type-arg]
    return json.loads(json.dumps(org.scenario))


@dataclass(frozen=True)
class ScenarioCase:
    id: str
    write: Callable[[Path, dict], None]  # type: ignore[type-arg]
    expect: tuple[str, ...]


def _json(mutate: Callable[[dict], object]) -> Callable[[Path, dict], None]:  # type: ignore[type-arg]
    def write(path: Path, doc: dict) -> None:  # type: ignore[type-arg]
        mutate(doc)
        path.write_text(json.dumps(doc), encoding="utf-8")
    return write


def _first_pr(doc: dict) -> dict:  # type: ignore[type-arg]
    return next(r for r in doc["repositories"] if r["pull_requests"])["pull_requests"][0]


SCENARIO_CASES = [
    ScenarioCase("scenario_missing", lambda p, d: None, ("file not found",)),
    ScenarioCase("scenario_not_json", lambda p, d: p.write_text("{'a': 1,", encoding="utf-8"),
                 ("not valid JSON", "line 1")),
    ScenarioCase("scenario_top_level_list", lambda p, d: p.write_text("[]", encoding="utf-8"),
                 ("top level must be a JSON object",)),
    ScenarioCase("scenario_unknown_key", _json(lambda d: d.update(jira={})),
                 ("unknown key 'jira'",)),
    ScenarioCase("scenario_branch_to_unknown_commit",
                 _json(lambda d: d["repositories"][0]["branches"].update(main="f" * 40)),
                 ("branch 'main' points to unknown commit",)),
    ScenarioCase("scenario_pull_request_twice",
                 _json(lambda d: next(r for r in d["repositories"] if r["pull_requests"])[
                     "pull_requests"].append(_first_pr(d))),
                 ("pull request #", "twice")),
    ScenarioCase("scenario_pull_request_unknown_commit",
                 _json(lambda d: _first_pr(d)["commits"].append("e" * 40)),
                 ("lists unknown commit",)),
    ScenarioCase("scenario_now_not_a_time", _json(lambda d: d.update(now="soon")),
                 ("now",)),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in SCENARIO_CASES])
def test_bad_scenario_file(case: ScenarioCase, small_org: GeneratedOrg, tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    case.write(path, _valid(small_org))
    before = listing(tmp_path)
    done = run_cli("fake-api", "--scenario", str(path), "--port", "0", timeout=60)
    line = assert_error_line(done, case.expect)
    assert str(path) in line
    assert listing(tmp_path) == before


def test_the_unmutated_scenario_is_valid(small_org: GeneratedOrg) -> None:
    """Control: each scenario case's error comes from its one mistake."""
    assert load_scenario(_valid(small_org)).repositories


# --- API answers -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiCase:
    id: str
    faults: str | None
    expect: tuple[str, ...]
    code: int = 1
    edit: Callable[[str], str] | None = None  # rewrite the config text
    # the tables that must stay empty (default: every raw table and the watermarks); the
    # Heroku case still reads the service's GitHub repository, which is fine to load
    empty: tuple[str, ...] | None = None


def _first_repository_unknown(text: str) -> str:
    """Only the first service, renamed to a repository the server does not know."""
    head, _, rest = text.partition("[[services]]")
    service = rest.split("[[", 1)[0]
    service = re.sub(r'repository = "[^"]+"', 'repository = "acme/no-such-repo"', service)
    return head + "[[services]]" + service + _metrics(text)


def _only_heroku_unknown_app(text: str) -> str:
    head, _, rest = text.partition("[[services]]")
    blocks = ["[[services]]" + b.split("[[incident_sources]]")[0].split("[metrics]")[0]
              for b in ("[[services]]" + rest).split("[[services]]")[1:]]
    heroku = next(b for b in blocks if "heroku_app" in b)
    heroku = re.sub(r'heroku_app = "[^"]+"', 'heroku_app = "no-such-app"', heroku)
    return head + heroku + _metrics(text)


def _metrics(text: str) -> str:
    return "\n[metrics]" + text.split("[metrics]", 1)[1] if "[metrics]" in text else ""


API_CASES = [
    ApiCase("api_401_everywhere", "401@any:1+", ("token was rejected",)),
    ApiCase("api_500_everywhere", "500@any:1+", ("gave up after", "HTTP 500", "re-run later")),
    ApiCase("api_503_everywhere", "503@any:1+", ("gave up after", "HTTP 503")),
    ApiCase("api_malformed_pages", "malformed@any:1+", ("gave up after", "malformed JSON")),
    ApiCase("api_rate_limit_spent", "primary_403=3600@any:1+",
            ("rate limit is spent", "run again after the reset"), code=2),
    ApiCase("api_unknown_repository", None, ("acme/no-such-repo", "not found on GitHub"),
            edit=_first_repository_unknown),
    ApiCase("api_unknown_heroku_app", None, ("no-such-app", "not found (404)"),
            edit=_only_heroku_unknown_app, empty=("raw_heroku_releases",)),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in API_CASES])
def test_bad_api_answer_loads_nothing(case: ApiCase, small_org: GeneratedOrg,
                                      tmp_path: Path) -> None:
    from fakes.faults import FaultPlan

    plan = FaultPlan.parse(case.faults) if case.faults else None
    with serve_in_thread(create_app(load_scenario(small_org.scenario), plan)) as server:
        warehouse = tmp_path / "fourkeys.duckdb"
        text = valid_toml(small_org, server.base_url, warehouse)
        if case.edit:
            text = case.edit(text)
        config = tmp_path / "fourkeys.toml"
        config.write_text(text, encoding="utf-8")
        done = run_cli("extract", "--config", str(config),
                       env={"FOURKEYS_RETRY_BASE_SECONDS": "0.01"}, timeout=120)
    assert_error_line(done, case.expect, case.code)
    counts = _raw_row_counts(warehouse)
    for table in case.empty or counts:
        assert counts.get(table, 0) == 0, counts


def _raw_row_counts(warehouse: Path) -> dict[str, int]:
    if not warehouse.exists():
        return {}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_name like 'raw_%' "
            "or table_name = '_watermarks'").fetchall()]
        return {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()


@pytest.mark.parametrize("value", ["lots", "0", "-5", "1.5"])
def test_bad_load_batch_size_loads_nothing(value: str, small_org: GeneratedOrg,
                                           tmp_path: Path) -> None:
    """FOURKEYS_LOAD_MAX_ROWS (extractors/loads.py) is checked before anything is written."""
    with serve_in_thread(create_app(load_scenario(small_org.scenario))) as server:
        warehouse = tmp_path / "fourkeys.duckdb"
        config = tmp_path / "fourkeys.toml"
        config.write_text(valid_toml(small_org, server.base_url, warehouse), encoding="utf-8")
        done = run_cli("extract", "--config", str(config),
                       env={"FOURKEYS_LOAD_MAX_ROWS": value}, timeout=120)
    assert_error_line(done, ("FOURKEYS_LOAD_MAX_ROWS", repr(value), "whole number"))
    assert not any(_raw_row_counts(warehouse).values())
