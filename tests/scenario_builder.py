"""A tiny DSL that builds scenario-format dicts (../shared/scenario-format.md) by code.

Hand-worked acceptance tests draw a git history and its GitHub/Heroku facts in a few readable
calls, in the order things happened:

    org = ScenarioBuilder(now="2026-02-01 00:00")
    shop = org.repo("acme/shop")
    c1 = shop.commit("c1", authored="2026-01-02 09:00")          # a direct commit on main
    a = shop.feature_commit("pr1-a", parent=c1, authored="2026-01-04 08:00")
    pr1 = shop.pull_request(1, "Add cart", commits=[a], opened="2026-01-05 09:00",
                            merged="2026-01-05 12:00", strategy="squash")
    shop.deployment(5001, pr1.mainline[-1], created="2026-01-05 13:00",
                    statuses=[("success", "2026-01-05 13:30")])
    scenario = org.build()                                       # a scenario-format dict

Shas are deterministic (sha1 of the repository and a label), so a test can name a commit's
prefix in an issue body and a re-run serves the same scenario. Times are written
"YYYY-MM-DD HH:MM[:SS]" (UTC) and stored as ISO-8601 with `Z`. Merging a pull request writes the
commits GitHub would write on the base branch: one squash commit, a two-parent merge commit, or
the replayed commits of a rebase (same author, authored date and message, new shas).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Strategy = Literal["squash", "merge", "rebase"]


def sha_of(label: str) -> str:
    """A deterministic 40-hex sha for a label."""
    return hashlib.sha1(label.encode("utf-8")).hexdigest()


def labels_sharing_prefix(repository: str, stem: str, length: int = 7) -> tuple[str, str]:
    """Two commit labels whose shas in `repository` (RepoBuilder.sha) start with the same
    `length` hex digits: the first collision of `<stem>-<n>`, n = 0, 1, … (deterministic; about
    20 000 hashes for 7 digits)."""
    seen: dict[str, str] = {}
    n = 0
    while True:
        label = f"{stem}-{n}"
        prefix = sha_of(f"{repository}:{label}")[:length]
        if prefix in seen:
            return seen[prefix], label
        seen[prefix] = label
        n += 1


def ts(text: str) -> str:
    """'2026-01-05 13:30' (UTC) → '2026-01-05T13:30:00Z'."""
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            value = datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    raise ValueError(f"{text!r} is not 'YYYY-MM-DD HH:MM[:SS]'")


def _person(login: str) -> dict[str, str]:
    return {"login": login, "name": login.title(), "email": f"{login}@example.com"}


@dataclass(frozen=True)
class MergedPull:
    """What merging a pull request wrote on the base branch."""

    number: int
    merge_commit_sha: str | None
    mainline: tuple[str, ...]  # the new base-branch commits, oldest first


@dataclass
class RepoBuilder:
    full_name: str
    ids: Iterator[int]
    default_branch: str = "main"
    created_at: str = "2025-12-01 00:00"
    heads: dict[str, str] = field(default_factory=dict)
    commits: list[dict[str, Any]] = field(default_factory=list)
    pull_requests: list[dict[str, Any]] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    workflow_runs: list[dict[str, Any]] = field(default_factory=list)
    releases: list[dict[str, Any]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)

    def _next_id(self) -> int:
        return next(self.ids)

    def _by_sha(self, sha: str) -> dict[str, Any]:
        for commit in self.commits:
            if commit["sha"] == sha:
                return commit
        raise KeyError(f"{self.full_name}: no commit {sha}")

    def sha(self, label: str) -> str:
        return sha_of(f"{self.full_name}:{label}")

    # --- git ------------------------------------------------------------------------------
    def _add_commit(self, sha: str, parents: Sequence[str], *, authored: str, author: str,
                    message: str, committed: str | None,
                    files: Sequence[str] | None = None) -> str:
        if any(c["sha"] == sha for c in self.commits):
            raise ValueError(f"{self.full_name}: commit {sha} written twice")
        commit: dict[str, Any] = {
            "sha": sha, "parents": list(parents), "message": message,
            "author": _person(author), "authored_at": ts(authored),
            "committed_at": ts(committed or authored),
        }
        if files is not None:  # the changed paths (monorepos); absent unless drawn
            commit["files"] = list(files)
        self.commits.append(commit)
        return sha

    def _files_of(self, shas: Sequence[str]) -> list[str] | None:
        """The union of the commits' files, in first-seen order (None when none has any)."""
        drawn = [self._by_sha(sha).get("files") for sha in shas]
        if all(f is None for f in drawn):
            return None
        return list(dict.fromkeys(p for f in drawn for p in f or ()))

    def commit(self, label: str, *, authored: str, author: str = "alice",
               message: str | None = None, committed: str | None = None,
               branch: str | None = None, files: Sequence[str] | None = None) -> str:
        """A commit pushed straight onto `branch` (default: the default branch); `files`:
        the paths it changes."""
        branch = branch or self.default_branch
        parents = [self.heads[branch]] if branch in self.heads else []
        sha = self._add_commit(self.sha(label), parents, authored=authored, author=author,
                               message=message or label, committed=committed, files=files)
        self.heads[branch] = sha
        return sha

    def branch(self, name: str, head: str) -> None:
        """Point branch `name` at `head` (a branch other than the default one)."""
        self.heads[name] = head

    def feature_commit(self, label: str, *, parent: str | None, authored: str,
                       author: str = "alice", message: str | None = None,
                       committed: str | None = None, files: Sequence[str] | None = None) -> str:
        """A commit on a pull request's head branch (no branch head of the scenario moves)."""
        return self._add_commit(self.sha(label), [parent] if parent else [], authored=authored,
                                author=author, message=message or label, committed=committed,
                                files=files)

    def pull_request(self, number: int, title: str, *, commits: Sequence[str], opened: str,
                     author: str = "alice", body: str = "", head: str | None = None,
                     base: str | None = None, labels: Sequence[str] = (),
                     merged: str | None = None, strategy: Strategy = "squash",
                     closed: str | None = None,
                     reviews: Sequence[tuple[str, str, str]] = (),
                     comments: Sequence[tuple[str, str]] = ()) -> MergedPull:
        """A pull request; when `merged`, its merge is written on `base` at that moment (a
        squash or merge commit changes the union of the PR's commits' files; a rebased commit
        keeps its original's).

        reviews: (login, submitted, state); comments: (login, created).
        """
        base = base or self.default_branch
        files = self._files_of(commits)
        mainline: list[str] = []
        merge_sha: str | None = None
        if merged is not None:
            tip = self.heads[base]
            if strategy == "squash":
                message = f"{title} (#{number})" + (f"\n\n{body}" if body else "")
                merge_sha = self._add_commit(self.sha(f"pr{number}:squash"), [tip],
                                             authored=merged, author=author, message=message,
                                             committed=merged, files=files)
                mainline = [merge_sha]
            elif strategy == "merge":
                message = f"Merge pull request #{number} from {author}/{head or 'topic'}"
                merge_sha = self._add_commit(self.sha(f"pr{number}:merge"), [tip, commits[-1]],
                                             authored=merged, author=author, message=message,
                                             committed=merged, files=files)
                mainline = [merge_sha]
            else:  # rebase: replay each commit on the base, keeping author, date and message
                for own in commits:
                    original = self._by_sha(own)
                    tip = self._add_commit(
                        sha_of(f"{own}:rebased"), [tip], authored=_plain(original["authored_at"]),
                        author=original["author"]["login"], message=original["message"],
                        committed=merged, files=original.get("files"))
                    mainline.append(tip)
                merge_sha = tip
            self.heads[base] = mainline[-1]
        closed_at = closed or merged
        self.pull_requests.append({
            "number": number, "title": title, "body": body, "author": author, "base": base,
            "head": head or f"{author}/pr-{number}", "draft": False, "labels": list(labels),
            "created_at": ts(opened),
            "updated_at": ts(closed_at or opened),
            "closed_at": ts(closed_at) if closed_at else None,
            "merged_at": ts(merged) if merged else None,
            "merge_commit_sha": merge_sha, "commits": list(commits),
            "reviews": [{"id": self._next_id(), "author": login, "state": state,
                         "submitted_at": ts(at)} for login, at, state in reviews],
            "comments": [{"id": self._next_id(), "author": login, "created_at": ts(at)}
                         for login, at in comments],
        })
        return MergedPull(number, merge_sha, tuple(mainline))

    # --- deployment sources and incidents -------------------------------------------------
    def deployment(self, deployment_id: int, sha: str, *, created: str,
                   statuses: Sequence[tuple[str, str]], environment: str = "production",
                   ref: str | None = None) -> None:
        """A GitHub deployment; statuses: (state, created)."""
        self.deployments.append({
            "id": deployment_id, "sha": sha, "ref": ref or self.default_branch,
            "environment": environment, "creator": "deploy-bot", "created_at": ts(created),
            "statuses": [{"id": self._next_id(), "state": state, "created_at": ts(at)}
                         for state, at in statuses],
        })

    def workflow_run(self, run_id: int, sha: str, *, created: str, updated: str,
                     conclusion: str | None = "success", workflow: str = "deploy.yml",
                     name: str = "Deploy", branch: str | None = None,
                     run_attempt: int = 1) -> None:
        self.workflow_runs.append({
            "id": run_id, "workflow_path": f".github/workflows/{workflow}", "name": name,
            "head_sha": sha, "head_branch": branch or self.default_branch, "event": "push",
            "run_attempt": run_attempt,
            "status": "completed" if conclusion else "in_progress", "conclusion": conclusion,
            "created_at": ts(created), "run_started_at": ts(created), "updated_at": ts(updated),
        })

    def release(self, release_id: int, tag: str, sha: str, *, created: str,
                published: str | None, draft: bool = False, prerelease: bool = False) -> None:
        self.releases.append({
            "id": release_id, "tag_name": tag, "name": tag, "target_sha": sha, "draft": draft,
            "prerelease": prerelease, "created_at": ts(created),
            "published_at": ts(published) if published else None,
        })

    def issue(self, number: int, title: str, *, created: str, labels: Sequence[str],
              body: str = "", closed: str | None = None, author: str = "oncall") -> None:
        self.issues.append({
            "number": number, "title": title, "body": body, "author": author,
            "labels": list(labels), "state": "closed" if closed else "open",
            "created_at": ts(created), "updated_at": ts(closed or created),
            "closed_at": ts(closed) if closed else None,
        })

    def as_dict(self) -> dict[str, Any]:
        return {
            "full_name": self.full_name, "default_branch": self.default_branch,
            "created_at": ts(self.created_at), "branches": dict(self.heads),
            "commits": self.commits, "pull_requests": self.pull_requests,
            "releases": self.releases, "deployments": self.deployments,
            "workflow_runs": self.workflow_runs, "issues": self.issues,
        }


@dataclass
class HerokuAppBuilder:
    name: str
    releases: list[dict[str, Any]] = field(default_factory=list)

    def release(self, version: int, *, created: str, description: str,
                commit: str | None, status: str = "succeeded") -> None:
        """A Heroku release; `commit` is the slug's commit (None: the release has no slug)."""
        self.releases.append({
            "id": f"00000000-0000-4000-8000-{version:012d}", "version": version,
            "status": status, "current": False, "description": description, "commit": commit,
            "created_at": ts(created), "updated_at": ts(created),
        })

    def as_dict(self) -> dict[str, Any]:
        releases = sorted(self.releases, key=lambda r: r["version"])
        current = max((r["version"] for r in releases if r["status"] == "succeeded"), default=None)
        return {"name": self.name,
                "releases": [{**r, "current": r["version"] == current} for r in releases]}


@dataclass
class ScenarioBuilder:
    now: str
    repos: list[RepoBuilder] = field(default_factory=list)
    apps: list[HerokuAppBuilder] = field(default_factory=list)
    # review, comment and deployment-status ids, unique across the scenario
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(900_001))

    def repo(self, full_name: str, *, default_branch: str = "main") -> RepoBuilder:
        repo = RepoBuilder(full_name, ids=self._ids, default_branch=default_branch)
        self.repos.append(repo)
        return repo

    def heroku_app(self, name: str) -> HerokuAppBuilder:
        app = HerokuAppBuilder(name)
        self.apps.append(app)
        return app

    def build(self) -> dict[str, Any]:
        return {
            "format": 1, "now": ts(self.now),
            "repositories": [r.as_dict() for r in self.repos],
            "heroku_apps": [a.as_dict() for a in self.apps],
        }


def _plain(iso: str) -> str:
    """'2026-01-05T13:30:00Z' → '2026-01-05 13:30:00' (the DSL's own time notation)."""
    return iso.removesuffix("Z").replace("T", " ")
