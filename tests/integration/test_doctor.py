"""`fourkeys doctor` against the real fake GitHub/Heroku on 127.0.0.1: one line per check,
✔ / ✖ with the fix, exit 1 when a check fails, nothing written, no secret printed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.generator import GeneratedOrg
from fourkeys.cli import main
from tests.conftest import TOKEN, Served, run_cli, serve_org


def _doctor(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    code = main(["doctor", "--config", str(config)])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def _line(lines: list[str], subject: str) -> str:
    found = [line for line in lines if line[2:].startswith(subject + ":")]
    assert len(found) == 1, (subject, lines)
    return found[0]


def _repositories(served: Served) -> list[str]:
    return sorted({s.repository.lower() for s in served.org.services})


def _files(folder: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in folder.rglob("*")}


@pytest.fixture
def faulty_401(small_org: GeneratedOrg, tmp_path: Path) -> Iterator[Served]:
    yield from serve_org(small_org, tmp_path, faults="401@rest:1+")


def test_healthy_setup_passes_every_check_and_writes_nothing(
        served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    before = _files(served.config_path.parent)
    code, lines, err = _doctor(served.config_path, capsys)
    assert code == 0, [line for line in lines if not line.startswith("✔")]
    assert lines[-1] == "✔ doctor: ready to run"
    assert not [line for line in lines if line.startswith("✖")]
    assert "6 services of 2 teams" in _line(lines, "config")
    assert "scopes read:org, repo" in _line(lines, "github token")
    assert _line(lines, "rate limit").startswith("✔ rate limit: core ")
    for repository in _repositories(served):
        assert _line(lines, repository).startswith("✔"), repository
    assert "will be created by the first run" in _line(lines, "warehouse")
    assert "project parses" in _line(lines, "dbt")
    assert "off ($FOURKEYS_SLACK_WEBHOOK_URL not set)" in _line(lines, "notices")
    assert TOKEN not in "\n".join(lines) + err
    assert _files(served.config_path.parent) == before  # no warehouse, lock or dbt folder


def test_after_a_run_reports_the_warehouse_and_the_last_run(
        served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    # its own process, as under cron (dbt keeps this process's DuckDB connection open)
    assert run_cli("run", "--config", str(served.config_path)).returncode == 0
    code, lines, _ = _doctor(served.config_path, capsys)
    assert code == 0, [line for line in lines if not line.startswith("✔")]
    assert "opens" in _line(lines, "warehouse")
    assert _line(lines, "last run").startswith("✔ last run: transform success at ")


def test_rejected_token_is_one_failing_line_with_the_fix(
        faulty_401: Served, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = _doctor(faulty_401.config_path, capsys)
    assert code == 1
    line = _line(lines, "github token")
    assert line.startswith("✖") and "401" in line and "new token" in line
    assert TOKEN not in "\n".join(lines)
    assert lines[-1].startswith("✖ doctor: 1 check(s) failed")


def test_unset_token_unknown_repository_and_corrupt_warehouse_each_fail(
        served: Served, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    text = served.config_path.read_text(encoding="utf-8")
    first_repo = _repositories(served)[0]
    served.config_path.write_text(
        text.replace(f'repository = "{first_repo}"', 'repository = "acme/no-such-repo"', 1),
        encoding="utf-8")
    served.warehouse_path.write_bytes(b"this is not a duckdb database" * 100)
    code, lines, _ = _doctor(served.config_path, capsys)
    assert code == 1
    assert _line(lines, "acme/no-such-repo").startswith("✖")
    assert "grant the token access" in _line(lines, "acme/no-such-repo")
    assert "not a usable DuckDB file" in _line(lines, "warehouse")
    assert lines[-1].startswith("✖ doctor: 2 check(s) failed")

    monkeypatch.delenv("GITHUB_TOKEN")
    code, lines, _ = _doctor(served.config_path, capsys)
    assert code == 1
    assert "$GITHUB_TOKEN is not set; export GITHUB_TOKEN=" in _line(lines, "github token")


def test_bad_config_is_one_failing_line(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "fourkeys.toml"
    config.write_text("[[services]]\nname = 'a'\n", encoding="utf-8")
    code, lines, _ = _doctor(config, capsys)
    assert code == 1
    assert lines[0].startswith("✖ config: ") and "missing key" in lines[0]
    assert len(lines) == 2


def test_webhook_url_value_never_printed(served: Served, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "https://hooks.slack.example/services/T000/B000/very-secret-part"
    monkeypatch.setenv("FOURKEYS_SLACK_WEBHOOK_URL", secret)
    code, lines, err = _doctor(served.config_path, capsys)
    assert code == 0
    assert "Slack webhook from $FOURKEYS_SLACK_WEBHOOK_URL on failure" in _line(lines, "notices")
    assert "very-secret-part" not in "\n".join(lines) + err
    assert os.environ["FOURKEYS_SLACK_WEBHOOK_URL"] == secret


def test_organisations_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fakes.scenario import load_scenario
    from fakes.server import create_app, serve_in_thread
    from tests.org_scenario import build_scenario, write_config

    scenario = load_scenario(build_scenario())
    with serve_in_thread(create_app(scenario)) as server:
        config = write_config(tmp_path, server.base_url)
        logins = sorted({r.owner for r in scenario.repositories})
        code, lines, _ = _doctor(config, capsys)
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace(f'name = "{logins[0]}"', 'name = "no-such-org"', 1),
                          encoding="utf-8")
        bad_code, bad_lines, _ = _doctor(config, capsys)
    checked = [line for line in lines if line[2:].startswith("organisation ")]
    assert checked and all(line.startswith("✔") for line in checked), lines
    assert code == 0, [line for line in lines if not line.startswith("✔")]
    assert "repositories to filter" in checked[0]
    assert bad_code == 1
    assert _line(bad_lines, "organisation no-such-org").startswith("✖")
