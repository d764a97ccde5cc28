"""A rebase merge's replayed commits are associated with their pull request, as on GitHub."""

from __future__ import annotations

from fakes.generator import OrgSpec, generate
from fakes.scenario import load_scenario


def test_rebased_commits_map_to_their_pull_request() -> None:
    org = generate(OrgSpec(teams=1, services_per_team=2, months=2, seed=5,
                           merge_strategies={"rebase": 1.0}))
    scenario = load_scenario(org.scenario)
    checked = 0
    for repo in scenario.repositories:
        on_main = {c.sha for c in repo.branch_history(repo.default_branch)}
        for pr in repo.pull_requests:
            if pr.merged_at is None or len(pr.commits) < 2:
                continue
            originals = {(repo.commit_by_sha[s].authored_at, repo.commit_by_sha[s].message)
                         for s in pr.commits}
            replayed = [c for c in repo.commits if c.sha in on_main and c.sha not in pr.commits
                        and (c.authored_at, c.message) in originals]
            assert len(replayed) == len(pr.commits)
            for commit in replayed:
                assert pr.number in repo.pulls_by_commit[commit.sha]
            checked += 1
    assert checked > 5
