"""The scenario format (../shared/scenario-format.md): typed, validated, indexed.

A scenario is plain facts about an organisation. `load_scenario` validates a file or dict and
returns a `Scenario` whose repositories carry the indexes the fake servers need (commits by sha,
branch histories, pull requests by number), so no endpoint walks the raw lists twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SHA_RE = re.compile(r"^[0-9a-f]{40}$")


class ScenarioError(ValueError):
    """A scenario file that cannot be served; the message is one line."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


def _check_sha(value: str | None) -> str | None:
    if value is not None and not SHA_RE.match(value):
        raise ValueError(f"{value!r} is not a 40-character lowercase hex sha")
    return value


def _check_path(path: str) -> str:
    if not path or path.startswith("/") or path.endswith("/") or "//" in path:
        raise ValueError(f"{path!r} is not a file path relative to the repository root")
    return path


class Person(_Model):
    login: str | None = None
    name: str = ""
    email: str = ""


class Commit(_Model):
    sha: str
    parents: list[str] = Field(default_factory=list)
    message: str = ""
    author: Person = Field(default_factory=Person)
    committer: Person | None = None
    authored_at: datetime
    committed_at: datetime
    # the paths the commit changes (vs its first parent), as REST `files[].filename` lists them;
    # a tuple, so the million commits of a scale scenario share one empty default
    files: tuple[str, ...] = ()

    _sha = field_validator("sha")(_check_sha)

    @field_validator("files")
    @classmethod
    def _files(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            _check_path(path)
        return value


class Review(_Model):
    id: int
    author: str
    state: Literal["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"] = (
        "COMMENTED"
    )
    submitted_at: datetime
    body: str = ""


class Comment(_Model):
    id: int
    author: str
    created_at: datetime
    body: str = ""


class PullRequest(_Model):
    number: int
    title: str
    body: str = ""
    author: str
    base: str
    head: str
    draft: bool = False
    labels: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    merged_at: datetime | None = None
    merge_commit_sha: str | None = None
    commits: list[str] = Field(default_factory=list)
    reviews: list[Review] = Field(default_factory=list)
    comments: list[Comment] = Field(default_factory=list)

    _sha = field_validator("merge_commit_sha")(_check_sha)

    @property
    def state(self) -> str:
        return "open" if self.closed_at is None else "closed"


class Release(_Model):
    id: int
    tag_name: str
    name: str | None = None
    body: str = ""
    target_sha: str
    draft: bool = False
    prerelease: bool = False
    author: str = "release-bot"
    created_at: datetime
    published_at: datetime | None = None

    _sha = field_validator("target_sha")(_check_sha)


class DeploymentStatus(_Model):
    id: int
    state: Literal["error", "failure", "inactive", "in_progress", "queued", "pending", "success"]
    created_at: datetime
    description: str = ""


class Deployment(_Model):
    id: int
    sha: str
    ref: str
    environment: str
    creator: str = "deploy-bot"
    task: str = "deploy"
    description: str | None = None
    created_at: datetime
    statuses: list[DeploymentStatus] = Field(default_factory=list)

    _sha = field_validator("sha")(_check_sha)

    @property
    def updated_at(self) -> datetime:
        return max([self.created_at, *(s.created_at for s in self.statuses)])


class WorkflowRun(_Model):
    id: int
    workflow_path: str
    name: str
    head_sha: str
    head_branch: str
    event: str = "push"
    run_attempt: int = 1
    run_number: int | None = None
    status: str = "completed"
    conclusion: str | None = None
    created_at: datetime
    run_started_at: datetime | None = None
    updated_at: datetime

    _sha = field_validator("head_sha")(_check_sha)


class Issue(_Model):
    number: int
    title: str
    body: str = ""
    author: str
    labels: list[str] = Field(default_factory=list)
    state: Literal["open", "closed"] = "open"
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None


class Repository(_Model):
    full_name: str
    default_branch: str = "main"
    created_at: datetime
    archived: bool = False
    fork: bool = False
    private: bool = False
    branches: dict[str, str] = Field(default_factory=dict)
    commits: list[Commit] = Field(default_factory=list)
    pull_requests: list[PullRequest] = Field(default_factory=list)
    releases: list[Release] = Field(default_factory=list)
    deployments: list[Deployment] = Field(default_factory=list)
    workflow_runs: list[WorkflowRun] = Field(default_factory=list)
    issues: list[Issue] = Field(default_factory=list)
    # tags are derived from releases unless given: {"v1.0.0": "<sha>"}
    tags: dict[str, str] = Field(default_factory=dict)
    # files at the default branch's head, {path: text} (e.g. ".github/CODEOWNERS"); the format
    # has no trees, so every revision that resolves serves the same files
    files: dict[str, str] = Field(default_factory=dict)

    @field_validator("files")
    @classmethod
    def _files(cls, value: dict[str, str]) -> dict[str, str]:
        for path in value:
            _check_path(path)
        return value

    @field_validator("full_name")
    @classmethod
    def _full_name(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", value):
            raise ValueError(f"{value!r} is not 'owner/name'")
        return value

    @property
    def owner(self) -> str:
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]

    # --- indexes (built once, used by every endpoint) ---------------------------------------
    @cached_property
    def commit_by_sha(self) -> dict[str, Commit]:
        return {c.sha: c for c in self.commits}

    @cached_property
    def pull_by_number(self) -> dict[int, PullRequest]:
        return {p.number: p for p in self.pull_requests}

    def pull_files(self, pr: PullRequest) -> list[str]:
        """The paths a pull request changes: the union of its commits' files, sorted."""
        found = self._pull_files.get(pr.number)
        if found is None:
            commits = [self.commit_by_sha.get(sha) for sha in pr.commits]
            paths = {p for c in commits if c is not None for p in c.files}
            found = self._pull_files[pr.number] = sorted(paths)
        return found

    @cached_property
    def _pull_files(self) -> dict[int, list[str]]:
        return {}

    @cached_property
    def all_tags(self) -> dict[str, str]:
        tags = {r.tag_name: r.target_sha for r in self.releases if not r.draft}
        tags.update(self.tags)
        return tags

    @cached_property
    def pulls_by_commit(self) -> dict[str, list[int]]:
        """Pull requests GitHub associates with a commit: its own commits, its merge commit, and
        (rebase merges) the new commits that replay one of its commits on the base branch, which
        the format does not list: found by (author, authored_at, message), as a replay keeps them.
        """
        out: dict[str, list[int]] = {}

        def associate(sha: str, number: int) -> None:
            numbers = out.setdefault(sha, [])
            if number not in numbers:
                numbers.append(number)

        replay_key: dict[tuple[str | None, datetime, str], list[int]] = {}
        for pr in self.pull_requests:
            for sha in pr.commits:
                associate(sha, pr.number)
                commit = self.commit_by_sha.get(sha)
                if commit is not None and pr.merged_at is not None:
                    key = (commit.author.login, commit.authored_at, commit.message)
                    replay_key.setdefault(key, []).append(pr.number)
            if pr.merge_commit_sha:
                associate(pr.merge_commit_sha, pr.number)
        if replay_key:
            for commit in self.commits:
                if commit.sha in out:
                    continue
                key = (commit.author.login, commit.authored_at, commit.message)
                for number in replay_key.get(key, ()):
                    associate(commit.sha, number)
        return out

    def history(self, head_sha: str) -> list[Commit]:
        """Commits reachable from `head_sha`, newest committed first (GitHub's history order)."""
        seen: set[str] = set()
        stack = [head_sha]
        found: list[Commit] = []
        while stack:
            sha = stack.pop()
            if sha in seen:
                continue
            seen.add(sha)
            commit = self.commit_by_sha.get(sha)
            if commit is None:
                continue
            found.append(commit)
            stack.extend(commit.parents)
        found.sort(key=lambda c: (c.committed_at, c.sha), reverse=True)
        return found

    @cached_property
    def _history_cache(self) -> dict[str, list[Commit]]:
        return {}

    def branch_history(self, branch: str) -> list[Commit]:
        head = self.branches.get(branch)
        if head is None:
            return []
        cache = self._history_cache
        if head not in cache:
            cache[head] = self.history(head)
        return cache[head]

    def resolve_ref(self, ref: str) -> str | None:
        """A branch name, tag name or (prefix of a) sha → full sha."""
        if ref in self.branches:
            return self.branches[ref]
        if ref in self.all_tags:
            return self.all_tags[ref]
        if SHA_RE.match(ref) and ref in self.commit_by_sha:
            return ref
        if len(ref) >= 7 and re.fullmatch(r"[0-9a-f]+", ref):
            matches = [s for s in self.commit_by_sha if s.startswith(ref)]
            if len(matches) == 1:
                return matches[0]
        return None


class HerokuRelease(_Model):
    id: str
    version: int
    status: Literal["failed", "pending", "succeeded", "expired"] = "succeeded"
    current: bool = False
    description: str = ""
    commit: str | None = None
    user: str = "deployer@example.com"
    created_at: datetime
    updated_at: datetime


class HerokuApp(_Model):
    name: str
    releases: list[HerokuRelease] = Field(default_factory=list)


class PagerDutyService(_Model):
    id: str
    name: str


class PagerDutyIncident(_Model):
    id: str
    incident_number: int
    title: str
    service: str
    urgency: Literal["high", "low"] = "high"
    status: Literal["triggered", "acknowledged", "resolved"] = "resolved"
    created_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None


class PagerDuty(_Model):
    services: list[PagerDutyService] = Field(default_factory=list)
    incidents: list[PagerDutyIncident] = Field(default_factory=list)


class Scenario(_Model):
    format: Literal[1] = 1
    now: datetime
    repositories: list[Repository] = Field(default_factory=list)
    heroku_apps: list[HerokuApp] = Field(default_factory=list)
    pagerduty: PagerDuty = Field(default_factory=PagerDuty)

    @cached_property
    def repo_by_name(self) -> dict[str, Repository]:
        return {r.full_name.lower(): r for r in self.repositories}

    @cached_property
    def heroku_app_by_name(self) -> dict[str, HerokuApp]:
        return {a.name: a for a in self.heroku_apps}

    def repository(self, owner: str, name: str) -> Repository | None:
        return self.repo_by_name.get(f"{owner}/{name}".lower())

    def iter_repositories(self) -> Iterator[Repository]:
        return iter(self.repositories)


def load_scenario(source: str | Path | dict[str, Any]) -> Scenario:
    """Validate a scenario (path to a JSON file, or the parsed dict); one-line ScenarioError."""
    where = "scenario"
    if isinstance(source, str | Path):
        where = str(source)
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ScenarioError(f"{where}: file not found") from None
        except json.JSONDecodeError as exc:
            raise ScenarioError(
                f"{where}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from None
    else:
        data = source
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: the top level must be a JSON object")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            msg = f"unknown key {loc!r}; the scenario format (version 1) does not define it"
        else:
            msg = f"{loc}: {err['msg']}"
        raise ScenarioError(f"{where}: {msg}") from None
    _check_references(scenario, where)
    return scenario


def _check_references(scenario: Scenario, where: str) -> None:
    names: set[str] = set()
    for repo in scenario.repositories:
        key = repo.full_name.lower()
        if key in names:
            raise ScenarioError(f"{where}: repository {repo.full_name!r} appears twice")
        names.add(key)
        shas = repo.commit_by_sha
        for branch, head in repo.branches.items():
            if head not in shas:
                raise ScenarioError(
                    f"{where}: {repo.full_name} branch {branch!r} points to unknown commit {head}"
                )
        numbers: set[int] = set()
        for pr in repo.pull_requests:
            if pr.number in numbers:
                raise ScenarioError(f"{where}: {repo.full_name} pull request #{pr.number} twice")
            numbers.add(pr.number)
            for sha in pr.commits:
                if sha not in shas:
                    raise ScenarioError(
                        f"{where}: {repo.full_name} #{pr.number} lists unknown commit {sha}"
                    )
