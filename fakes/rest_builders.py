"""Builders for GitHub REST objects, one per OpenAPI component the fake serves.

Every builder returns a dict that validates against the component of the same name in GitHub's
OpenAPI description (all required properties, right types). URLs inside bodies are absolute and
point back at this server (`api` base, with `/api/v3` for GHES), because clients such as PyGithub
follow them (`pr.get_commits()` requests `pr.url + "/commits"`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fakes.rest_builders_base import BaseBuilder, user_id
from fakes.rest_common import derived_sha, iso, node_id, stable_id
from fakes.scenario import (
    Comment,
    Commit,
    Deployment,
    DeploymentStatus,
    Issue,
    PullRequest,
    Release,
    Repository,
    Review,
    WorkflowRun,
)

# user_id is re-exported for callers that derive the same ids
__all__ = ["Builder", "Workflow", "dumps", "user_id"]


@dataclass(frozen=True, slots=True)
class Workflow:
    """A workflow derived from the runs that name its file."""

    id: int
    path: str
    name: str
    created_at: datetime
    updated_at: datetime


class Builder(BaseBuilder):
    """Per-endpoint bodies; see BaseBuilder for the memoised users and repositories."""

    # --- commits --------------------------------------------------------------------------

    def commit(self, repo: Repository, c: Commit, detail: bool = False,
               files: Sequence[str] = ()) -> dict[str, Any]:
        """A commit; `detail` (the single-commit endpoint) adds stats and `files` (this page
        of the commit's changed paths; the scenario has no diffs, so no line counts)."""
        u = f"{self.api}/repos/{repo.full_name}"
        committer = c.committer or c.author
        tree = derived_sha("tree", c.sha)
        body: dict[str, Any] = {
            "sha": c.sha,
            "node_id": node_id("Commit", stable_id("commit", c.sha)),
            "commit": {
                "author": {
                    "name": c.author.name,
                    "email": c.author.email,
                    "date": iso(c.authored_at),
                },
                "committer": {
                    "name": committer.name,
                    "email": committer.email,
                    "date": iso(c.committed_at),
                },
                "message": c.message,
                "tree": {"sha": tree, "url": f"{u}/git/trees/{tree}"},
                "url": f"{u}/git/commits/{c.sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                },
            },
            "url": f"{u}/commits/{c.sha}",
            "html_url": f"{self.web}/{repo.full_name}/commit/{c.sha}",
            "comments_url": f"{u}/commits/{c.sha}/comments",
            "author": self.maybe_user(c.author.login),
            "committer": self.maybe_user(committer.login),
            "parents": [
                {
                    "sha": p,
                    "url": f"{u}/commits/{p}",
                    "html_url": f"{self.web}/{repo.full_name}/commit/{p}",
                }
                for p in c.parents
            ],
        }
        if detail:
            body["stats"] = {"total": 0, "additions": 0, "deletions": 0}
            body["files"] = [self._diff_entry(repo, c.sha, path) for path in files]
        return body

    def _diff_entry(self, repo: Repository, sha: str, path: str) -> dict[str, Any]:
        quoted = path.replace(" ", "%20")
        return {
            "sha": derived_sha("blob", sha, path), "filename": path, "status": "modified",
            "additions": 0, "deletions": 0, "changes": 0,
            "blob_url": f"{self.web}/{repo.full_name}/blob/{sha}/{quoted}",
            "raw_url": f"{self.web}/{repo.full_name}/raw/{sha}/{quoted}",
            "contents_url": f"{self.api}/repos/{repo.full_name}/contents/{quoted}?ref={sha}",
        }

    def simple_commit(self, c: Commit) -> dict[str, Any]:
        committer = c.committer or c.author
        return {
            "id": c.sha,
            "tree_id": derived_sha("tree", c.sha),
            "message": c.message,
            "timestamp": iso(c.committed_at),
            "author": {"name": c.author.name, "email": c.author.email},
            "committer": {"name": committer.name, "email": committer.email},
        }

    # --- pull requests --------------------------------------------------------------------

    def _pr_ends(self, repo: Repository, pr: PullRequest) -> tuple[str, str]:
        """(base sha, head sha): head = the PR's last commit; base = its first commit's parent."""
        commits = repo.commit_by_sha
        head_sha = pr.commits[-1] if pr.commits else (pr.merge_commit_sha or "")
        base_sha = ""
        if pr.commits:
            first = commits.get(pr.commits[0])
            if first is not None and first.parents:
                base_sha = first.parents[0]
        if not base_sha:
            base_sha = repo.branches.get(pr.base, "") or head_sha
        return base_sha or derived_sha("base", repo.full_name, pr.number), head_sha or derived_sha(
            "head", repo.full_name, pr.number
        )

    def pull_request_simple(self, repo: Repository, pr: PullRequest) -> dict[str, Any]:
        pid = stable_id("pull", repo.full_name, pr.number)
        u = f"{self.api}/repos/{repo.full_name}"
        pu = f"{u}/pulls/{pr.number}"
        html = f"{self.web}/{repo.full_name}/pull/{pr.number}"
        base_sha, head_sha = self._pr_ends(repo, pr)
        repo_body = self.repository(repo)
        owner = self.simple_user(repo.owner, kind="Organization")
        return {
            "url": pu,
            "id": pid,
            "node_id": node_id("PullRequest", pid),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": f"{u}/issues/{pr.number}",
            "commits_url": f"{pu}/commits",
            "review_comments_url": f"{pu}/comments",
            "review_comment_url": f"{u}/pulls/comments{{/number}}",
            "comments_url": f"{u}/issues/{pr.number}/comments",
            "statuses_url": f"{u}/statuses/{head_sha}",
            "number": pr.number,
            "state": pr.state,
            "locked": False,
            "title": pr.title,
            "user": self.simple_user(pr.author),
            "body": pr.body or None,
            "labels": [self.label(repo, name) for name in pr.labels],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": iso(pr.created_at),
            "updated_at": iso(pr.updated_at),
            "closed_at": iso(pr.closed_at),
            "merged_at": iso(pr.merged_at),
            "merge_commit_sha": pr.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": {
                "label": f"{repo.owner}:{pr.head}",
                "ref": pr.head,
                "sha": head_sha,
                "user": owner,
                "repo": repo_body,
            },
            "base": {
                "label": f"{repo.owner}:{pr.base}",
                "ref": pr.base,
                "sha": base_sha,
                "user": owner,
                "repo": repo_body,
            },
            "_links": {
                "self": {"href": pu},
                "html": {"href": html},
                "issue": {"href": f"{u}/issues/{pr.number}"},
                "comments": {"href": f"{u}/issues/{pr.number}/comments"},
                "review_comments": {"href": f"{pu}/comments"},
                "review_comment": {"href": f"{u}/pulls/comments{{/number}}"},
                "commits": {"href": f"{pu}/commits"},
                "statuses": {"href": f"{u}/statuses/{head_sha}"},
            },
            "author_association": "MEMBER",
            "auto_merge": None,
            "draft": pr.draft,
        }

    def pull_request(self, repo: Repository, pr: PullRequest) -> dict[str, Any]:
        body = self.pull_request_simple(repo, pr)
        merged = pr.merged_at is not None
        body.update(
            {
                "merged": merged,
                "mergeable": None,
                "rebaseable": None,
                "mergeable_state": "unknown",
                # the scenario does not say who merged; GitHub names the merger, we name the author
                "merged_by": self.simple_user(pr.author) if merged else None,
                "comments": len(pr.comments),
                "review_comments": 0,
                "maintainer_can_modify": False,
                "commits": len(pr.commits),
                "additions": 0,
                "deletions": 0,
                "changed_files": 0,
            }
        )
        return body

    def review(self, repo: Repository, pr: PullRequest, r: Review) -> dict[str, Any]:
        html = f"{self.web}/{repo.full_name}/pull/{pr.number}"
        pu = f"{self.api}/repos/{repo.full_name}/pulls/{pr.number}"
        _, head_sha = self._pr_ends(repo, pr)
        out: dict[str, Any] = {
            "id": r.id,
            "node_id": node_id("PullRequestReview", r.id),
            "user": self.simple_user(r.author),
            "body": r.body,
            "state": r.state,
            "html_url": f"{html}#pullrequestreview-{r.id}",
            "pull_request_url": pu,
            "_links": {
                "html": {"href": f"{html}#pullrequestreview-{r.id}"},
                "pull_request": {"href": pu},
            },
            "commit_id": head_sha,
            "author_association": "MEMBER",
        }
        if r.state != "PENDING":
            out["submitted_at"] = iso(r.submitted_at)
        return out

    def issue_comment(
        self, repo: Repository, number: int, c: Comment, is_pull: bool
    ) -> dict[str, Any]:
        u = f"{self.api}/repos/{repo.full_name}"
        page = "pull" if is_pull else "issues"
        stamp = iso(c.created_at)
        return {
            "id": c.id,
            "node_id": node_id("IssueComment", c.id),
            "url": f"{u}/issues/comments/{c.id}",
            "html_url": f"{self.web}/{repo.full_name}/{page}/{number}#issuecomment-{c.id}",
            "body": c.body,
            "user": self.simple_user(c.author),
            "created_at": stamp,
            "updated_at": stamp,
            "issue_url": f"{u}/issues/{number}",
            "author_association": "MEMBER",
        }

    # --- issues ---------------------------------------------------------------------------

    def issue(self, repo: Repository, issue: Issue) -> dict[str, Any]:
        iid = stable_id("issue", repo.full_name, issue.number)
        u = f"{self.api}/repos/{repo.full_name}"
        iu = f"{u}/issues/{issue.number}"
        return {
            "id": iid,
            "node_id": node_id("Issue", iid),
            "url": iu,
            "repository_url": u,
            "labels_url": f"{iu}/labels{{/name}}",
            "comments_url": f"{iu}/comments",
            "events_url": f"{iu}/events",
            "html_url": f"{self.web}/{repo.full_name}/issues/{issue.number}",
            "number": issue.number,
            "state": issue.state,
            "state_reason": "completed" if issue.state == "closed" else None,
            "title": issue.title,
            "body": issue.body or None,
            "user": self.simple_user(issue.author),
            "labels": [self.label(repo, name) for name in issue.labels],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": 0,
            "closed_at": iso(issue.closed_at),
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_by": None,
            "author_association": "MEMBER",
        }

    # --- releases and tags ----------------------------------------------------------------

    def release(self, repo: Repository, r: Release) -> dict[str, Any]:
        u = f"{self.api}/repos/{repo.full_name}"
        return {
            "url": f"{u}/releases/{r.id}",
            "html_url": f"{self.web}/{repo.full_name}/releases/tag/{r.tag_name}",
            "assets_url": f"{u}/releases/{r.id}/assets",
            "upload_url": f"{self.web}/uploads/repos/{repo.full_name}/releases/{r.id}"
            "/assets{?name,label}",
            "tarball_url": f"{u}/tarball/{r.tag_name}",
            "zipball_url": f"{u}/zipball/{r.tag_name}",
            "id": r.id,
            "node_id": node_id("Release", r.id),
            "tag_name": r.tag_name,
            "target_commitish": r.target_sha,
            "name": r.name,
            "body": r.body or None,
            "draft": r.draft,
            "prerelease": r.prerelease,
            "created_at": iso(r.created_at),
            "published_at": None if r.draft else iso(r.published_at),
            "author": self.simple_user(r.author),
            "assets": [],
        }

    def tag(self, repo: Repository, name: str, sha: str) -> dict[str, Any]:
        u = f"{self.api}/repos/{repo.full_name}"
        return {
            "name": name,
            "commit": {"sha": sha, "url": f"{u}/commits/{sha}"},
            "zipball_url": f"{u}/zipball/refs/tags/{name}",
            "tarball_url": f"{u}/tarball/refs/tags/{name}",
            "node_id": node_id("Ref", stable_id("tag", repo.full_name, name)),
        }

    # --- deployments ----------------------------------------------------------------------

    def deployment(self, repo: Repository, d: Deployment) -> dict[str, Any]:
        u = f"{self.api}/repos/{repo.full_name}"
        return {
            "url": f"{u}/deployments/{d.id}",
            "id": d.id,
            "node_id": node_id("Deployment", d.id),
            "sha": d.sha,
            "ref": d.ref,
            "task": d.task,
            "payload": {},
            "original_environment": d.environment,
            "environment": d.environment,
            "description": d.description,
            "creator": self.simple_user(d.creator),
            "created_at": iso(d.created_at),
            "updated_at": iso(d.updated_at),
            "statuses_url": f"{u}/deployments/{d.id}/statuses",
            "repository_url": u,
            "transient_environment": False,
            "production_environment": d.environment.lower() in ("production", "prod"),
        }

    def deployment_status(
        self, repo: Repository, d: Deployment, s: DeploymentStatus
    ) -> dict[str, Any]:
        u = f"{self.api}/repos/{repo.full_name}"
        stamp = iso(s.created_at)
        return {
            "url": f"{u}/deployments/{d.id}/statuses/{s.id}",
            "id": s.id,
            "node_id": node_id("DeploymentStatus", s.id),
            "state": s.state,
            "creator": self.simple_user(d.creator),
            "description": s.description,
            "environment": d.environment,
            "target_url": "",
            "log_url": "",
            "environment_url": "",
            "created_at": stamp,
            "updated_at": stamp,
            "deployment_url": f"{u}/deployments/{d.id}",
            "repository_url": u,
        }

    # --- actions --------------------------------------------------------------------------

    def workflow(self, repo: Repository, w: Workflow) -> dict[str, Any]:
        u = f"{self.api}/repos/{repo.full_name}"
        file = w.path.rsplit("/", 1)[-1]
        return {
            "id": w.id,
            "node_id": node_id("Workflow", w.id),
            "name": w.name,
            "path": w.path,
            "state": "active",
            "created_at": iso(w.created_at),
            "updated_at": iso(w.updated_at),
            "url": f"{u}/actions/workflows/{w.id}",
            "html_url": f"{self.web}/{repo.full_name}/blob/{repo.default_branch}/{w.path}",
            "badge_url": f"{self.web}/{repo.full_name}/workflows/{file}/badge.svg",
        }

    def workflow_run(
        self, repo: Repository, run: WorkflowRun, workflow_id: int, run_number: int
    ) -> dict[str, Any]:
        u = f"{self.api}/repos/{repo.full_name}"
        ru = f"{u}/actions/runs/{run.id}"
        head = repo.commit_by_sha.get(run.head_sha)
        repo_body = self.repository(repo)
        actor = self.simple_user(head.author.login) if head and head.author.login else None
        return {
            "id": run.id,
            "name": run.name,
            "node_id": node_id("WorkflowRun", run.id),
            "check_suite_id": stable_id("check_suite", run.id),
            "check_suite_node_id": node_id("CheckSuite", stable_id("check_suite", run.id)),
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
            "path": run.workflow_path,
            "display_title": head.message.split("\n", 1)[0] if head else run.name,
            "run_number": run_number,
            "event": run.event,
            "status": run.status,
            "conclusion": run.conclusion,
            "workflow_id": workflow_id,
            "url": ru,
            "html_url": f"{self.web}/{repo.full_name}/actions/runs/{run.id}",
            "pull_requests": [],
            "created_at": iso(run.created_at),
            "updated_at": iso(run.updated_at),
            "actor": actor,
            "triggering_actor": actor,
            "run_attempt": run.run_attempt,
            "run_started_at": iso(run.run_started_at or run.created_at),
            "jobs_url": f"{ru}/jobs",
            "logs_url": f"{ru}/logs",
            "check_suite_url": f"{u}/check-suites/{stable_id('check_suite', run.id)}",
            "artifacts_url": f"{ru}/artifacts",
            "cancel_url": f"{ru}/cancel",
            "rerun_url": f"{ru}/rerun",
            "previous_attempt_url": f"{ru}/attempts/{run.run_attempt - 1}"
            if run.run_attempt > 1
            else None,
            "workflow_url": f"{u}/actions/workflows/{workflow_id}",
            "head_commit": self.simple_commit(head) if head else None,
            "repository": repo_body,
            "head_repository": repo_body,
        }


def dumps(body: Any) -> bytes:
    """Compact JSON, as GitHub sends it."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
