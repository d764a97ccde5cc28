"""Monorepos: two services in one repository get the right changes and deployments.

A hand-built scenario (tests/monorepo_scenario.py, drawn with tests/scenario_builder.py) served
by the real fake servers, extracted and transformed by the real `fourkeys run`. Every expected
row is worked out by hand from the facts below.

Repository `acme/mono`, branch main, mainline (first parents), oldest first:

    m0 ── s1 ── m2 ── r3a ── s4 ── d5 ── s5 ── d6
    │     │     │     │      │     │     │     direct: services/search/index/part000…319.json
    │     │     │     │      │     │     │           (320 files: two REST pages)
    │     │     │     │      │     │     PR #5 squash: services/checkout/gen/f000…119.py
    │     │     │     │      │     │           (120 files: the GraphQL page of 100 overflows)
    │     │     │     │      │     direct: services/search/synonyms.txt
    │     │     │     │      PR #4 squash: docs/guide.md, README.md  (no service's paths)
    │     │     │     PR #3 rebase: libs/pay/client.py, services/search/pay_hook.py
    │     │     PR #2 merge of p2a, p2b: services/search/rank.py, services/search/rank_test.py
    │     PR #1 squash: services/checkout/cart.py
    direct: README.md, services/checkout/app.py, services/search/app.py

Services (all on main):
    checkout       paths services/checkout/**, libs/pay/**; workflow_runs deploy-checkout.yml:
                   runs 101 (m2, 01-05 16:00), 102 (d5, 01-06 16:00), 103 (d6, 01-07 12:00)
    search         paths services/search (a directory); workflow_runs deploy-search.yml:
                   run 201 (d5, 01-06 15:00)
    search-merges  paths services/search/**; merged_pull_requests: only the PRs touching its
                   paths deploy it: #2 (m2), #3 (r3a)
    checkout-tags  paths services/checkout/**, tag_prefix "checkout-v"; releases
                   checkout-v1.0.0 (s1), checkout-v1.1.0 (s5), not search-v1.0.0 (m2)
    mono-all       no paths (every change of the repository); releases: all three
    plain          acme/plain, no paths; merged_pull_requests (reads no files)

Which change belongs to which path-filtered service (a change touching two services' paths
belongs to both):
    m0  checkout (services/checkout/app.py), search, search-merges, checkout-tags
    #1  checkout, checkout-tags          #2  search, search-merges
    #3  checkout (libs/pay), search, search-merges; NOT checkout-tags (libs/pay is not its path)
    #4  none                             d5  search, search-merges
    #5  checkout, checkout-tags          d6  search, search-merges

Files read: a PR's files come with the PR page (GraphQL); only #5 needs one more request (its
files past the first 100). Direct commits m0, d5, d6 need REST: 1 + 1 + 2 pages = 4 requests.
acme/plain, with no path-filtered service, reads no files at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakes.scenario import load_scenario
from fakes.server import RunningServer, create_app, serve_in_thread
from tests.conftest import query_rows as q
from tests.conftest import run_cli
from tests.monorepo_scenario import Mono, build_mono, write_config

COMMIT_ROUTE = "GET /repos/{owner}/{repo}/commits/{ref}"


def stats(server: RunningServer, reset: bool = False) -> dict[str, Any]:
    found = httpx.get(f"{server.base_url}/_fake/stats").json()
    if reset:
        httpx.post(f"{server.base_url}/_fake/stats/reset")
    return found


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


@dataclass(frozen=True)
class Built:
    mono: Mono
    warehouse: Path
    stats: dict[str, Any]  # the fake's counters after the one `fourkeys run`


@pytest.fixture(scope="module")
def mono() -> Mono:
    return build_mono()


@pytest.fixture(scope="module")
def built(mono: Mono, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    directory = tmp_path_factory.mktemp("monorepo")
    with serve_in_thread(create_app(load_scenario(mono.scenario))) as server:
        config = write_config(directory, server.base_url, with_paths=True)
        done = run_cli("run", "--config", str(config))
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        yield Built(mono, directory / "fourkeys.duckdb", stats(server))


# ---- extraction: who reads files, and what it costs -----------------------------------------


def test_only_the_monorepo_reads_files(built: Built) -> None:
    wh, s = built.warehouse, built.mono.sha
    # every PR of acme/mono with the union of its commits' files (all 120 of #5)
    assert q(wh, "select pull_request_number, count(*) from raw_github_pull_request_files "
                 "where repository = 'acme/mono' group by 1 order by 1") == [
        (1, 1), (2, 2), (3, 2), (4, 2), (5, 120)]
    # the direct commits only (all 320 files of d6, over two REST pages)
    assert q(wh, "select sha, count(*) from raw_github_commit_files group by 1 order by 2") == (
        sorted([(s["d5"], 1), (s["m0"], 3), (s["d6"], 320)], key=lambda r: r[1]))
    assert q(wh, "select count(*) from raw_github_pull_request_files "
                 "where repository <> 'acme/mono'") == [(0,)]
    # m0 + d5 + d6 (two pages): 4 requests, none for acme/plain's direct commit q0
    assert built.stats["routes"][COMMIT_ROUTE] == 4


# ---- the marts ------------------------------------------------------------------------------


def test_changes_of_the_two_workflow_services(built: Built) -> None:
    """(service, change_id, change_type, deployment_id, lead_time_seconds), worked out:

    checkout: m0 (commit) authored 01-05 08:00, shipped by run 101 at 16:00 → 8 h = 28800;
      #1 first commit 09:00 → run 101 16:00 → 7 h = 25200 (#2 between them is search's);
      #3 first commit 01-06 09:00 → run 102 16:00 → 7 h = 25200 (#4 and d5 shipped by 102 are
      not checkout's); #5 first commit 01-07 09:00 → run 103 12:00 → 3 h = 10800 (d6 is not).
    search: the first run 201 (d5, 01-06 15:00) ships every search change up to d5:
      m0 08:00 → 31 h = 111600; #2 first commit p2a 01-05 12:30 → 26.5 h = 95400;
      #3 01-06 09:00 → 6 h = 21600; d5 14:00 → 1 h = 3600; d6 is not deployed by search.
    """
    s = built.mono.sha
    got = q(built.warehouse, "select service, change_id, change_type, deployment_id, "
                             "lead_time_seconds from main.fct_changes "
                             "where service in ('checkout', 'search') order by 1, 4, 2")
    checkout_run, search_run = "checkout/workflow_runs/", "search/workflow_runs/"
    expected = [
        ("checkout", f"checkout/commit/{s['m0']}", "commit", checkout_run + "101", 28800),
        ("checkout", "checkout/pr/1", "pull_request", checkout_run + "101", 25200),
        ("checkout", "checkout/pr/3", "pull_request", checkout_run + "102", 25200),
        ("checkout", "checkout/pr/5", "pull_request", checkout_run + "103", 10800),
        ("search", f"search/commit/{s['d5']}", "commit", search_run + "201", 3600),
        ("search", f"search/commit/{s['m0']}", "commit", search_run + "201", 111600),
        ("search", "search/pr/2", "pull_request", search_run + "201", 95400),
        ("search", "search/pr/3", "pull_request", search_run + "201", 21600),
        ("search", f"search/commit/{s['d6']}", "commit", None, None),
    ]
    assert got == sorted(expected, key=lambda r: (r[0], r[3] is None, r[3] or "", r[1]))


def test_deployments_and_their_change_counts(built: Built) -> None:
    """(deployment_id, commit_sha, deployed_at, change_count), worked out:

    checkout 101 ships m0, s1, m2 → m0, #1 = 2; 102 ships r3a, s4, d5 → #3 = 1;
      103 ships s5, d6 → #5 = 1.
    search 201 (its first) ships m0 … d5 → m0, #2, #3, d5 = 4.
    search-merges deploys on the merges of PRs touching search only: #2 (m2, 01-05 15:00)
      ships m0, s1, m2 → m0, #2 = 2; #3 (r3a, 01-06 11:00) ships r3a → #3 = 1.
    checkout-tags: checkout-v1.0.0 (s1, 12:30) ships m0, s1 → m0, #1 = 2; search-v1.0.0 is
      not its tag; checkout-v1.1.0 (s5, 01-07 10:30) ships m2 … s5 → only #5 = 1 (#3 touches
      libs/pay, which is checkout's path, not checkout-tags').
    mono-all (no paths, every release): 3001 (s1) → m0, #1 = 2; 3002 (m2) → #2 = 1;
      3003 (s5) → #3, #4, d5, #5 = 4.
    plain: PR #1 merged 01-05 10:00 ships q0 and #1 = 2.
    """
    s = built.mono.sha
    got = q(built.warehouse, "select deployment_id, commit_sha, deployed_at, change_count "
                             "from main.fct_deployments order by 1")
    expected = [
        ("checkout-tags/releases/3001", s["s1"], at("2026-01-05 12:30"), 2),
        ("checkout-tags/releases/3003", s["s5"], at("2026-01-07 10:30"), 1),
        ("checkout/workflow_runs/101", s["m2"], at("2026-01-05 16:00"), 2),
        ("checkout/workflow_runs/102", s["d5"], at("2026-01-06 16:00"), 1),
        ("checkout/workflow_runs/103", s["d6"], at("2026-01-07 12:00"), 1),
        ("mono-all/releases/3001", s["s1"], at("2026-01-05 12:30"), 2),
        ("mono-all/releases/3002", s["m2"], at("2026-01-05 15:30"), 1),
        ("mono-all/releases/3003", s["s5"], at("2026-01-07 10:30"), 4),
        ("plain/merged_pull_requests/1", None, at("2026-01-05 10:00"), 2),
        ("search-merges/merged_pull_requests/2", s["m2"], at("2026-01-05 15:00"), 2),
        ("search-merges/merged_pull_requests/3", s["r3a"], at("2026-01-06 11:00"), 1),
        ("search/workflow_runs/201", s["d5"], at("2026-01-06 15:00"), 4),
    ]
    plain_sha = q(built.warehouse, "select merge_commit_sha from raw_github_pull_requests "
                                   "where repository = 'acme/plain'")[0][0]
    expected = [(d, plain_sha if d.startswith("plain/") else sha, when, n)
                for d, sha, when, n in expected]
    assert [(d, sha, utc(when), n) for d, sha, when, n in got] == expected


def test_every_service_has_exactly_its_changes(built: Built) -> None:
    """The path filter per service, including the changes no deployment shipped yet: #4 (docs)
    is only mono-all's; a service without paths keeps every change of the repository."""
    s = built.mono.sha
    got: dict[str, set[str]] = {}
    for service, change_id in q(built.warehouse,
                                "select service, change_id from main.fct_changes"):
        got.setdefault(service, set()).add(change_id.split("/", 1)[1])
    c = {k: f"commit/{s[k]}" for k in ("m0", "d5", "d6", "q0")}
    assert got == {
        "checkout": {c["m0"], "pr/1", "pr/3", "pr/5"},
        "search": {c["m0"], "pr/2", "pr/3", c["d5"], c["d6"]},
        "search-merges": {c["m0"], "pr/2", "pr/3", c["d5"], c["d6"]},
        "checkout-tags": {c["m0"], "pr/1", "pr/5"},
        "mono-all": {c["m0"], "pr/1", "pr/2", "pr/3", "pr/4", c["d5"], "pr/5", c["d6"]},
        "plain": {c["q0"], "pr/1"},
    }


# ---- adding paths later: the files are backfilled, then never read twice --------------------


def test_cost_backfill_and_no_second_read(mono: Mono, built: Built, tmp_path: Path) -> None:
    """The same organisation extracted without paths costs 1 GraphQL request and 4 REST
    requests (besides history lists) less (#5's second files page; m0, d5, d6 × pages).
    Adding paths to that warehouse later reads every PR's and direct commit's files on the
    next extract (a backfill, marked by the `files` watermark); the extract after it reads no
    commit twice."""
    with serve_in_thread(create_app(load_scenario(mono.scenario))) as server:
        plain = write_config(tmp_path, server.base_url, with_paths=False)
        done = run_cli("extract", "--config", str(plain))
        assert done.returncode == 0, done.stderr
        without = stats(server, reset=True)
        assert COMMIT_ROUTE not in without["routes"]
        assert built.stats["requests"]["graphql"] - without["requests"]["graphql"] == 1
        # REST beside the branch histories' lists (a history without paths may go by REST:
        # extractors/github/history.py; with paths it stays in GraphQL)
        def rest_but_history(s: dict) -> int:
            return s["requests"]["rest"] - s["routes"].get("GET /repos/{owner}/{repo}/commits", 0)

        assert rest_but_history(built.stats) - rest_but_history(without) == 4

        wh = tmp_path / "fourkeys.duckdb"
        assert q(wh, "select count(*) from raw_github_pull_request_files") == [(0,)]
        with_paths = write_config(tmp_path, server.base_url, with_paths=True)
        done = run_cli("extract", "--config", str(with_paths))
        assert done.returncode == 0, done.stderr
        assert stats(server, reset=True)["routes"][COMMIT_ROUTE] == 4
        assert q(wh, "select count(distinct pull_request_number), count(*) "
                     "from raw_github_pull_request_files") == [(5, 127)]
        assert q(wh, "select count(distinct sha), count(*) from raw_github_commit_files") == [
            (3, 324)]
        assert q(wh, "select count(*) from _watermarks where partition = 'acme/mono' "
                     "and stream = 'files'") == [(1,)]

        done = run_cli("extract", "--config", str(with_paths))
        assert done.returncode == 0, done.stderr
        assert COMMIT_ROUTE not in stats(server)["routes"]
        assert q(wh, "select count(*) from raw_github_commit_files") == [(324,)]
