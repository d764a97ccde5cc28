"""A hand-built monorepo organisation (tests/integration/test_monorepo.py, whose docstring
works out every expected row, and tests/bad_inputs/test_bad_monorepo.py): repository `acme/mono`
with path-filtered services, and `acme/plain` without."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.scenario_builder import ScenarioBuilder


@dataclass(frozen=True)
class Mono:
    scenario: dict[str, Any]
    sha: dict[str, str]


def build_mono() -> Mono:
    org = ScenarioBuilder(now="2026-01-10 00:00")
    mono = org.repo("acme/mono")
    m0 = mono.commit("m0", authored="2026-01-05 08:00", message="Initial layout",
                     files=["README.md", "services/checkout/app.py", "services/search/app.py"])
    p1a = mono.feature_commit("p1a", parent=m0, authored="2026-01-05 09:00",
                              files=["services/checkout/cart.py"])
    s1 = mono.pull_request(1, "Checkout: cart", commits=[p1a], opened="2026-01-05 10:00",
                           merged="2026-01-05 12:00", strategy="squash").mainline[0]
    p2a = mono.feature_commit("p2a", parent=s1, authored="2026-01-05 12:30", author="bob",
                              files=["services/search/rank.py"])
    p2b = mono.feature_commit("p2b", parent=p2a, authored="2026-01-05 13:00", author="bob",
                              files=["services/search/rank_test.py"])
    m2 = mono.pull_request(2, "Search: ranking", commits=[p2a, p2b], author="bob",
                           opened="2026-01-05 13:30", merged="2026-01-05 15:00",
                           strategy="merge").mainline[0]
    mono.workflow_run(101, m2, workflow="deploy-checkout.yml", name="Deploy checkout",
                      created="2026-01-05 15:50", updated="2026-01-05 16:00")
    p3a = mono.feature_commit("p3a", parent=m2, authored="2026-01-06 09:00", author="carol",
                              files=["libs/pay/client.py", "services/search/pay_hook.py"])
    r3a = mono.pull_request(3, "Shared payment client", commits=[p3a], author="carol",
                            opened="2026-01-06 10:00", merged="2026-01-06 11:00",
                            strategy="rebase").mainline[0]
    p4a = mono.feature_commit("p4a", parent=r3a, authored="2026-01-06 12:00",
                              files=["docs/guide.md", "README.md"])
    s4 = mono.pull_request(4, "Docs", commits=[p4a], opened="2026-01-06 12:30",
                           merged="2026-01-06 13:00", strategy="squash").mainline[0]
    d5 = mono.commit("d5", authored="2026-01-06 14:00", author="bob",
                     message="Search: tune synonyms", files=["services/search/synonyms.txt"])
    mono.workflow_run(201, d5, workflow="deploy-search.yml", name="Deploy search",
                      created="2026-01-06 14:50", updated="2026-01-06 15:00")
    mono.workflow_run(102, d5, workflow="deploy-checkout.yml", name="Deploy checkout",
                      created="2026-01-06 15:50", updated="2026-01-06 16:00")
    p5a = mono.feature_commit("p5a", parent=d5, authored="2026-01-07 09:00",
                              files=[f"services/checkout/gen/f{i:03d}.py" for i in range(120)])
    s5 = mono.pull_request(5, "Checkout: generated clients", commits=[p5a],
                           opened="2026-01-07 09:30", merged="2026-01-07 10:00",
                           strategy="squash").mainline[0]
    d6 = mono.commit("d6", authored="2026-01-07 11:00", author="bob",
                     message="Search: regenerate the index",
                     files=[f"services/search/index/part{i:03d}.json" for i in range(320)])
    mono.workflow_run(103, d6, workflow="deploy-checkout.yml", name="Deploy checkout",
                      created="2026-01-07 11:50", updated="2026-01-07 12:00")
    mono.release(3001, "checkout-v1.0.0", s1, created="2026-01-05 12:20",
                 published="2026-01-05 12:30")
    mono.release(3002, "search-v1.0.0", m2, created="2026-01-05 15:20",
                 published="2026-01-05 15:30")
    mono.release(3003, "checkout-v1.1.0", s5, created="2026-01-07 10:20",
                 published="2026-01-07 10:30")

    plain = org.repo("acme/plain")  # files drawn, never asked for: no service has paths
    q0 = plain.commit("q0", authored="2026-01-05 08:00", files=["main.py"])
    pq1 = plain.feature_commit("pq1", parent=q0, authored="2026-01-05 09:00", files=["lib.py"])
    plain.pull_request(1, "Library", commits=[pq1], opened="2026-01-05 09:30",
                       merged="2026-01-05 10:00")
    sha = dict(m0=m0, s1=s1, m2=m2, r3a=r3a, s4=s4, d5=d5, s5=s5, d6=d6, q0=q0)
    return Mono(org.build(), sha)


SERVICES_WITH_PATHS = """
[[services]]
name = "checkout"
team = "payments"
repository = "acme/mono"
deployment_source = "workflow_runs"
workflow = "deploy-checkout.yml"
paths = ["services/checkout/**", "libs/pay/**"]

[[services]]
name = "search"
team = "discovery"
repository = "acme/mono"
deployment_source = "workflow_runs"
workflow = "deploy-search.yml"
paths = ["services/search"]

[[services]]
name = "search-merges"
team = "discovery"
repository = "acme/mono"
deployment_source = "merged_pull_requests"
paths = ["services/search/**"]

[[services]]
name = "checkout-tags"
team = "payments"
repository = "acme/mono"
deployment_source = "releases"
tag_prefix = "checkout-v"
paths = ["services/checkout/**"]
"""

# the same services and deployment sources, before anyone wrote `paths` (or `tag_prefix`)
SERVICES_WITHOUT_PATHS = "\n".join(
    line for line in SERVICES_WITH_PATHS.splitlines()
    if not line.startswith(("paths =", "tag_prefix ="))) + "\n"

COMMON_SERVICES = """
[[services]]
name = "mono-all"
team = "platform"
repository = "acme/mono"
deployment_source = "releases"

[[services]]
name = "plain"
team = "platform"
repository = "acme/plain"
deployment_source = "merged_pull_requests"
"""


def write_config(directory: Path, base_url: str, *, with_paths: bool) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    services = SERVICES_WITH_PATHS if with_paths else SERVICES_WITHOUT_PATHS
    text = (f'[warehouse]\npath = "{directory / "fourkeys.duckdb"}"\n\n'
            f'[github]\napi_url = "{base_url}"\ntoken_env = "GITHUB_TOKEN"\n'
            + services + COMMON_SERVICES)
    path = directory / ("with-paths.toml" if with_paths else "without-paths.toml")
    path.write_text(text, encoding="utf-8")
    return path
