"""The scenario generator: valid, deterministic, and git-consistent like a real organisation."""

from __future__ import annotations

import json
import re
import tomllib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fakes.generator import (
    DEPLOYMENT_SOURCES,
    GeneratedOrg,
    OrgSpec,
    generate,
    generate_to_file,
    main,
    spec_for,
)
from fakes.scenario import Repository, Scenario, load_scenario

SMALL = OrgSpec(teams=3, services_per_team=2, months=3, prs_per_service_per_week=6.0, seed=11)
SHA_IN_TEXT = re.compile(r"\b[0-9a-f]{7,40}\b")


@pytest.fixture(scope="module")
def org() -> GeneratedOrg:
    return generate(OrgSpec())


@pytest.fixture(scope="module")
def scenario(org: GeneratedOrg) -> Scenario:
    return load_scenario(org.scenario)


def _reachable(repo: Repository, head: str) -> set[str]:
    return {c.sha for c in repo.history(head)}


def _services(org: GeneratedOrg, scenario: Scenario) -> list[tuple[Any, Repository]]:
    return [(s, scenario.repo_by_name[s.repository.lower()]) for s in org.services]


def test_output_validates_and_has_every_part(org: GeneratedOrg, scenario: Scenario) -> None:
    assert len(scenario.repositories) == 12
    assert {s.deployment_source for s in org.services} == set(DEPLOYMENT_SOURCES)
    assert scenario.heroku_apps and scenario.pagerduty.incidents
    assert len(scenario.pagerduty.services) == 2
    for repo in scenario.repositories:
        assert repo.branches["main"] in repo.commit_by_sha
        numbers = [p.number for p in repo.pull_requests] + [i.number for i in repo.issues]
        assert len(numbers) == len(set(numbers)), "issues and PRs share one number sequence"


def test_everything_happens_before_now(scenario: Scenario) -> None:
    now = scenario.now
    for repo in scenario.repositories:
        assert repo.created_at < now
        assert all(c.committed_at < now and c.authored_at < now for c in repo.commits)
        for pr in repo.pull_requests:
            assert pr.created_at <= pr.updated_at < now
            stamps = [
                pr.closed_at,
                *(r.submitted_at for r in pr.reviews),
                *(c.created_at for c in pr.comments),
            ]
            assert all(s <= pr.updated_at for s in stamps if s is not None)
        for d in repo.deployments:
            assert all(d.created_at <= s.created_at < now for s in d.statuses)
        assert all(run.updated_at < now for run in repo.workflow_runs)
    assert all(i.created_at < now for i in scenario.pagerduty.incidents)


def test_same_spec_same_bytes(tmp_path: Path) -> None:
    first, second = generate(SMALL), generate(SMALL)
    assert json.dumps(first.scenario) == json.dumps(second.scenario)
    assert json.dumps(generate(OrgSpec(**{**SMALL.__dict__, "seed": 12})).scenario) != json.dumps(
        first.scenario
    )
    # the streaming writer gives exactly the bytes of the in-memory one
    written, _ = first.write(tmp_path / "a")
    streamed = generate_to_file(SMALL, tmp_path / "b" / "scenario.json")
    assert written.read_bytes() == streamed.read_bytes()
    load_scenario(streamed)


def test_every_deployment_source_has_data(org: GeneratedOrg, scenario: Scenario) -> None:
    apps = scenario.heroku_app_by_name
    for service, repo in _services(org, scenario):
        source = service.deployment_source
        if source == "github_deployments":
            prod = [d for d in repo.deployments if d.environment == "production"]
            assert any(s.state == "success" for d in prod for s in d.statuses)
            assert any(d.environment == "staging" for d in repo.deployments)
        elif source == "workflow_runs":
            deploys = [r for r in repo.workflow_runs if r.workflow_path.endswith("deploy.yml")]
            assert any(r.conclusion == "success" and r.head_branch == "main" for r in deploys)
            assert any(r.workflow_path.endswith("ci.yml") for r in repo.workflow_runs)
            ids = [r.id for r in repo.workflow_runs]
            assert len(ids) == len(set(ids)), "a re-run keeps its id and bumps run_attempt"
        elif source == "releases":
            published = [r for r in repo.releases if not r.draft and not r.prerelease]
            assert len(published) >= 5
            assert all(r.published_at is not None for r in published)
        elif source == "heroku_releases":
            app = apps[service.heroku_app]
            deploys = [r for r in app.releases if r.description.startswith("Deploy ")]
            assert any(r.status == "succeeded" for r in deploys)
            assert any(r.commit is None for r in app.releases), "config releases carry no commit"
            assert sum(r.current for r in app.releases) == 1
        else:
            assert source == "merged_pull_requests"
            assert any(p.merged_at for p in repo.pull_requests)


def test_rollbacks_redeploy_an_earlier_sha(org: GeneratedOrg, scenario: Scenario) -> None:
    rollbacks = 0
    for _, repo in _services(org, scenario):
        seen: set[str] = set()
        for d in sorted(repo.deployments, key=lambda d: d.created_at):
            ok = d.environment == "production" and any(s.state == "success" for s in d.statuses)
            if ok and d.sha in seen and d.description and d.description.startswith("Rollback"):
                rollbacks += 1
            if ok:
                seen.add(d.sha)
    for app in scenario.heroku_apps:
        rollbacks += sum(r.description.startswith("Rollback to v") for r in app.releases)
    assert rollbacks > 0


def test_merge_strategies_are_git_consistent(scenario: Scenario) -> None:
    strategies: Counter[str] = Counter()
    for repo in scenario.repositories:
        on_main = _reachable(repo, repo.branches["main"])
        for c in repo.commits:  # committed_at never goes back along parents
            for parent in c.parents:
                assert repo.commit_by_sha[parent].committed_at <= c.committed_at, c.sha
        for pr in repo.pull_requests:
            assert pr.commits, f"#{pr.number} has no commits"
            if pr.merged_at is None:
                assert pr.merge_commit_sha is None
                continue
            merge = repo.commit_by_sha[pr.merge_commit_sha]
            assert merge.sha in on_main
            if len(merge.parents) == 2:
                strategies["merge"] += 1
                assert merge.message.startswith(f"Merge pull request #{pr.number} from ")
                assert merge.parents[1] == pr.commits[-1]
                assert set(pr.commits) <= on_main
            elif merge.sha not in pr.commits and f"(#{pr.number})" in merge.message:
                strategies["squash"] += 1
                assert merge.author.login == pr.author
                assert not set(pr.commits) & on_main, "squashed commits stay off main"
            else:
                strategies["rebase"] += 1
                assert not set(pr.commits) & on_main
                last = repo.commit_by_sha[pr.commits[-1]]
                assert merge.authored_at == last.authored_at and merge.message == last.message
            assert merge.committed_at == pr.merged_at
    assert strategies["squash"] > strategies["merge"] > strategies["rebase"] > 0


def test_pull_requests_look_real(scenario: Scenario) -> None:
    prs = [p for r in scenario.repositories for p in r.pull_requests]
    assert any(p.closed_at and not p.merged_at for p in prs), "closed without merging"
    assert any(p.closed_at is None for p in prs), "still open at now"
    assert any(p.draft for p in prs)
    assert any("hotfix" in p.labels and p.head.startswith("hotfix/") for p in prs)
    self_comments = sum(any(c.author == p.author for c in p.comments) for p in prs)
    assert self_comments > 0
    before_open = 0
    for repo in scenario.repositories:
        for p in repo.pull_requests:
            first = min(repo.commit_by_sha[s].authored_at for s in p.commits)
            before_open += first < p.created_at
            people = {r.author for r in p.reviews} | {c.author for c in p.comments}
            assert p.author not in {r.author for r in p.reviews}, "no self-review"
            assert people <= {p.author} | _members(scenario, repo)
    assert before_open > 0.8 * len(prs)


def _members(scenario: Scenario, repo: Repository) -> set[str]:
    return {p.author for p in repo.pull_requests} | {
        r.author for p in repo.pull_requests for r in p.reviews
    }


def test_reverts_name_a_real_sha_on_main(scenario: Scenario) -> None:
    reverts = 0
    for repo in scenario.repositories:
        on_main = _reachable(repo, repo.branches["main"])
        titles = {p.merge_commit_sha: p.title for p in repo.pull_requests if p.merge_commit_sha}
        for pr in repo.pull_requests:
            if not pr.title.startswith('Revert "'):
                continue
            reverts += 1
            match = re.fullmatch(r"This reverts commit ([0-9a-f]{40})\.", pr.body)
            assert match, pr.body
            sha = match.group(1)
            assert sha in on_main
            assert pr.title == f'Revert "{titles[sha]}"'
            assert pr.created_at > repo.commit_by_sha[sha].committed_at
    assert reverts > 0


def test_incidents_name_real_commits(scenario: Scenario) -> None:
    named = prefixes = unnamed = 0
    for repo in scenario.repositories:
        for issue in repo.issues:
            if "incident" not in issue.labels:
                continue
            assert {"sev1", "sev2", "sev3"} & set(issue.labels)
            assert any(label.startswith("service:") for label in issue.labels)
            refs = SHA_IN_TEXT.findall(issue.body)
            if not refs:
                unnamed += 1
                continue
            (ref,) = refs
            named += 1
            prefixes += len(ref) < 40
            assert repo.resolve_ref(ref) is not None, f"{ref} does not resolve uniquely"
            if issue.closed_at is not None:
                assert issue.closed_at > issue.created_at
    assert named and prefixes and unnamed
    noise = [i for r in scenario.repositories for i in r.issues if "incident" not in i.labels]
    assert noise, "issues that are not incidents"


def test_first_deployment_ships_history_from_before_the_window(
    org: GeneratedOrg, scenario: Scenario
) -> None:
    window_start = datetime(2025, 9, 1, tzinfo=UTC)
    for repo in scenario.repositories:
        assert repo.created_at < window_start
        first_sha = repo.branch_history("main")[-1].sha
        assert repo.commit_by_sha[first_sha].committed_at < window_start
        prod = sorted(
            (d for d in repo.deployments if d.environment == "production"),
            key=lambda d: d.created_at,
        )
        if prod:
            assert prod[0].created_at >= window_start
            assert first_sha in _reachable(repo, prod[0].sha)


def test_config_toml_names_every_service(org: GeneratedOrg, tmp_path: Path) -> None:
    text = org.config_toml(
        github_api_url="http://127.0.0.1:9/",
        heroku_api_url="http://h/",
        warehouse_path=str(tmp_path / "w.duckdb"),
    )
    config = tomllib.loads(text)
    assert config["github"] == {"api_url": "http://127.0.0.1:9/", "token_env": "GITHUB_TOKEN"}
    assert config["heroku"]["token_env"] == "HEROKU_API_KEY"
    assert config["warehouse"]["path"].endswith("w.duckdb")
    by_name = {s["name"]: s for s in config["services"]}
    assert set(by_name) == {s.name for s in org.services}
    for s in org.services:
        entry = by_name[s.name]
        assert entry["repository"] == s.repository
        assert entry["deployment_source"] == s.deployment_source
        expected = {
            "github_deployments": "environment",
            "workflow_runs": "workflow",
            "heroku_releases": "heroku_app",
        }.get(s.deployment_source)
        if expected:
            assert entry[expected]
    sources = config["incident_sources"]
    assert {src["repository"] for src in sources} == {s.repository for s in org.services}
    assert all(src["type"] == "github_issues" and src["label"] == "incident" for src in sources)
    assert config["metrics"]["attribution_window_days"] == 7


def test_command_line_sizes_from_targets(tmp_path: Path) -> None:
    spec = spec_for(repos=7, prs=900, months=2, seed=3)
    assert spec.total_services == 7
    assert (
        main(
            ["--repos", "7", "--prs", "900", "--months", "2", "--seed", "3", "--out", str(tmp_path)]
        )
        == 0
    )
    scenario = load_scenario(tmp_path / "scenario.json")
    assert len(scenario.repositories) == 7
    total = sum(len(r.pull_requests) for r in scenario.repositories)
    assert 700 < total < 1100
    config = tomllib.loads((tmp_path / "fourkeys.toml").read_text())
    assert len(config["services"]) == 7


def test_incidents_follow_the_deployment_that_shipped_their_cause(
    org: GeneratedOrg, scenario: Scenario
) -> None:
    checked = 0
    for service, repo in _services(org, scenario):
        if service.deployment_source != "github_deployments":
            continue
        deployed = [
            (min(s.created_at for s in d.statuses if s.state == "success"), d.sha)
            for d in repo.deployments
            if d.environment == "production" and any(s.state == "success" for s in d.statuses)
        ]
        for issue in repo.issues:
            refs = SHA_IN_TEXT.findall(issue.body) if "incident" in issue.labels else []
            if not refs:
                continue
            cause = repo.resolve_ref(refs[0])
            shipped = [at for at, sha in deployed if cause in _reachable(repo, sha)]
            assert shipped and min(shipped) < issue.created_at
            assert (issue.created_at - min(shipped)).total_seconds() < 2 * 86400
            checked += 1
    assert checked


def test_config_toml_with_pagerduty(org: GeneratedOrg) -> None:
    config = tomllib.loads(
        org.config_toml(
            github_api_url="http://g",
            heroku_api_url="http://h",
            warehouse_path="w.duckdb",
            pagerduty_api_url="http://p",
        )
    )
    assert config["pagerduty"] == {"api_url": "http://p", "token_env": "PAGERDUTY_TOKEN"}
    paged = [s for s in config["incident_sources"] if s["type"] == "pagerduty"]
    assert {s["service"] for s in paged} == {s.name for s in org.services if s.pagerduty_service_id}


def test_ids_stay_graphql_ints_past_two_hundred_services() -> None:
    """GraphQL's Int is 32-bit: with 10 million ids per service the fake answered "Int cannot
    represent non 32-bit signed integer value" from the 214th service on."""
    from fakes.generator import OrgSpec, generate

    org = generate(OrgSpec(teams=60, services_per_team=4, months=1,
                           prs_per_service_per_week=1.0, seed=5))
    assert len(org.services) == 240

    def ids(node: object) -> list[int]:
        if isinstance(node, dict):
            found = [v for k, v in node.items() if k == "id" and isinstance(v, int)]
            return found + [i for v in node.values() for i in ids(v)]
        if isinstance(node, list):
            return [i for v in node for i in ids(v)]
        return []

    every = ids(org.scenario["repositories"])
    assert every and max(every) < 2**31
    assert len(every) == len(set(every))
