"""Hand-worked acceptance tests of the dbt marts.

One small organisation is BUILT BY CODE (tests/scenario_builder.py), served by the real fake
servers over HTTP on 127.0.0.1, extracted by the real CLI into a real DuckDB file and transformed
by `fourkeys transform`. Every expected mart value below is worked out by hand from the facts
drawn in the scenario (the arithmetic is in the comments), never with the models' logic.

Services (teams: commerce = shop + billing, platform = search + docs + web, finance = ledger,
qa = shop-staging + search-ci):

| service      | repository   | deployment source    | cases                                      |
| ------------ | ------------ | -------------------- | ------------------------------------------ |
| shop         | acme/shop    | github_deployments   | (a) (b) (c) (f) (g) (h) (i), weekly        |
| shop-staging | acme/shop    | github_deployments   | (i) environment "staging" vs production    |
| billing      | acme/billing | merged_pull_requests | (d) revert, hotfix, (i)                    |
| search       | acme/search  | workflow_runs        | (e) rollback and roll-forward, (i)         |
| search-ci    | acme/search  | workflow_runs        | (i) workflow ci.yml vs deploy.yml          |
| docs         | acme/docs    | releases             | (i) draft/prerelease, zero-filled weeks    |
| web          | acme/web     | heroku_releases      | (i) failed release, sha from a description |
| ledger       | acme/ledger  | github_deployments   | title-only revert, hotfix label, full sha, |
|              |              |                      | unresolvable and ambiguous sha prefixes    |

All times are UTC; 2026-01-05 is a Monday (week_start of the first week).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from fakes.scenario import load_scenario
from fakes.server import create_app, serve_in_thread
from tests.conftest import run_cli
from tests.scenario_builder import ScenarioBuilder, labels_sharing_prefix

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
    #     5000 staging  c2   success 01-04 12:00   not production: not a shop deployment (it
    #                                                is shop-staging's only one: ships c1, c2)
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
    # deployed_at is the FIRST success status
    shop.deployment(5003, r3b, created="2026-01-07 11:50",
                    statuses=[("in_progress", "2026-01-07 11:55"), ("success", "2026-01-07 12:00"),
                              ("success", "2026-01-07 12:30")])
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
    #     9005 ci.yml success a3 01-07 08:20   another workflow: not search's deployment (it
    #                                        is search-ci's only one: ships a1, a2, a3)
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
    search.branch("feature/x", fx)
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

    # ---- ledger (github_deployments; the weeks of 01-19, after everything above) ---------------
    #
    #   l0 ── sl21 ── sl22 ── sl23         (main)
    #         │       │       PR #23 "Fix totals", label hotfix: a remediation
    #         │       PR #22 `Revert "Add ledger"`, title only (no "This reverts commit")
    #         PR #21 "Add ledger" squash of p21a
    #   7001 sl21 success 01-19 11:00   LD1 ships l0, PR #21
    #   7002 sl22 success 01-19 16:00   LD2 ships the revert: remediation
    #   7003 sl23 success 01-20 10:00   LD3 ships the hotfix: remediation
    #   #60 sev1 (no service label), body names sl21's FULL sha   01-19 12:00 → 14:00 → LD1
    #   #61 sev2, body names a hex token that is no commit       01-19 13:00 → 13:30
    #       ("deadbeef01": no resolvable cause, so the time window) → LD1
    ledger = org.repo("acme/ledger")
    l0 = ledger.commit("l0", authored="2026-01-19 08:00", author="erin", message="Initial commit")
    p21a = ledger.feature_commit("p21a", parent=l0, authored="2026-01-19 09:00", author="erin",
                                 message="Ledger")
    sl21 = ledger.pull_request(21, "Add ledger", commits=[p21a], author="erin",
                               opened="2026-01-19 09:30", merged="2026-01-19 10:00").mainline[0]
    ledger.deployment(7001, sl21, created="2026-01-19 10:50",
                      statuses=[("success", "2026-01-19 11:00")])
    ledger.issue(60, "Totals are wrong", created="2026-01-19 12:00", closed="2026-01-19 14:00",
                 labels=["incident", "sev1"], body=f"Broken by {sl21}.")
    ledger.issue(61, "Timeouts", created="2026-01-19 13:00", closed="2026-01-19 13:30",
                 labels=["incident", "sev2"], body="Error id deadbeef01 in the logs.")
    p22a = ledger.feature_commit("p22a", parent=sl21, authored="2026-01-19 14:30", author="erin",
                                 message='Revert "Add ledger"')
    sl22 = ledger.pull_request(22, 'Revert "Add ledger"', commits=[p22a], author="erin",
                               opened="2026-01-19 14:35", merged="2026-01-19 15:00").mainline[0]
    ledger.deployment(7002, sl22, created="2026-01-19 15:50",
                      statuses=[("success", "2026-01-19 16:00")])
    p23a = ledger.feature_commit("p23a", parent=sl22, authored="2026-01-20 09:00", author="erin",
                                 message="Totals")
    sl23 = ledger.pull_request(23, "Fix totals", commits=[p23a], author="erin", labels=["hotfix"],
                               head="fix-totals", opened="2026-01-20 09:10",
                               merged="2026-01-20 09:40").mainline[0]
    ledger.deployment(7003, sl23, created="2026-01-20 09:50",
                      statuses=[("success", "2026-01-20 10:00")])
    #   week of 01-26:
    #   sl23 ── x1 ── x2 ── sl24 ── sl25      (main)
    #           │     │     │       PR #25 reverts #24 ("This reverts commit <sl24>.") BEFORE
    #           │     │     │       any deployment shipped #24
    #           │     │     PR #24 "Add export"
    #           x1, x2: direct commits whose shas share their first 7 hex digits
    #   7004 sl25 success 01-26 10:00   LD4 ships x1, x2, #24, #25; not failed by the revert
    #                                   (merged before LD4), and not a remediation either: the
    #                                   reverted #24 never went out before it
    #   #62 sev2, body names the 7 digits x1 and x2 share: not a UNIQUE prefix, so no named
    #       cause; in LD4's window → time_window       01-26 12:00 → 12:45
    x1_label, x2_label = labels_sharing_prefix("acme/ledger", "x")
    x1 = ledger.commit(x1_label, authored="2026-01-23 10:00", author="frank", message="Fonts")
    x2 = ledger.commit(x2_label, authored="2026-01-23 11:00", author="frank", message="Colours")
    assert x1[:7] == x2[:7] and x1[7] != x2[7]
    p24a = ledger.feature_commit("p24a", parent=x2, authored="2026-01-26 08:00", author="erin",
                                 message="Export")
    sl24 = ledger.pull_request(24, "Add export", commits=[p24a], author="erin",
                               opened="2026-01-26 08:10", merged="2026-01-26 08:30").mainline[0]
    p25a = ledger.feature_commit("p25a", parent=sl24, authored="2026-01-26 09:00", author="erin",
                                 message=f'Revert "Add export"\n\nThis reverts commit {sl24}.')
    sl25 = ledger.pull_request(25, 'Revert "Add export"', commits=[p25a], author="erin",
                               body=f"This reverts commit {sl24}.", opened="2026-01-26 09:05",
                               merged="2026-01-26 09:30").mainline[0]
    ledger.deployment(7004, sl25, created="2026-01-26 09:50",
                      statuses=[("success", "2026-01-26 10:00")])
    ledger.issue(62, "Crash on start", created="2026-01-26 12:00", closed="2026-01-26 12:45",
                 labels=["incident", "sev2"], body=f"Crash since {x1[:7]} went out.")
    sha.update(l0=l0, sl21=sl21, sl22=sl22, sl23=sl23, x1=x1, x2=x2, sl24=sl24, sl25=sl25)
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

# the same repository's staging environment, in a team of its own: its deployments reach the
# raw tables, so shop's models must leave them out
[[services]]
name = "shop-staging"
team = "qa"
repository = "acme/shop"
deployment_source = "github_deployments"
environment = "staging"

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

# the same repository's CI workflow, in team qa: its runs reach the raw tables, so search's
# models must leave them out
[[services]]
name = "search-ci"
team = "qa"
repository = "acme/search"
branch = "main"
deployment_source = "workflow_runs"
workflow = "ci.yml"

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

[[services]]
name = "ledger"
team = "finance"
repository = "acme/ledger"
deployment_source = "github_deployments"

[[incident_sources]]
type = "github_issues"
repository = "acme/shop"
label = "incident"
service = "shop"

[[incident_sources]]
type = "github_issues"
repository = "acme/ledger"
label = "incident"
service = "ledger"

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
    # no associated PRs are read outside monorepos (a REST history has none; GraphQL's would
    # cost a connection per commit): the marts below still give r3a/r3b to PR #3 (rebased
    # copies: same author, authored time and message), m2 to #2 and s1 to #1 (merge commits)
    assoc = dict(q(wh, "select sha, pull_request_numbers::varchar from raw_github_commits "
                       "where repository = 'acme/shop'"))
    assert set(assoc.values()) == {"[]"}
    # first non-author, non-pending review or comment
    assert q(wh, "select number, first_review_at, first_comment_at from raw_github_pull_requests "
                 "where repository = 'acme/shop' and number = 1") == [
        (1, at("2026-01-05 11:00"), at("2026-01-05 10:40"))]
    # the configured environments (production and staging), every status
    assert q(wh, "select deployment_id, environment from raw_github_deployments "
                 "where repository = 'acme/shop' order by 1") == [
        (5000, "staging"), (5001, "production"), (5002, "production"), (5003, "production"),
        (5004, "production")]
    assert q(wh, "select count(*) from raw_github_deployment_statuses "
                 "where repository = 'acme/shop'")[0][0] == 1 + 4 + 2 + 3 + 1
    # incident issues only
    assert q(wh, "select repository, number from raw_github_issues order by 1, 2") == [
        ("acme/ledger", 60), ("acme/ledger", 61), ("acme/ledger", 62), ("acme/shop", 40),
        ("acme/shop", 41), ("acme/shop", 42)]
    # runs of deploy.yml and ci.yml on main (9004 ran on feature/x)
    assert q(wh, "select run_id, conclusion from raw_github_workflow_runs order by 1") == [
        (9001, "success"), (9002, "failure"), (9003, "success"), (9005, "success"),
        (9006, "success"), (9007, "success"), (9008, "success")]
    assert q(wh, "select release_id, is_draft, is_prerelease, target_sha from "
                 "raw_github_releases order by 1") == [
        (3001, False, False, s["k1"]), (3002, False, True, s["k2"]),
        (3003, True, False, s["k3"]), (3004, False, False, s["k3"])]
    # Heroku: `Deploy <hex>` keeps the prefix; only v4 (no such description) asks its slug
    assert q(wh, "select version, status, commit_sha from raw_heroku_releases order by 1") == [
        (1, "succeeded", s["h1"][:8]), (2, "failed", s["h2"][:8]),
        (3, "succeeded", s["h2"][:7]), (4, "succeeded", s["h3"])]


# ---- the marts ------------------------------------------------------------------------------

AS_OF = "2026-02-02"  # dora_summary's trailing 12 weeks: [2025-11-10, 2026-02-02)


@pytest.fixture(scope="module")
def marts(extracted: Built) -> Built:
    assert extracted.extract.returncode == 0, extracted.extract.stderr
    result = run_cli("transform", "--config", str(extracted.config), "--as-of", AS_OF,
                     env={"DO_NOT_TRACK": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return extracted


def rows_by_key(path: Path, table: str, columns: str) -> dict[str, tuple[Any, ...]]:
    """{first column: the other columns} of a mart (the first column is its key)."""
    out: dict[str, tuple[Any, ...]] = {}
    for row in q(path, f"select {columns} from main.{table}"):
        assert row[0] not in out, f"{table}: key {row[0]} twice"
        out[row[0]] = tuple(utc(v) for v in row[1:])
    return out


def utc(value: Any) -> Any:
    """Mart timestamps are UTC, stored naive (TIMESTAMP) or aware (TIMESTAMPTZ): compare both
    as aware UTC datetimes."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


DEPLOYMENT_COLUMNS = (
    "deployment_id, service, team, source, commit_sha, deployed_at, change_count, is_failure, "
    "failure_causes, is_remediation, is_rollback, recovered_at, recovery_seconds"
)


def test_fct_deployments(marts: Built) -> None:
    s = marts.org.sha
    no: list[str] = []
    expected = {
        # id: service, team, source, sha, deployed_at, change_count,
        #     is_failure, failure_causes, is_remediation, is_rollback, recovered_at, recovery_s
        #
        # (a) the first deployment ships all of main up to s1: c1, c2 (direct commits from
        # before any PR) and PR #1. The staging deployment 5000 (c2) came earlier but is not
        # production: had it counted, c1/c2 would belong to it. (The second success status of
        # 5003 at 12:30 does not move its deployed_at.)
        "shop/github_deployments/5001": (
            "shop", "commerce", "github_deployments", s["s1"], at("2026-01-05 13:30"), 3,
            False, no, False, False, None, None),
        # (c) 5002 (m2) only failed, so 5003 ships m2 (PR #2, a merge commit), d3 (direct) and
        # r3a, r3b (PR #3, rebased): 3 changes. Incident #40 names p2a, PR #2's own commit (f):
        # failed ['incident'], recovered when #40 closed 17:30: 17:30 − 12:00 = 5.5 h = 19800 s
        "shop/github_deployments/5003": (
            "shop", "commerce", "github_deployments", s["r3b"], at("2026-01-07 12:00"), 3,
            True, ["incident"], False, False, at("2026-01-07 17:30"), 19800),
        # ships s4 (PR #4); incident #41 (01-09 10:00, no sha) is in its 7-day window (g):
        # recovered when #41 closed: 01-08 14:00 → 01-09 11:15 = 21 h 15 min = 76500 s
        "shop/github_deployments/5004": (
            "shop", "commerce", "github_deployments", s["s4"], at("2026-01-08 14:00"), 1,
            True, ["incident"], False, False, at("2026-01-09 11:15"), 76500),
        # (d) PR #7 ships b0 and itself; PR #8 reverts sb7 → 7 failed ['revert'], recovered by
        # the remediation #8: 01-05 10:00 → 01-06 09:30 = 23.5 h = 84600 s
        "billing/merged_pull_requests/7": (
            "billing", "commerce", "merged_pull_requests", s["sb7"], at("2026-01-05 10:00"), 2,
            True, ["revert"], False, False, at("2026-01-06 09:30"), 84600),
        "billing/merged_pull_requests/8": (
            "billing", "commerce", "merged_pull_requests", s["sb8"], at("2026-01-06 09:30"), 1,
            False, no, True, False, None, None),
        # head branch hotfix/rounding: a remediation that fixes nothing known
        "billing/merged_pull_requests/10": (
            "billing", "commerce", "merged_pull_requests", s["sb10"], at("2026-01-07 10:00"), 1,
            False, no, True, False, None, None),
        # (e) 9002 failed, 9004 ran on feature/x, 9005 is ci.yml: none is search's deployment
        "search/workflow_runs/9001": (
            "search", "platform", "workflow_runs", s["a1"], at("2026-01-05 09:00"), 1,
            False, no, False, False, None, None),
        "search/workflow_runs/9003": (
            "search", "platform", "workflow_runs", s["a2"], at("2026-01-06 10:00"), 1,
            False, no, False, False, None, None),
        # replaced by the rollback 9007 one hour later: 3600 s
        "search/workflow_runs/9006": (
            "search", "platform", "workflow_runs", s["a3"], at("2026-01-07 09:00"), 1,
            True, ["rollback"], False, False, at("2026-01-07 10:00"), 3600),
        # a2 is older on main than a3 (the live deployment): rollback, ships nothing new
        "search/workflow_runs/9007": (
            "search", "platform", "workflow_runs", s["a2"], at("2026-01-07 10:00"), 0,
            False, no, True, True, None, None),
        # a3 again: newer than a2, so a roll-forward, not a rollback; 9007 is not failed by it
        # (decisions.md: only an OLDER mainline position is a rollback)
        "search/workflow_runs/9008": (
            "search", "platform", "workflow_runs", s["a3"], at("2026-01-08 09:00"), 0,
            False, no, False, False, None, None),
        # search-ci: ci.yml's only run, the first deployment: ships a1, a2, a3
        "search-ci/workflow_runs/9005": (
            "search-ci", "qa", "workflow_runs", s["a3"], at("2026-01-07 08:20"), 3,
            False, no, False, False, None, None),
        # 3002 is a prerelease, 3003 a draft
        "docs/releases/3001": (
            "docs", "platform", "releases", s["k1"], at("2026-01-05 12:00"), 1,
            False, no, False, False, None, None),
        "docs/releases/3004": (
            "docs", "platform", "releases", s["k3"], at("2026-01-26 12:00"), 2,
            False, no, False, False, None, None),
        # shop-staging's own deployment (environment staging): the first one, ships c1, c2
        "shop-staging/github_deployments/5000": (
            "shop-staging", "qa", "github_deployments", s["c2"], at("2026-01-04 12:00"), 2,
            False, no, False, False, None, None),
        # ledger: LD1 is named by #60 (full sha), in #61's window, and reverted by title (#22):
        # each cause once, sorted. Recovered at the earliest of #61's close (13:30), #60's
        # (14:00) and the remediation LD2 (16:00): 11:00 → 13:30 = 9000 s
        "ledger/github_deployments/7001": (
            "ledger", "finance", "github_deployments", s["sl21"], at("2026-01-19 11:00"), 2,
            True, ["incident", "revert"], False, False, at("2026-01-19 13:30"), 9000),
        "ledger/github_deployments/7002": (
            "ledger", "finance", "github_deployments", s["sl22"], at("2026-01-19 16:00"), 1,
            False, no, True, False, None, None),
        "ledger/github_deployments/7003": (
            "ledger", "finance", "github_deployments", s["sl23"], at("2026-01-20 10:00"), 1,
            False, no, True, False, None, None),
        # ships x1, x2, #24, #25; failed only by #62 (time window), recovered 12:45: 9900 s
        "ledger/github_deployments/7004": (
            "ledger", "finance", "github_deployments", s["sl25"], at("2026-01-26 10:00"), 4,
            True, ["incident"], False, False, at("2026-01-26 12:45"), 9900),
        # Heroku v2 failed; v1/v3 name a prefix in `Deploy <hex>` (v3 only there), resolved to
        # the full sha on main; v4's commit comes from its slug
        "web/heroku_releases/1": (
            "web", "platform", "heroku_releases", s["h1"], at("2026-01-05 10:00"), 1,
            False, no, False, False, None, None),
        "web/heroku_releases/3": (
            "web", "platform", "heroku_releases", s["h2"], at("2026-01-06 11:00"), 1,
            False, no, False, False, None, None),
        "web/heroku_releases/4": (
            "web", "platform", "heroku_releases", s["h3"], at("2026-01-07 10:00"), 1,
            False, no, False, False, None, None),
    }
    got = rows_by_key(marts.warehouse, "fct_deployments", DEPLOYMENT_COLUMNS)
    assert sorted(got) == sorted(expected)
    for key, row in expected.items():
        assert got[key] == row, key
    # the repository and the environment of a github_deployments service
    assert q(marts.warehouse, "select service, repository, environment from main.fct_deployments "
                              "where source = 'github_deployments' group by all order by 1") == [
        ("ledger", "acme/ledger", "production"), ("shop", "acme/shop", "production"),
        ("shop-staging", "acme/shop", "staging")]


CHANGE_COLUMNS = (
    "change_id, change_type, pull_request_number, author, first_commit_at, opened_at, "
    "first_review_at, merged_at, deployed_at, deployment_id, lead_time_seconds, coding_seconds, "
    "pickup_seconds, review_seconds, deploy_seconds"
)


def test_fct_changes(marts: Built) -> None:
    n = None
    d5001, d5003, d5004 = (f"shop/github_deployments/{i}" for i in (5001, 5003, 5004))
    expected = {
        # id: type, PR, author, first_commit, opened, first_review, merged, deployed, deployment,
        #     lead, coding, pickup, review, deploy (seconds)
        #
        # (a) direct commits from before any PR, shipped by the first deployment (01-05 13:30):
        #   c1 01-02 09:00 → 3 d 4.5 h = 259200 + 16200 = 275400
        #   c2 01-02 10:00 → 3 d 3.5 h = 259200 + 12600 = 271800
        "shop/commit/" + marts.org.sha["c1"]: (
            "commit", n, "alice", at("2026-01-02 09:00"), n, n, n, at("2026-01-05 13:30"),
            d5001, 275400, n, n, n, n),
        "shop/commit/" + marts.org.sha["c2"]: (
            "commit", n, "bob", at("2026-01-02 10:00"), n, n, n, at("2026-01-05 13:30"),
            d5001, 271800, n, n, n, n),
        # (b) PR #1: commits authored 01-04 08:00 and 01-05 08:00, opened 01-05 09:00; alice's
        # own comment (09:10) and dave's PENDING review (09:05) do not count, carol's comment
        # 10:40 does; merged 12:00; deployed 13:30.
        #   lead   01-04 08:00 → 01-05 13:30 = 29.5 h = 106200
        #   coding 01-04 08:00 → 01-05 09:00 = 25 h   = 90000
        #   pickup 09:00 → 10:40 = 6000; review 10:40 → 12:00 = 4800; deploy 12:00 → 13:30 = 5400
        "shop/pr/1": (
            "pull_request", 1, "alice", at("2026-01-04 08:00"), at("2026-01-05 09:00"),
            at("2026-01-05 10:40"), at("2026-01-05 12:00"), at("2026-01-05 13:30"), d5001,
            106200, 90000, 6000, 4800, 5400),
        # (c) PR #2 (merge commit): first commit 01-06 09:00, opened 11:00, review 14:00,
        # merged 01-07 09:00, deployed 01-07 12:00
        #   lead 27 h = 97200; coding 2 h = 7200; pickup 3 h = 10800; review 19 h = 68400;
        #   deploy 3 h = 10800
        "shop/pr/2": (
            "pull_request", 2, "alice", at("2026-01-06 09:00"), at("2026-01-06 11:00"),
            at("2026-01-06 14:00"), at("2026-01-07 09:00"), at("2026-01-07 12:00"), d5003,
            97200, 7200, 10800, 68400, 10800),
        # direct commit d3 01-07 10:00 → 12:00 = 7200
        "shop/commit/" + marts.org.sha["d3"]: (
            "commit", n, "carol", at("2026-01-07 10:00"), n, n, n, at("2026-01-07 12:00"),
            d5003, 7200, n, n, n, n),
        # PR #3 (rebase): first commit 07:50, opened 08:30, review 09:30, merged 11:00, deployed
        # 12:00: lead 4 h 10 min = 15000; coding 40 min = 2400; pickup 3600; review 5400;
        # deploy 3600
        "shop/pr/3": (
            "pull_request", 3, "bob", at("2026-01-07 07:50"), at("2026-01-07 08:30"),
            at("2026-01-07 09:30"), at("2026-01-07 11:00"), at("2026-01-07 12:00"), d5003,
            15000, 2400, 3600, 5400, 3600),
        # (h) PR #4 opened 09:00, an hour BEFORE its only commit (10:00): coding −3600 → NULL;
        # the rest stays: lead 10:00 → 14:00 = 14400; pickup 09:00 → 11:00 = 7200;
        # review 11:00 → 12:00 = 3600; deploy 12:00 → 14:00 = 7200
        "shop/pr/4": (
            "pull_request", 4, "alice", at("2026-01-08 10:00"), at("2026-01-08 09:00"),
            at("2026-01-08 11:00"), at("2026-01-08 12:00"), at("2026-01-08 14:00"), d5004,
            14400, n, 7200, 3600, 7200),
        # merged after the last deployment: a change with no deployment yet; no review either
        "shop/pr/5": (
            "pull_request", 5, "carol", at("2026-01-09 09:00"), at("2026-01-09 09:30"), n,
            at("2026-01-09 10:00"), n, n, n, 1800, n, n, n),
        # billing: merged_pull_requests deploy at merge, so deploy = 0
        "billing/commit/" + marts.org.sha["b0"]: (
            "commit", n, "erin", at("2026-01-05 08:00"), n, n, n, at("2026-01-05 10:00"),
            "billing/merged_pull_requests/7", 7200, n, n, n, n),
        # no review: pickup and review NULL
        "billing/pr/7": (
            "pull_request", 7, "erin", at("2026-01-05 09:00"), at("2026-01-05 09:30"), n,
            at("2026-01-05 10:00"), at("2026-01-05 10:00"), "billing/merged_pull_requests/7",
            3600, 1800, n, n, 0),
        # 09:00 / 09:05 / 09:20 / 09:30: lead 1800, coding 300, pickup 900, review 600
        "billing/pr/8": (
            "pull_request", 8, "erin", at("2026-01-06 09:00"), at("2026-01-06 09:05"),
            at("2026-01-06 09:20"), at("2026-01-06 09:30"), at("2026-01-06 09:30"),
            "billing/merged_pull_requests/8", 1800, 300, 900, 600, 0),
        # 08:00 / 08:30 / 09:00 / 10:00: lead 7200, coding 1800, pickup 1800, review 3600
        "billing/pr/10": (
            "pull_request", 10, "frank", at("2026-01-07 08:00"), at("2026-01-07 08:30"),
            at("2026-01-07 09:00"), at("2026-01-07 10:00"), at("2026-01-07 10:00"),
            "billing/merged_pull_requests/10", 7200, 1800, 1800, 3600, 0),
        # search: a1 08:00 → 09:00; a2 08:00 → 10:00 (9002 failed); a3 08:00 → 09:00
        "search/commit/" + marts.org.sha["a1"]: (
            "commit", n, "gina", at("2026-01-05 08:00"), n, n, n, at("2026-01-05 09:00"),
            "search/workflow_runs/9001", 3600, n, n, n, n),
        "search/commit/" + marts.org.sha["a2"]: (
            "commit", n, "gina", at("2026-01-06 08:00"), n, n, n, at("2026-01-06 10:00"),
            "search/workflow_runs/9003", 7200, n, n, n, n),
        "search/commit/" + marts.org.sha["a3"]: (
            "commit", n, "gina", at("2026-01-07 08:00"), n, n, n, at("2026-01-07 09:00"),
            "search/workflow_runs/9006", 3600, n, n, n, n),
        # search-ci (9005, 01-07 08:20): a1 2 d 20 min = 174000; a2 1 d 20 min = 87600;
        # a3 20 min = 1200
        "search-ci/commit/" + marts.org.sha["a1"]: (
            "commit", n, "gina", at("2026-01-05 08:00"), n, n, n, at("2026-01-07 08:20"),
            "search-ci/workflow_runs/9005", 174000, n, n, n, n),
        "search-ci/commit/" + marts.org.sha["a2"]: (
            "commit", n, "gina", at("2026-01-06 08:00"), n, n, n, at("2026-01-07 08:20"),
            "search-ci/workflow_runs/9005", 87600, n, n, n, n),
        "search-ci/commit/" + marts.org.sha["a3"]: (
            "commit", n, "gina", at("2026-01-07 08:00"), n, n, n, at("2026-01-07 08:20"),
            "search-ci/workflow_runs/9005", 1200, n, n, n, n),
        # docs: k2 waited for v1.1.0 (the prerelease does not count):
        #   01-12 08:00 → 01-26 12:00 = 14 d 4 h = 1209600 + 14400 = 1224000
        "docs/commit/" + marts.org.sha["k1"]: (
            "commit", n, "hana", at("2026-01-05 08:00"), n, n, n, at("2026-01-05 12:00"),
            "docs/releases/3001", 14400, n, n, n, n),
        "docs/commit/" + marts.org.sha["k2"]: (
            "commit", n, "hana", at("2026-01-12 08:00"), n, n, n, at("2026-01-26 12:00"),
            "docs/releases/3004", 1224000, n, n, n, n),
        "docs/commit/" + marts.org.sha["k3"]: (
            "commit", n, "hana", at("2026-01-26 08:00"), n, n, n, at("2026-01-26 12:00"),
            "docs/releases/3004", 14400, n, n, n, n),
        # web: h2 waited for v3 (v2 failed): 01-06 08:00 → 11:00 = 10800
        "web/commit/" + marts.org.sha["h1"]: (
            "commit", n, "ivan", at("2026-01-05 08:00"), n, n, n, at("2026-01-05 10:00"),
            "web/heroku_releases/1", 7200, n, n, n, n),
        "web/commit/" + marts.org.sha["h2"]: (
            "commit", n, "ivan", at("2026-01-06 08:00"), n, n, n, at("2026-01-06 11:00"),
            "web/heroku_releases/3", 10800, n, n, n, n),
        "web/commit/" + marts.org.sha["h3"]: (
            "commit", n, "ivan", at("2026-01-07 08:00"), n, n, n, at("2026-01-07 10:00"),
            "web/heroku_releases/4", 7200, n, n, n, n),
        # ledger: l0 08:00 → 11:00 = 10800; #21 09:00 / 09:30 / — / 10:00 / 11:00;
        # #22 14:30 / 14:35 / — / 15:00 / 16:00; #23 01-20 09:00 / 09:10 / — / 09:40 / 10:00
        "ledger/commit/" + marts.org.sha["l0"]: (
            "commit", n, "erin", at("2026-01-19 08:00"), n, n, n, at("2026-01-19 11:00"),
            "ledger/github_deployments/7001", 10800, n, n, n, n),
        "ledger/pr/21": (
            "pull_request", 21, "erin", at("2026-01-19 09:00"), at("2026-01-19 09:30"), n,
            at("2026-01-19 10:00"), at("2026-01-19 11:00"), "ledger/github_deployments/7001",
            7200, 1800, n, n, 3600),
        "ledger/pr/22": (
            "pull_request", 22, "erin", at("2026-01-19 14:30"), at("2026-01-19 14:35"), n,
            at("2026-01-19 15:00"), at("2026-01-19 16:00"), "ledger/github_deployments/7002",
            5400, 300, n, n, 3600),
        "ledger/pr/23": (
            "pull_request", 23, "erin", at("2026-01-20 09:00"), at("2026-01-20 09:10"), n,
            at("2026-01-20 09:40"), at("2026-01-20 10:00"), "ledger/github_deployments/7003",
            3600, 600, n, n, 1200),
        # x1 01-23 10:00 → 01-26 10:00 = 3 d = 259200; x2 (11:00) = 259200 − 3600 = 255600;
        # #24 08:00 / 08:10 / — / 08:30 / 10:00; #25 09:00 / 09:05 / — / 09:30 / 10:00
        "ledger/commit/" + marts.org.sha["x1"]: (
            "commit", n, "frank", at("2026-01-23 10:00"), n, n, n, at("2026-01-26 10:00"),
            "ledger/github_deployments/7004", 259200, n, n, n, n),
        "ledger/commit/" + marts.org.sha["x2"]: (
            "commit", n, "frank", at("2026-01-23 11:00"), n, n, n, at("2026-01-26 10:00"),
            "ledger/github_deployments/7004", 255600, n, n, n, n),
        "ledger/pr/24": (
            "pull_request", 24, "erin", at("2026-01-26 08:00"), at("2026-01-26 08:10"), n,
            at("2026-01-26 08:30"), at("2026-01-26 10:00"), "ledger/github_deployments/7004",
            7200, 600, n, n, 5400),
        "ledger/pr/25": (
            "pull_request", 25, "erin", at("2026-01-26 09:00"), at("2026-01-26 09:05"), n,
            at("2026-01-26 09:30"), at("2026-01-26 10:00"), "ledger/github_deployments/7004",
            3600, 300, n, n, 1800),
    }
    # shop-staging reads the same branch; its only deployment (5000, 01-04 12:00) shipped c1
    # and c2: c1 01-02 09:00 → 2 d 3 h = 183600, c2 01-02 10:00 → 2 d 2 h = 180000. The rest of
    # the branch is not deployed there: shop's rows without deployed_at, deployment, lead and
    # deploy spans.
    sha = marts.org.sha
    staging = "shop-staging/github_deployments/5000"
    expected["shop-staging/commit/" + sha["c1"]] = (
        "commit", n, "alice", at("2026-01-02 09:00"), n, n, n, at("2026-01-04 12:00"), staging,
        183600, n, n, n, n)
    expected["shop-staging/commit/" + sha["c2"]] = (
        "commit", n, "bob", at("2026-01-02 10:00"), n, n, n, at("2026-01-04 12:00"), staging,
        180000, n, n, n, n)
    for change in ("pr/1", "pr/2", "commit/" + sha["d3"], "pr/3", "pr/4", "pr/5"):
        row = expected["shop/" + change]
        expected["shop-staging/" + change] = (*row[:7], n, n, n, *row[10:13], n)
    got = rows_by_key(marts.warehouse, "fct_changes", CHANGE_COLUMNS)
    # no change for a PR's own commits (p2a, p2b), merge/squash/rebased commits, fx, PR #9
    assert sorted(got) == sorted(expected)
    for key, row in expected.items():
        assert got[key] == row, key
    # the (c) deployment counts each change once, and carries it
    assert q(marts.warehouse, "select deployment_id, count(*) from main.fct_changes "
                              "where service = 'shop' group by 1 order by 1 nulls last") == [
        (d5001, 3), (d5003, 3), (d5004, 1), (None, 1)]


INCIDENT_COLUMNS = (
    "incident_id, source, external_id, service, team, severity, title, url, started_at, "
    "mitigated_at, resolved_at, restore_seconds, cause_deployment_id, link_method"
)


def test_fct_incidents(marts: Built) -> None:
    url = "https://github.com/acme/shop/issues/"
    expected = {
        # (f) the body names p2a[:9], PR #2's own commit, shipped by 5003; 15:00 → 17:30 = 9000
        "github_issues/acme/shop#40": (
            "github_issues", "acme/shop#40", "shop", "commerce", "sev2", "Checkout returns 500",
            url + "40", at("2026-01-07 15:00"), None, at("2026-01-07 17:30"), 9000,
            "shop/github_deployments/5003", "cause_commit"),
        # (g) no sha; starts 20 h after 5004 (01-08 14:00), no later deployment: time_window;
        # 10:00 → 11:15 = 4500
        "github_issues/acme/shop#41": (
            "github_issues", "acme/shop#41", "shop", "commerce", "sev3", "Slow product pages",
            url + "41", at("2026-01-09 10:00"), None, at("2026-01-09 11:15"), 4500,
            "shop/github_deployments/5004", "time_window"),
        # (g) no service label: the source's service; 01-16 10:00 is 7 d 20 h after 5004, past
        # the 7-day window: no link; 10:00 → 12:00 = 7200
        "github_issues/acme/shop#42": (
            "github_issues", "acme/shop#42", "shop", "commerce", "p1", "Login page down",
            url + "42", at("2026-01-16 10:00"), None, at("2026-01-16 12:00"), 7200, None, None),
    }
    ledger = "https://github.com/acme/ledger/issues/"
    expected.update({
        # the full 40-hex sha of sl21, shipped by 7001; 12:00 → 14:00 = 7200
        "github_issues/acme/ledger#60": (
            "github_issues", "acme/ledger#60", "ledger", "finance", "sev1", "Totals are wrong",
            ledger + "60", at("2026-01-19 12:00"), None, at("2026-01-19 14:00"), 7200,
            "ledger/github_deployments/7001", "cause_commit"),
        # "deadbeef01" resolves to no commit: the named cause is not resolvable, so the time
        # window applies (after 7001 at 11:00, before 7002 at 16:00); 13:00 → 13:30 = 1800
        "github_issues/acme/ledger#61": (
            "github_issues", "acme/ledger#61", "ledger", "finance", "sev2", "Timeouts",
            ledger + "61", at("2026-01-19 13:00"), None, at("2026-01-19 13:30"), 1800,
            "ledger/github_deployments/7001", "time_window"),
        # x1[:7] is also x2's prefix: ambiguous, so no named cause; 2 h after 7004; 2700 s
        "github_issues/acme/ledger#62": (
            "github_issues", "acme/ledger#62", "ledger", "finance", "sev2", "Crash on start",
            ledger + "62", at("2026-01-26 12:00"), None, at("2026-01-26 12:45"), 2700,
            "ledger/github_deployments/7004", "time_window"),
    })
    got = rows_by_key(marts.warehouse, "fct_incidents", INCIDENT_COLUMNS)
    assert got == expected


WEEKLY_COLUMNS = (
    "deployments, deploy_days, changes, median_lead_time_seconds, p90_lead_time_seconds, "
    "failed_deployments, change_failure_rate, cfr_ci_low, cfr_ci_high, incidents, "
    "median_restore_seconds, remediation_deployments, rework_rate"
)


def same(got: tuple[Any, ...], want: tuple[Any, ...]) -> bool:
    """Equal, with floats to 1e-6 (rates may be stored as 32-bit FLOAT)."""
    if len(got) != len(want):
        return False
    for g, w in zip(got, want, strict=True):
        if isinstance(w, float) or isinstance(g, float):
            if g is None or w is None or not math.isclose(g, w, rel_tol=0, abs_tol=1e-6):
                return False
        elif g != w:
            return False
    return True


def weekly(path: Path, grain: str, team: str | None, service: str | None,
           week: str) -> tuple[Any, ...]:
    found = q(path, f"select {WEEKLY_COLUMNS} from main.metrics_weekly where grain = ? "
                    "and team is not distinct from ? and service is not distinct from ? "
                    "and week_start = ?::date", [grain, team, service, week])
    assert len(found) == 1, (grain, team, service, week, found)
    return found[0]


def test_metrics_weekly(marts: Built) -> None:
    wh = marts.warehouse
    no = None
    cases: list[tuple[tuple[str, str | None, str | None, str], tuple[Any, ...]]] = [
        # (grain, team, service, week): deployments, deploy_days, changes, median lead, p90 lead,
        #   failed, cfr, ci low, ci high, incidents, median restore, remediations, rework
        #
        # shop, week of 01-05: deployments 5001 (Mon), 5003 (Wed), 5004 (Thu); 7 changes with
        # lead times (s) 7200 (d3), 14400 (#4), 15000 (#3), 97200 (#2), 106200 (#1),
        # 271800 (c2), 275400 (c1): median = the 4th = 97200;
        # p90 = value at position 0.9 × (7 − 1) = 5.4 → 271800 + 0.4 × (275400 − 271800) = 273240
        # failed 5003, 5004 → 2/3; incidents #40 (9000 s), #41 (4500 s) → median 6750
        (("service", "commerce", "shop", "2026-01-05"),
         (3, 3, 7, 97200.0, 273240.0, 2, 2 / 3, *wilson(2, 3), 2, 6750.0, 0, 0.0)),
        # shop, week of 01-12: no deployment, incident #42 (7200 s); rates undefined
        (("service", "commerce", "shop", "2026-01-12"),
         (0, 0, 0, no, no, 0, no, no, no, 1, 7200.0, 0, no)),
        # billing: 3 deployments, 7 failed (revert), 8 (revert) and 10 (hotfix) remediations;
        # leads 1800 (#8), 3600 (#7), 7200 (b0), 7200 (#10): median (3600 + 7200) / 2 = 5400;
        # p90 at 0.9 × 3 = 2.7 → 7200 + 0.7 × 0 = 7200
        (("service", "commerce", "billing", "2026-01-05"),
         (3, 3, 4, 5400.0, 7200.0, 1, 1 / 3, *wilson(1, 3), 0, no, 2, 2 / 3)),
        # search: 5 deployments on 4 days (two on 01-07); leads 3600, 3600, 7200: median 3600,
        # p90 at 0.9 × 2 = 1.8 → 3600 + 0.8 × 3600 = 6480; 9006 failed; 9007 remediation
        (("service", "platform", "search", "2026-01-05"),
         (5, 4, 3, 3600.0, 6480.0, 1, 0.2, *wilson(1, 5), 0, no, 1, 0.2)),
        # docs: the prerelease (01-12) does not count: weeks 01-12 and 01-19 are zero-filled
        (("service", "platform", "docs", "2026-01-12"),
         (0, 0, 0, no, no, 0, no, no, no, 0, no, 0, no)),
        (("service", "platform", "docs", "2026-01-19"),
         (0, 0, 0, no, no, 0, no, no, no, 0, no, 0, no)),
        # docs 01-26: v1.1.0 ships k2 (1224000 s) and k3 (14400 s): median 619200;
        # p90 = 14400 + 0.9 × (1224000 − 14400) = 14400 + 1088640 = 1103040; 0 of 1 failed
        (("service", "platform", "docs", "2026-01-26"),
         (1, 1, 2, 619200.0, 1103040.0, 0, 0.0, *wilson(0, 1), 0, no, 0, 0.0)),
        # team commerce (shop + billing), week of 01-05: 6 deployments on 01-05, 06, 07, 08 (4
        # days), 11 changes: 1800, 3600, 7200, 7200, 7200, 14400, 15000, 97200, 106200, 271800,
        # 275400 → median the 6th = 14400, p90 at 0.9 × 10 = 9 → the 10th = 271800;
        # failed 3 of 6; remediations 2 of 6
        (("team", "commerce", None, "2026-01-05"),
         (6, 4, 11, 14400.0, 271800.0, 3, 0.5, *wilson(3, 6), 2, 6750.0, 2, 1 / 3)),
        # organisation, week of 01-05: shop 3 + billing 3 + search 5 + search-ci 1 + docs 1 +
        # web 3 = 16 deployments; failed 5003, 5004, billing 7, search 9006 = 4; remediations
        # billing 8, 10, search 9007 = 3; 21 changes: 1200, 1800, 3600 ×3, 7200 ×6, 10800,
        # 14400 ×2, 15000, 87600, 97200, 106200, 174000, 271800, 275400 → median the 11th =
        # 7200; p90 at 0.9 × 20 = 18 → the 19th = 174000
        (("organisation", None, None, "2026-01-05"),
         (16, 4, 21, 7200.0, 174000.0, 4, 4 / 16, *wilson(4, 16), 2, 6750.0, 3, 3 / 16)),
        # ledger, week of 01-19: 7001, 7002 (01-19) and 7003 (01-20): 2 days; leads 3600 (#23),
        # 5400 (#22), 7200 (#21), 10800 (l0): median 6300, p90 at 2.7 → 7200 + 0.7 × 3600 = 9720;
        # 1 failed of 3; 7002 and 7003 remediations; incidents #60 (7200 s), #61 (1800 s)
        (("service", "finance", "ledger", "2026-01-19"),
         (3, 2, 4, 6300.0, 9720.0, 1, 1 / 3, *wilson(1, 3), 2, 4500.0, 2, 2 / 3)),
        # organisation, week of 12-29: only shop-staging's 5000 (Sunday 01-04), shipping c1
        # (183600 s) and c2 (180000 s): median 181800, p90 = 180000 + 0.9 × 3600 = 183240
        (("organisation", None, None, "2025-12-29"),
         (1, 1, 2, 181800.0, 183240.0, 0, 0.0, *wilson(0, 1), 0, no, 0, 0.0)),
    ]
    for key, want in cases:
        got = weekly(wh, *key)
        assert same(got, want), (key, got, want)
    # one row per week from the entity's first activity (a deployment, shipped change or
    # incident; shop's commits of 12-29's week count when shipped, on 01-05) to the last week
    # with data anywhere (01-26, docs' v1.1.0), zero-filled in between
    def weeks(grain: str, service: str | None) -> list[str]:
        return [str(r[0]) for r in q(wh, "select week_start::date from main.metrics_weekly "
                                         "where grain = ? and service is not distinct from ? "
                                         "order by 1", [grain, service])]

    jan = ["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"]
    assert weeks("service", "shop") == jan
    assert weeks("service", "billing") == jan
    assert weeks("organisation", None) == ["2025-12-29", *jan]
    # the helper against Wilson worked on paper, 2 failed of 3: p = 2/3, z² = 3.841459,
    # denominator 1 + z²/3 = 2.280486; centre (2/3 + z²/6) / 2.280486 = 1.306910 / 2.280486
    # = 0.573084; half-width z·sqrt(2/27 + z²/36) / 2.280486 = 0.365424 → [0.207660, 0.938508]
    low, high = wilson(2, 3)
    assert math.isclose(low, 0.207660, abs_tol=1e-6)
    assert math.isclose(high, 0.938508, abs_tol=1e-6)


SUMMARY_COLUMNS = (
    "window_start, window_end, deployments, deployments_per_week, deployment_frequency_band, "
    "lead_time_sample, median_lead_time_seconds, lead_time_band, change_failure_rate, "
    "failed_deployments, change_failure_rate_band, time_to_restore_sample, median_restore_seconds, "
    "time_to_restore_band"
)
REASONS = ("deployment_frequency_band_reason, lead_time_band_reason, "
           "change_failure_rate_band_reason, time_to_restore_band_reason")


def summary(path: Path, grain: str, team: str | None, service: str | None,
            year: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    found = q(path, f"select {SUMMARY_COLUMNS}, {REASONS} from main.dora_summary "
                    "where grain = ? and team is not distinct from ? "
                    "and service is not distinct from ? and dora_year = ?",
              [grain, team, service, year])
    assert len(found) == 1, (grain, team, service, year, found)
    row = found[0]
    return row[:-4], row[-4:]


def test_dora_summary(marts: Built) -> None:
    wh = marts.warehouse
    window = (date(2025, 11, 10), date(2026, 2, 2))  # [as_of − 84 days, as_of)
    for year in (2021, 2023, 2024):
        # shop: 3 deployments (< 10) and 3 incidents (< 5): every band NULL, with a reason.
        # Values still shown: 3 / 12 weeks = 0.25 a week; lead sample 7, median 97200;
        # CFR 2/3; incidents #40, #41, #42 restore 9000, 4500, 7200 → median 7200
        values, reasons = summary(wh, "service", "commerce", "shop", year)
        assert same(values, (*window, 3, 0.25, None, 7, 97200.0, None, 2 / 3,
                                               2, None, 3, 7200.0, None)), (year, values)
        assert all(r for r in reasons), (year, reasons)
    # platform: search 5 + docs 2 + web 3 = exactly 10 deployments: banded. 10 / 12 weeks =
    # 0.8333 a week (≥ once a month, < once a week) → medium (2021: high, "≥ 1 per 30 days").
    # Lead times 3600, 3600, 7200, 7200, 7200, 10800, 14400, 14400, 1224000 → median 7200
    # (< 1 day: elite; 2021: < 1 week after ≥ 1 hour: high). CFR 1/10 = 10 %, on the 2023/2024
    # "high ≤ 10 %" bound (2021: 0–15 % → elite, the best band it allows). No incident: no
    # recovery band, with a reason.
    bands = {2021: ("high", "high", "elite"), 2023: ("medium", "elite", "high"),
             2024: ("medium", "elite", "high")}
    for year, (df, lt, cfr) in bands.items():
        values, reasons = summary(wh, "team", "platform", None, year)
        assert same(values, (*window, 10, 10 / 12, df, 9, 7200.0, lt, 0.1, 1, cfr, 0, None,
                             None)), (year, values)
        assert reasons[:3] == (None, None, None) and reasons[3], (year, reasons)


def test_metrics_daily(marts: Built) -> None:
    # shop on 01-07: 5003 (failed) shipped d3 (7200 s), #3 (15000 s), #2 (97200 s): median
    # 15000, p90 at 0.9 × 2 = 1.8 → 15000 + 0.8 × (97200 − 15000) = 80760; incident #40
    # started that day (9000 s)
    found = q(marts.warehouse, f"select {WEEKLY_COLUMNS} from main.metrics_daily "
                               "where grain = 'service' and service = 'shop' "
                               "and day = '2026-01-07'::date")
    assert len(found) == 1
    assert same(found[0], (1, 1, 3, 15000.0, 80760.0, 1, 1.0, *wilson(1, 1), 1, 9000.0, 0, 0.0))
