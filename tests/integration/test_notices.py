"""Run notices through a local fake Slack incoming webhook (real HTTP on 127.0.0.1).

The webhook URL is handed over in a variable whose name does not look secret
(`[notices] webhook_env` says which), so log redaction could not hide a leak of the URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from fakes.generator import GeneratedOrg
from fakes.slack import FakeSlack, serve_fake_slack
from fourkeys.lock import run_lock
from tests.conftest import Served, run_cli, serve_org

VAR = "FK_NOTICE_TARGET"


@pytest.fixture
def slack() -> Iterator[tuple[str, FakeSlack]]:
    with serve_fake_slack() as (server, fake):
        yield f"{server.base_url}/services/T0FAKE/B0FAKE/s3cr3t-webhook-path", fake


def _with_notices(served: Served, **options: bool) -> None:
    lines = ["", "[notices]", f'webhook_env = "{VAR}"']
    lines += [f"{key} = {'true' if value else 'false'}" for key, value in options.items()]
    text = served.config_path.read_text(encoding="utf-8").split("\n[notices]")[0]
    served.config_path.write_text(text + "\n".join(lines) + "\n", encoding="utf-8")


def _run(served: Served, url: str, *args: str) -> tuple[int, str]:
    done = run_cli(*args, "--config", str(served.config_path),
                   env={VAR: url, "FOURKEYS_RETRY_BASE_SECONDS": "0.01"})
    output = done.stdout + done.stderr
    assert "s3cr3t-webhook-path" not in output and "***" not in output, output
    return done.returncode, output


@pytest.fixture
def failing(small_org: GeneratedOrg, tmp_path: Path) -> Iterator[Served]:
    yield from serve_org(small_org, tmp_path, faults="401@graphql:1+")


def test_a_failed_run_posts_one_notice_with_the_reason(
        failing: Served, slack: tuple[str, FakeSlack]) -> None:
    url, fake = slack
    _with_notices(failing)
    code, output = _run(failing, url, "run")
    assert code == 1
    posts = fake.webhook_posts
    assert len(posts) == 1, posts
    text = posts[0].body["text"]
    assert text.startswith(":x: fourkeys run failed on ")
    assert "token was rejected" in text  # the same one line the CLI printed
    assert output.strip().splitlines()[-1].split("error: ", 1)[1] in text
    assert posts[0].path == "T0FAKE/B0FAKE/s3cr3t-webhook-path"


def test_success_is_silent_by_default_and_a_summary_when_asked(
        served: Served, slack: tuple[str, FakeSlack]) -> None:
    url, fake = slack
    _with_notices(served)  # on_success defaults to false
    code, output = _run(served, url, "extract")
    assert code == 0, output
    assert fake.webhook_posts == []

    _with_notices(served, on_success=True)
    code, output = _run(served, url, "run")
    assert code == 0, output
    assert len(fake.webhook_posts) == 1
    text = fake.webhook_posts[0].body["text"]
    head, week, *teams = text.splitlines()
    assert head.startswith(":white_check_mark: fourkeys run success on ")
    assert "extracted " in head and "transformed: " in head and "marts published" in head

    con = duckdb.connect(str(served.warehouse_path.with_name("fourkeys.published.duckdb")),
                         read_only=True)
    rows = con.execute("""
        select team, week_start, deployments from metrics_weekly
        where grain = 'team' and week_start = (select max(week_start) from metrics_weekly)
        order by team""").fetchall()
    con.close()
    assert week == f"Week of {rows[0][1]:%Y-%m-%d}:"
    assert [line.split(":")[0] for line in teams] == [f"• {team}" for team, _, _ in rows]
    for line, (_, _, deployments) in zip(teams, rows, strict=True):
        assert f": {deployments} deployments, lead time " in line and "CFR " in line


def test_a_skipped_run_posts_nothing(served: Served, slack: tuple[str, FakeSlack]) -> None:
    url, fake = slack
    _with_notices(served, on_success=True)
    with run_lock(served.warehouse_path):
        code, output = _run(served, url, "run")
    assert code == 0 and "skipped" in output
    assert fake.webhook_posts == []


def test_an_unreachable_webhook_is_a_warning_that_keeps_the_exit_code(failing: Served) -> None:
    _with_notices(failing)
    dead = "http://127.0.0.1:9/services/T0/B0/s3cr3t-webhook-path"  # port 9: nobody listens
    code, output = _run(failing, dead, "extract")
    assert code == 1
    assert f"could not deliver the Slack notice to ${VAR}" in output
    assert output.strip().splitlines()[-1].startswith("fourkeys: error: ")
