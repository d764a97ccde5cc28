"""Hand-worked acceptance tests of the dbt marts.

One small organisation is BUILT BY CODE (tests/scenario_builder.py), served by the real fake
servers over HTTP on 127.0.0.1, extracted by the real CLI into a real DuckDB file and transformed
by `fourkeys transform`. Every expected mart value below is worked out by hand from the facts
drawn in the scenario (the arithmetic is in the comments), never with the models' logic.

Services (teams: commerce = shop + billing, platform = search + docs + web):

| service | repository   | deployment source     | cases                                         |
| ------- | ------------ | --------------------- | --------------------------------------------- |
| shop    | acme/shop    | github_deployments    | (a) (b) (c) (f) (g) (h) (i), weekly metrics   |
| billing | acme/billing | merged_pull_requests  | (d) revert, hotfix, (i)                       |
| search  | acme/search  | workflow_runs         | (e) rollback and roll-forward, (i)            |
| docs    | acme/docs    | releases              | (i) draft/prerelease, zero-filled weeks       |
| web     | acme/web     | heroku_releases       | (i) failed release, sha from the description  |

All times are UTC; 2026-01-05 is a Monday (week_start of the first week).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from fakes.scenario import load_scenario
from fakes.server import create_app, serve_in_thread
from tests.conftest import run_cli
from tests.scenario_builder import ScenarioBuilder

Z = 1.959964  # the Wilson interval's z (decisions.md)


@dataclass(frozen=True)
class Org:
    scenario: dict[str, Any]
    sha: dict[str, str]  # named commits, for expectations


def build_org() -> Org:
    org = ScenarioBuilder(now="2026-02-02 00:00")
    sha: dict[str, str] = {}

    # ---- shop (github_deployments, environment "production") ---------------------------------
    #
    #   c1 ── c2 ── s1 ─────── m2 ── d3 ── r3a ── r3b ── s4 ── s5      (main, first parents)
    #   │           │  \       /                   │      │     │
    #   direct      │   p2a─p2b (PR #2, merge)     │      │     PR #5 squash, never deployed
    #   commits     PR #1 squash of p1a, p1b       │      PR #4 squash of p4a
    #   before any PR                              PR #3 rebase of p3a, p3b (replayed r3a, r3b)
    #
    #   deployments (production unless said):
    #     5000 staging  c2   success 01-04 12:00   not production: not a deployment
    #     5001          s1   success 01-05 13:30   D1 ships c1, c2, PR #1            (a)
    #     5002          m2   failure 01-07 09:30   never succeeded: not a deployment
    #     5003          r3b  success 01-07 12:00   D2 ships PR #2, d3, PR #3         (c)
    #     5004          s4   success 01-08 14:00   D3 ships PR #4
    #   incidents (label incident):
    #     #40 service:shop sev2, body names p2a[:9]  01-07 15:00 → 17:30   cause_commit → D2 (f)
    #     #41 service:shop sev3, no sha              01-09 10:00 → 11:15   time_window  → D3 (g)
    #     #42 p1, no service label (source default)  01-16 10:00 → 12:00   7d 20h after D3: none
    #     #43 label bug only: not an incident
    shop = org.repo("acme/shop")
    c1 = shop.commit("c1", authored="2026-01-02 09:00", author="alice", message="Initial commit")
    c2 = shop.commit("c2", authored="2026-01-02 10:00", author="bob", message="Add README")
    p1a = shop.feature_commit("p1a", parent=c2, authored="2026-01-04 08:00", message="Cart model")
    p1b = shop.feature_commit("p1b", parent=p1a, authored="2026-01-05 08:00", message="Cart API")
    pr1 = shop.pull_request(
        1, "Add cart", commits=[p1a, p1b], author="alice", opened="2026-01-05 09:00",
        head="feature/cart", merged="2026-01-05 12:00", strategy="squash",
        # the author's own comment and a pending review do not count as the first review
        comments=[("alice", "2026-01-05 09:10"), ("carol", "2026-01-05 10:40")],
        reviews=[("dave", "2026-01-05 09:05", "PENDING"), ("bob", "2026-01-05 11:00", "APPROVED")],
    )
    s1 = pr1.mainline[0]
    shop.deployment(5000, c2, environment="staging", created="2026-01-04 11:50",
                    statuses=[("success", "2026-01-04 12:00")])
    shop.deployment(5001, s1, created="2026-01-05 13:00",
                    statuses=[("queued", "2026-01-05 13:00"), ("in_progress", "2026-01-05 13:10"),
                              ("success", "2026-01-05 13:30"), ("inactive", "2026-01-07 12:00")])
    p2a = shop.feature_commit("p2a", parent=s1, authored="2026-01-06 09:00", message="Payments")
    p2b = shop.feature_commit("p2b", parent=p2a, authored="2026-01-06 10:00", message="Refunds")
    pr2 = shop.pull_request(
        2, "Add payments", commits=[p2a, p2b], author="alice", opened="2026-01-06 11:00",
        head="feature/payments", merged="2026-01-07 09:00", strategy="merge",
        reviews=[("carol", "2026-01-06 14:00", "APPROVED")],
    )
    m2 = pr2.mainline[0]
    shop.deployment(5002, m2, created="2026-01-07 09:10",
                    statuses=[("in_progress", "2026-01-07 09:20"), ("failure", "2026-01-07 09:30")])
    d3 = shop.commit("d3", authored="2026-01-07 10:00", author="carol", message="Fix typo")
    p3a = shop.feature_commit("p3a", parent=m2, authored="2026-01-07 07:50", author="bob",
                              message="Coupon codes")
    p3b = shop.feature_commit("p3b", parent=p3a, authored="2026-01-07 08:10", author="bob",
                              message="Coupon limits")
    pr3 = shop.pull_request(
        3, "Add coupons", commits=[p3a, p3b], author="bob", opened="2026-01-07 08:30",
        head="feature/coupons", merged="2026-01-07 11:00", strategy="rebase",
        reviews=[("dave", "2026-01-07 09:30", "APPROVED")],
    )
    r3a, r3b = pr3.mainline
    shop.deployment(5003, r3b, created="2026-01-07 11:50",
                    statuses=[("in_progress", "2026-01-07 11:55"), ("success", "2026-01-07 12:00")])
    # PR #4 was opened (as a draft) an hour BEFORE its first commit: coding span negative (h)
    p4a = shop.feature_commit("p4a", parent=r3b, authored="2026-01-08 10:00", message="Cache")
    pr4 = shop.pull_request(
        4, "Tune cache", commits=[p4a], author="alice", opened="2026-01-08 09:00",
        merged="2026-01-08 12:00", strategy="squash",
        reviews=[("bob", "2026-01-08 11:00", "APPROVED")],
    )
    s4 = pr4.mainline[0]
    shop.deployment(5004, s4, created="2026-01-08 13:50",
                    statuses=[("success", "2026-01-08 14:00")])
    p5a = shop.feature_commit("p5a", parent=s4, authored="2026-01-09 09:00", message="Wishlist")
    pr5 = shop.pull_request(5, "Add wishlist", commits=[p5a], author="carol",
                            opened="2026-01-09 09:30", merged="2026-01-09 10:00")
    s5 = pr5.mainline[0]
    shop.issue(40, "Checkout returns 500", created="2026-01-07 15:00", closed="2026-01-07 17:30",
               labels=["incident", "service:shop", "sev2"],
               body=f"Payments fail since the deploy. Suspect commit {p2a[:9]} (payments).")
    shop.issue(41, "Slow product pages", created="2026-01-09 10:00", closed="2026-01-09 11:15",
               labels=["incident", "service:shop", "sev3"], body="Pages take 9 s to render.")
    shop.issue(42, "Login page down", created="2026-01-16 10:00", closed="2026-01-16 12:00",
               labels=["incident", "p1"], body="No idea why yet.")
    shop.issue(43, "Typo on the about page", created="2026-01-08 10:00", labels=["bug"])
    sha.update(c1=c1, c2=c2, p1a=p1a, p1b=p1b, s1=s1, p2a=p2a, p2b=p2b, m2=m2, d3=d3, p3a=p3a,
               p3b=p3b, r3a=r3a, r3b=r3b, p4a=p4a, s4=s4, p5a=p5a, s5=s5)

    # ---- billing (merged_pull_requests: every PR merged into main is a deployment) -----------
    #
    #   b0 ── sb7 ── sb8 ── sb10                (main)
    #         │      │      PR #10 squash, head hotfix/rounding: a remediation
    #         │      PR #8 `Revert "Add invoices"`, body "This reverts commit <sb7>."   (d)
    #         PR #7 "Add invoices" squash of p7a (no review at all)
    #   PR #9 closed without merging (its commit is on no branch): not a deployment
    billing = org.repo("acme/billing")
    b0 = billing.commit("b0", authored="2026-01-05 08:00", author="erin", message="Initial commit")
    p7a = billing.feature_commit("p7a", parent=b0, authored="2026-01-05 09:00", author="erin",
                                 message="Invoices")
    pr7 = billing.pull_request(7, "Add invoices", commits=[p7a], author="erin",
                               opened="2026-01-05 09:30", merged="2026-01-05 10:00")
    sb7 = pr7.mainline[0]
    p8a = billing.feature_commit("p8a", parent=sb7, authored="2026-01-06 09:00", author="erin",
                                 message=f'Revert "Add invoices"\n\nThis reverts commit {sb7}.')
    pr8 = billing.pull_request(
        8, 'Revert "Add invoices"', commits=[p8a], author="erin", opened="2026-01-06 09:05",
        body=f"This reverts commit {sb7}.", head="revert-7-add-invoices",
        merged="2026-01-06 09:30", reviews=[("frank", "2026-01-06 09:20", "APPROVED")],
    )
    sb8 = pr8.mainline[0]
    p9a = billing.feature_commit("p9a", parent=sb8, authored="2026-01-06 12:00", author="frank",
                                 message="Experiment")
    billing.pull_request(9, "Try an experiment", commits=[p9a], author="frank",
                         opened="2026-01-06 12:30", closed="2026-01-06 13:00")
    p10a = billing.feature_commit("p10a", parent=sb8, authored="2026-01-07 08:00", author="frank",
                                  message="Round half up")
    pr10 = billing.pull_request(
        10, "Fix rounding", commits=[p10a], author="frank", opened="2026-01-07 08:30",
        head="hotfix/rounding", merged="2026-01-07 10:00",
        reviews=[("erin", "2026-01-07 09:00", "APPROVED")],
    )
    sha.update(b0=b0, p7a=p7a, sb7=sb7, p8a=p8a, sb8=sb8, p9a=p9a, p10a=p10a,
               sb10=pr10.mainline[0])

    # ---- search (workflow_runs of deploy.yml on main) -----------------------------------------
    #
    #   a1 ── a2 ── a3        (main; direct commits)
    #   runs of deploy.yml (conclusion, head, updated_at):
    #     9001 success a1 01-05 09:00   W1 ships a1
    #     9002 failure a2 01-06 09:00   not a deployment
    #     9003 success a2 01-06 10:00   W2 ships a2
    #     9004 success fx 01-06 11:00   branch feature/x: not a deployment
    #     9005 ci.yml success a3        another workflow: not a deployment
    #     9006 success a3 01-07 09:00   W3 ships a3; replaced by a rollback: failed 'rollback'
    #     9007 success a2 01-07 10:00   W4 rollback (a2 is older than a3): ships nothing   (e)
    #     9008 success a3 01-08 09:00   W5 roll-forward to a3: NOT a rollback, ships nothing
    search = org.repo("acme/search")
    a1 = search.commit("a1", authored="2026-01-05 08:00", author="gina", message="Index")
    a2 = search.commit("a2", authored="2026-01-06 08:00", author="gina", message="Ranking")
    a3 = search.commit("a3", authored="2026-01-07 08:00", author="gina", message="Synonyms")
    fx = search.feature_commit("fx", parent=a2, authored="2026-01-06 10:30", author="gina",
                               message="Experiment")
    search.workflow_run(9001, a1, created="2026-01-05 08:50", updated="2026-01-05 09:00")
    search.workflow_run(9002, a2, created="2026-01-06 08:50", updated="2026-01-06 09:00",
                        conclusion="failure")
    search.workflow_run(9003, a2, created="2026-01-06 09:50", updated="2026-01-06 10:00")
    search.workflow_run(9004, fx, created="2026-01-06 10:50", updated="2026-01-06 11:00",
                        branch="feature/x")
    search.workflow_run(9005, a3, created="2026-01-07 08:10", updated="2026-01-07 08:20",
                        workflow="ci.yml", name="CI")
    search.workflow_run(9006, a3, created="2026-01-07 08:50", updated="2026-01-07 09:00")
    search.workflow_run(9007, a2, created="2026-01-07 09:50", updated="2026-01-07 10:00")
    search.workflow_run(9008, a3, created="2026-01-08 08:50", updated="2026-01-08 09:00")
    search.heads["feature/x"] = fx
    sha.update(a1=a1, a2=a2, a3=a3, fx=fx)

    # ---- docs (releases) ----------------------------------------------------------------------
    #
    #   k1 ── k2 ── k3        (main; direct commits)
    #   3001 v1.0.0       k1 published 01-05 12:00   R1 ships k1
    #   3002 v1.1.0-rc.1  k2 prerelease 01-12 09:00  not a deployment
    #   3003 v1.1.0-draft k3 draft, never published  not a deployment
    #   3004 v1.1.0       k3 published 01-26 12:00   R2 ships k2, k3
    #   → weeks 01-12 and 01-19 have no deployment: zero-filled rows
    docs = org.repo("acme/docs")
    k1 = docs.commit("k1", authored="2026-01-05 08:00", author="hana", message="Guide")
    docs.release(3001, "v1.0.0", k1, created="2026-01-05 11:55", published="2026-01-05 12:00")
    k2 = docs.commit("k2", authored="2026-01-12 08:00", author="hana", message="API docs")
    docs.release(3002, "v1.1.0-rc.1", k2, created="2026-01-12 08:55",
                 published="2026-01-12 09:00", prerelease=True)
    k3 = docs.commit("k3", authored="2026-01-26 08:00", author="hana", message="FAQ")
    docs.release(3003, "v1.1.0-draft", k3, created="2026-01-26 08:30", published=None,
                 draft=True)
    docs.release(3004, "v1.1.0", k3, created="2026-01-26 11:55", published="2026-01-26 12:00")
    sha.update(k1=k1, k2=k2, k3=k3)

    # ---- web (heroku_releases of app web-prod) --------------------------------------------------
    #
    #   h1 ── h2 ── h3        (acme/web main; direct commits)
    #   v1 succeeded "Deploy <h1[:8]>", slug commit h1       01-05 10:00   H1 ships h1
    #   v2 failed    "Deploy <h2[:8]>", slug commit h2       01-06 10:00   not a deployment
    #   v3 succeeded "Deploy <h2[:7]>", no slug              01-06 11:00   H3 ships h2 (sha only
    #                                                                       in the description)
    #   v4 succeeded "Promote from web-staging", slug h3     01-07 10:00   H4 ships h3 (slug only)
    web = org.repo("acme/web")
    h1 = web.commit("h1", authored="2026-01-05 08:00", author="ivan", message="Landing page")
    h2 = web.commit("h2", authored="2026-01-06 08:00", author="ivan", message="Pricing page")
    h3 = web.commit("h3", authored="2026-01-07 08:00", author="ivan", message="Blog")
    app = org.heroku_app("web-prod")
    app.release(1, created="2026-01-05 10:00", description=f"Deploy {h1[:8]}", commit=h1)
    app.release(2, created="2026-01-06 10:00", description=f"Deploy {h2[:8]}", commit=h2,
                status="failed")
    app.release(3, created="2026-01-06 11:00", description=f"Deploy {h2[:7]}", commit=None)
    app.release(4, created="2026-01-07 10:00", description="Promote from web-staging",
                commit=h3)
    sha.update(h1=h1, h2=h2, h3=h3)
    return Org(org.build(), sha)


def config_toml(base_url: str, warehouse: Path) -> str:
    """The fourkeys.toml, written by hand (contract.md)."""
    return f"""
[warehouse]
path = "{warehouse}"

[github]
api_url = "{base_url}"
token_env = "GITHUB_TOKEN"

[heroku]
api_url = "{base_url}/heroku"
token_env = "HEROKU_API_KEY"

[[services]]
name = "shop"
team = "commerce"
repository = "acme/shop"
deployment_source = "github_deployments"
environment = "production"

[[services]]
name = "billing"
team = "commerce"
repository = "acme/billing"
branch = "main"
deployment_source = "merged_pull_requests"

[[services]]
name = "search"
team = "platform"
repository = "acme/search"
branch = "main"
deployment_source = "workflow_runs"
workflow = "deploy.yml"

[[services]]
name = "docs"
team = "platform"
repository = "acme/docs"
deployment_source = "releases"

[[services]]
name = "web"
team = "platform"
repository = "acme/web"
deployment_source = "heroku_releases"
heroku_app = "web-prod"

[[incident_sources]]
type = "github_issues"
repository = "acme/shop"
label = "incident"
service = "shop"

[metrics]
attribution_window_days = 7
dora_year = 2024
failure_signals = ["incidents", "reverts", "rollbacks"]
"""


@dataclass(frozen=True)
class Built:
    org: Org
    config: Path
    warehouse: Path
    extract: Any  # CompletedProcess of `fourkeys extract`


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    org = build_org()
    directory = tmp_path_factory.mktemp("handworked")
    warehouse = directory / "fourkeys.duckdb"
    with serve_in_thread(create_app(load_scenario(org.scenario))) as server:
        config = directory / "fourkeys.toml"
        config.write_text(config_toml(server.base_url, warehouse), encoding="utf-8")
        result = run_cli("extract", "--config", str(config))
        yield Built(org, config, warehouse, result)


def q(path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def at(text: str) -> datetime:
    """'2026-01-05 13:30' → an aware UTC datetime (how duckdb returns TIMESTAMPTZ)."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def wilson(failed: int, n: int) -> tuple[float, float]:
    """Wilson score interval, written out: (p + z²/2n ± z·sqrt(p(1−p)/n + z²/4n²)) / (1 + z²/n)."""
    p = failed / n
    denominator = 1 + Z * Z / n
    centre = p + Z * Z / (2 * n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return (centre - half) / denominator, (centre + half) / denominator


# ---- the extract step: the raw tables hold what the scenario drew -----------------------------


def test_extract_fills_the_raw_tables(extracted: Built) -> None:
    assert extracted.extract.returncode == 0, extracted.extract.stderr
    wh, s = extracted.warehouse, extracted.org.sha
    # shop's branch: the history reachable from main through both parents (so PR #2's own
    # commits, not the squashed or rebased originals of PRs #1, #3, #4, #5)
    got = {r[0] for r in q(wh, "select sha from raw_github_commits where repository = "
                               "'acme/shop'")}
    assert got == {s[k] for k in ("c1", "c2", "s1", "p2a", "p2b", "m2", "d3", "r3a", "r3b",
                                  "s4", "s5")}
    # GitHub associates the rebased commits and the merge commit with their PRs
    assoc = dict(q(wh, "select sha, pull_request_numbers::varchar from raw_github_commits "
                       "where repository = 'acme/shop'"))
    assert assoc[s["r3a"]] == "[3]" and assoc[s["r3b"]] == "[3]"
    assert assoc[s["m2"]] == "[2]" and assoc[s["s1"]] == "[1]" and assoc[s["d3"]] == "[]"
    # first non-author, non-pending review or comment
    assert q(wh, "select number, first_review_at, first_comment_at from raw_github_pull_requests "
                 "where repository = 'acme/shop' and number = 1") == [
        (1, at("2026-01-05 11:00"), at("2026-01-05 10:40"))]
    # production deployments only (5000 is staging), every status
    assert q(wh, "select deployment_id from raw_github_deployments order by 1") == [
        (5001,), (5002,), (5003,), (5004,)]
    assert q(wh, "select count(*) from raw_github_deployment_statuses")[0][0] == 4 + 2 + 2 + 1
    # incident issues only
    assert q(wh, "select number from raw_github_issues order by 1") == [(40,), (41,), (42,)]
    # runs of deploy.yml on main
    assert q(wh, "select run_id, conclusion from raw_github_workflow_runs order by 1") == [
        (9001, "success"), (9002, "failure"), (9003, "success"), (9006, "success"),
        (9007, "success"), (9008, "success")]
    assert q(wh, "select release_id, is_draft, is_prerelease, target_sha from "
                 "raw_github_releases order by 1") == [
        (3001, False, False, s["k1"]), (3002, False, True, s["k2"]),
        (3003, True, False, s["k3"]), (3004, False, False, s["k3"])]
    # Heroku: `Deploy <hex>` keeps the prefix; only v4 (no such description) asks its slug
    assert q(wh, "select version, status, commit_sha from raw_heroku_releases order by 1") == [
        (1, "succeeded", s["h1"][:8]), (2, "failed", s["h2"][:8]),
        (3, "succeeded", s["h2"][:7]), (4, "succeeded", s["h3"])]
