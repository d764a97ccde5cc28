"""The scale generator (fakes/scale.py): exact totals, valid git histories, seeded, and a 1%
increment that only appends after the old `now`.

Tolerances: none. `generate_at_scale` hits the asked totals exactly (direct pushes take up the
commit budget, deployments are allocated after the merged-PR services' merges are known) and
`advance` adds exactly round(fraction × total) PRs, commits and deployments, as long as the
commit budget leaves at least one commit per PR branch (it does here: 5 commits a PR).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from fakes.scale import ScaleOrg, advance, allocate, count_activity, generate_at_scale
from fakes.scale_sources import parse_ts
from fakes.scenario import Repository, Scenario, load_scenario
from fourkeys.config import DEPLOYMENT_SOURCES

TOTALS = {"repos": 12, "prs": 1200, "commits": 6000, "deployments": 300}


@pytest.fixture(scope="module")
def org() -> ScaleOrg:
    return generate_at_scale(seed=5, **TOTALS)


@pytest.fixture(scope="module")
def advanced(org: ScaleOrg) -> tuple[ScaleOrg, ScaleOrg, dict[str, int]]:
    before = copy.deepcopy(org)
    after = copy.deepcopy(org)
    added = advance(after, 0.01)
    return before, after, added


def _main(repo: Repository) -> set[str]:
    return {c.sha for c in repo.history(repo.branches[repo.default_branch])}


def _assert_valid_histories(org: ScaleOrg) -> Scenario:
    scenario = load_scenario(org.scenario)  # validates the format and its references
    by_app = {s.heroku_app: s.repository.lower() for s in org.services if s.heroku_app}
    main_of: dict[str, set[str]] = {}
    for repo in scenario.repositories:
        main = main_of[repo.full_name.lower()] = _main(repo)
        for commit in repo.commits:
            assert all(p in repo.commit_by_sha for p in commit.parents), commit.sha
            assert commit.committed_at < scenario.now
        for pr in repo.pull_requests:
            assert pr.commits, f"#{pr.number} has no commits"
            if pr.merged_at is not None:
                assert pr.merge_commit_sha in main, f"#{pr.number}'s merge is not on main"
                assert pr.closed_at == pr.merged_at
                assert pr.created_at < pr.merged_at < scenario.now
                merge = repo.commit_by_sha[pr.merge_commit_sha]
                if len(merge.parents) == 2:  # a merge commit: its second parent is the branch
                    assert merge.parents[1] == pr.commits[-1]
            elif pr.closed_at is None:  # still open: its branch is there
                assert repo.branches.get(pr.head) == pr.commits[-1]
        shas = [d.sha for d in repo.deployments] + [r.target_sha for r in repo.releases]
        shas += [r.head_sha for r in repo.workflow_runs]
        assert all(sha in main for sha in shas), repo.full_name
    for app in scenario.heroku_apps:
        assert all(r.commit in main_of[by_app[app.name]] for r in app.releases)
        assert sum(r.current for r in app.releases) == 1
    ids: list[int] = []
    for repo in scenario.repositories:
        ids += [d.id for d in repo.deployments] + [s.id for d in repo.deployments
                                                   for s in d.statuses]
        ids += [r.id for r in repo.workflow_runs] + [r.id for r in repo.releases]
        ids += [x.id for p in repo.pull_requests for x in p.reviews]
        ids += [x.id for p in repo.pull_requests for x in p.comments]
    assert len(ids) == len(set(ids)), "ids are unique org-wide"
    assert max(ids) < 2**31, "GraphQL serves databaseId as a 32-bit Int"
    return scenario


def test_totals_are_exactly_as_asked(org: ScaleOrg) -> None:
    counts = count_activity(org)
    assert {k: counts[k] for k in TOTALS} == TOTALS
    assert {s.deployment_source for s in org.services} == set(DEPLOYMENT_SOURCES)
    assert counts["reviews"] > counts["prs"] // 2 and counts["issues"] > 0


def test_histories_are_valid(org: ScaleOrg) -> None:
    scenario = _assert_valid_histories(org)
    strategies = {len(repo.commit_by_sha[p.merge_commit_sha].parents) for repo in
                  scenario.repositories for p in repo.pull_requests if p.merge_commit_sha}
    assert strategies == {1, 2}  # squash/rebase and merge commits both occur


def test_the_config_matches_the_scenario(org: ScaleOrg) -> None:
    import tomllib

    config = tomllib.loads(org.config_toml(github_api_url="http://127.0.0.1:1",
                                           heroku_api_url="http://127.0.0.1:1/heroku",
                                           warehouse_path="/tmp/x.duckdb"))
    repos = [r["full_name"] for r in org.scenario["repositories"]]
    assert [s["repository"] for s in config["services"]] == repos
    assert len({s["team"] for s in config["services"]}) == 2  # 8 services a team


def test_the_same_seed_gives_the_same_bytes() -> None:
    small = {"repos": 4, "prs": 200, "commits": 1000, "deployments": 40}
    first = json.dumps(generate_at_scale(seed=9, **small).scenario)
    assert json.dumps(generate_at_scale(seed=9, **small).scenario) == first
    assert json.dumps(generate_at_scale(seed=10, **small).scenario) != first


def test_allocate_adds_up_exactly() -> None:
    assert allocate(10, [1.0, 1.0, 1.0]) == [4, 3, 3]
    assert sum(allocate(1_000_003, [0.3, 2.5, 0.01, 7.0])) == 1_000_003
    assert allocate(5, [0.0, 1.0]) == [0, 5]


def _records(scenario: dict[str, Any]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    for repo in scenario["repositories"]:
        for key in ("commits", "pull_requests", "deployments", "workflow_runs", "releases",
                    "issues"):
            yield f"{repo['full_name']} {key}", repo[key]
    for app in scenario["heroku_apps"]:
        yield f"{app['name']} releases", app["releases"]


def test_the_increment_adds_one_percent(
    advanced: tuple[ScaleOrg, ScaleOrg, dict[str, int]],
) -> None:
    before, _, added = advanced
    counts = count_activity(before)
    for key in ("prs", "commits", "deployments"):
        assert added[key] == round(0.01 * counts[key]), key
    assert added["repos"] == 0


def test_the_increment_keeps_old_facts_and_comes_after_the_old_clock(
    advanced: tuple[ScaleOrg, ScaleOrg, dict[str, int]],
) -> None:
    before, after, _ = advanced
    old_now, new_now = parse_ts(before.scenario["now"]), parse_ts(after.scenario["now"])
    assert new_now - old_now == pytest.approx(0.01 * (old_now - before.start), abs=1)
    for (where, old), (_, new) in zip(_records(before.scenario), _records(after.scenario),
                                      strict=True):
        assert new[: len(old)] == old or where.endswith("-prod releases"), where
        for record in new[len(old):]:
            times = [v for k, v in record.items() if k.endswith("_at") and v]
            assert times and all(old_now < parse_ts(t) < new_now for t in times), where
    for old_app, new_app in zip(before.scenario["heroku_apps"], after.scenario["heroku_apps"],
                                strict=True):
        for old, new in zip(old_app["releases"], new_app["releases"], strict=False):
            assert {**old, "current": None} == {**new, "current": None}  # only `current` moves
    _assert_valid_histories(after)
