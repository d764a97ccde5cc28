"""Nested connections are followed only when they overflow, and then completely.

A hand-built repository: one pull request with 120 commits, 30 reviews and 25 comments (175
timeline items, more than the snapshot's first page of 100), 60 small pull requests (one page of
100 with it), 122 branch commits, one deployment with 15 statuses (first page 10). Expected calls
are worked out by hand below.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx

from fakes.scenario import load_scenario
from fakes.server import create_app, serve_in_thread
from fourkeys.cli import main

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _sha(n: int) -> str:
    return hashlib.sha1(f"overflow-{n}".encode()).hexdigest()


def _ts(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _scenario() -> dict:
    commits, prs = [], []
    root = {"sha": _sha(0), "parents": [], "message": "init", "author": {"login": "alice"},
            "authored_at": _ts(0), "committed_at": _ts(0)}
    commits.append(root)
    big = [_sha(i) for i in range(1, 121)]
    for i, sha in enumerate(big):
        commits.append({"sha": sha, "parents": [big[i - 1] if i else _sha(0)],
                        "message": f"step {i}", "author": {"login": "alice"},
                        "authored_at": _ts(i + 1), "committed_at": _ts(i + 1)})
    merge = _sha(500)
    commits.append({"sha": merge, "parents": [_sha(0), big[-1]],
                    "message": "Merge pull request #1 from acme/big", "author": {"login": "alice"},
                    "authored_at": _ts(300), "committed_at": _ts(300)})
    prs.append({
        "number": 1, "title": "Big change", "author": "alice", "base": "main", "head": "big",
        "created_at": _ts(130), "updated_at": _ts(300), "closed_at": _ts(300),
        "merged_at": _ts(300), "merge_commit_sha": merge, "commits": big,
        "reviews": [{"id": 1000 + i, "author": "bob" if i else "alice", "state": "COMMENTED",
                     "submitted_at": _ts(140 + i)} for i in range(30)],
        "comments": [{"id": 2000 + i, "author": "alice" if i < 24 else "carol",
                      "created_at": _ts(135 + i)} for i in range(25)],
    })
    for n in range(2, 62):  # 60 small PRs, closed without merging
        prs.append({"number": n, "title": f"Small {n}", "author": "dave", "base": "main",
                    "head": f"small-{n}", "created_at": _ts(400 + n),
                    "updated_at": _ts(500 + n), "closed_at": _ts(500 + n), "commits": []})
    deployment = {"id": 9001, "sha": merge, "ref": "main", "environment": "production",
                  "created_at": _ts(310),
                  "statuses": [{"id": 7000 + i, "state": "success" if i == 14 else "in_progress",
                                "created_at": _ts(311 + i)} for i in range(15)]}
    return {"format": 1, "now": "2026-02-01T00:00:00Z", "repositories": [{
        "full_name": "acme/big", "default_branch": "main", "created_at": _ts(0),
        "branches": {"main": merge}, "commits": commits, "pull_requests": prs,
        "deployments": [deployment]}]}


def test_overflowing_connections_are_followed_completely(tmp_path: Path) -> None:
    scenario = load_scenario(_scenario())
    with serve_in_thread(create_app(scenario)) as server:
        config = tmp_path / "fourkeys.toml"
        config.write_text(f"""
[warehouse]
path = "{tmp_path / 'wh.duckdb'}"
[github]
api_url = "{server.base_url}"
[[services]]
name = "big"
team = "core"
repository = "acme/big"
deployment_source = "github_deployments"
environment = "production"
""")
        assert main(["extract", "--config", str(config)]) == 0
        stats = httpx.get(f"{server.base_url}/_fake/stats").json()
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    assert q("select count(*) from raw_github_pull_requests") == [(61,)]
    assert q("select count(*), min(position), max(position) from raw_github_pull_request_commits "
             "where pull_request_number = 1") == [(120, 0, 119)]
    shas = [r[0] for r in q("select sha from raw_github_pull_request_commits order by position")]
    assert shas == [_sha(i) for i in range(1, 121)]
    assert q("select count(*) from raw_github_pull_request_reviews") == [(30,)]
    assert q("select count(*) from raw_github_pull_request_comments") == [(25,)]
    # first review / comment by someone other than the author (alice)
    assert q("select first_review_at::varchar, first_comment_at::varchar "
             "from raw_github_pull_requests where number = 1") == [
        (str(T0 + timedelta(minutes=141)).replace("+00:00", "+00"),
         str(T0 + timedelta(minutes=135 + 24)).replace("+00:00", "+00"))]
    assert q("select count(*) from raw_github_deployment_statuses") == [(15,)]
    assert q("select count(*) from raw_github_commits") == [(122,)]
    # Calls by hand: the history goes by REST (nothing spent yet: REST first), 122 commits in
    # pages of 100 = 2 REST requests; snapshot pages: 61 PRs and 1 deployment = 1; PR #1's
    # timeline: 175 items → 100 in the snapshot + 75 more (one query of 100) = 1; statuses
    # 15 → 10 + 5 = 1.
    assert stats["requests"]["graphql"] == 3
    assert stats["requests"]["rest"] == 2
    assert stats["routes"]["GET /repos/{owner}/{repo}/commits"] == 2
