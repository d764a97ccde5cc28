"""The objects the fake GraphQL API serves, as plain dicts graphql-core can walk.

Every GitHub object is a dict keyed by schema field name (scalars precomputed, `__typename` for
interface and union resolution) plus private `_…` keys the connection resolvers use. Dicts are
built on first use and cached for the life of the service, so paging through 20,000 pull
requests builds each one once. Global ids are base64 of `Type:owner/name:key`, opaque to
clients like GitHub's and decodable by `Query.node`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fakes.rest_common import stable_id
from fakes.scenario import (
    Commit,
    Deployment,
    DeploymentStatus,
    Issue,
    Person,
    PullRequest,
    Release,
    Repository,
    Scenario,
)

log = logging.getLogger(__name__)

WEB = "https://github.com"
VIEWER_LOGIN = "fourkeys-viewer"
_EPOCH = "1970-01-01T00:00:00Z"
_MAX_LISTS = 512  # distinct (list, filter, order) combinations kept; clients use a handful

Obj = dict[str, Any]

_DEPLOYMENT_STATE = {
    "success": "ACTIVE",
    "inactive": "INACTIVE",
    "failure": "FAILURE",
    "error": "ERROR",
    "in_progress": "IN_PROGRESS",
    "queued": "QUEUED",
    "pending": "PENDING",
}


def encode_id(*parts: object) -> str:
    return base64.b64encode(":".join(str(p) for p in parts).encode()).decode().rstrip("=")


def decode_id(value: str) -> list[str] | None:
    try:
        text = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return text.split(":", 2)


def utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def iso(dt: datetime | None) -> str | None:
    """GitHub's timestamp form (UTC, seconds, `Z`); isoformat is ~5x faster than strftime,
    which matters at hundreds of thousands of timestamps per benchmark run."""
    if dt is None:
        return None
    if dt.tzinfo is not None and dt.utcoffset():
        dt = dt.astimezone(UTC)
    return dt.isoformat(timespec="seconds")[:19] + "Z"


class ObjectStore:
    """Builds and caches the served objects and the sorted/filtered lists behind connections."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._objects: dict[Hashable, Any] = {}
        self._lists: dict[Hashable, list[Any]] = {}
        self._history: dict[tuple[str, str], list[Commit]] = {}

    # --- caches -------------------------------------------------------------------------------
    def _memo(self, key: Hashable, build: Callable[[], Any]) -> Any:
        try:
            return self._objects[key]
        except KeyError:
            value = self._objects[key] = build()
            return value

    def cached_list(self, key: Hashable, build: Callable[[], list[Any]]) -> list[Any]:
        found = self._lists.get(key)
        if found is None:
            if len(self._lists) >= _MAX_LISTS:
                self._lists.clear()
            found = self._lists[key] = build()
        return found

    def history(self, repo: Repository, sha: str) -> list[Commit]:
        """Commits reachable from `sha`, newest first; walked once per head sha."""
        key = (repo.full_name, sha)
        found = self._history.get(key)
        if found is None:
            found = self._history[key] = repo.history(sha)
        return found

    # --- people -------------------------------------------------------------------------------
    def actor(self, login: str | None) -> Obj | None:
        if not login:
            return None
        return self._memo(("actor", login), lambda: self._actor(login))

    @staticmethod
    def _actor(login: str) -> Obj:
        if login.endswith("[bot]"):  # GraphQL names an app's bot without REST's suffix
            name = login.removesuffix("[bot]")
            return {"__typename": "Bot", "login": name, "id": encode_id("Bot", name),
                    "databaseId": stable_id("bot", name), "url": f"{WEB}/apps/{name}",
                    "resourcePath": f"/apps/{name}", "avatarUrl": ""}  # fmt: skip
        return {"__typename": "User", "login": login, "id": encode_id("User", login),
                "databaseId": stable_id("user", login), "url": f"{WEB}/{login}",
                "resourcePath": f"/{login}", "name": None, "email": "",
                "avatarUrl": ""}  # fmt: skip

    def viewer(self) -> Obj:
        login = VIEWER_LOGIN
        return {"__typename": "User", "login": login, "id": encode_id("User", login),
                "databaseId": 1, "url": f"{WEB}/{login}", "name": None, "email": ""}  # fmt: skip

    def git_actor(self, person: Person, date: str | None) -> Obj:
        return {"__typename": "GitActor", "name": person.name, "email": person.email,
                "date": date, "user": self.actor(person.login), "avatarUrl": ""}  # fmt: skip

    # --- repository and git -------------------------------------------------------------------
    def repo(self, repo: Repository) -> Obj:
        return self._memo(("repo", repo.full_name), lambda: self._repo(repo))

    def _repo(self, repo: Repository) -> Obj:
        heads = [repo.commit_by_sha[s] for s in repo.branches.values() if s in repo.commit_by_sha]
        pushed = max((utc(c.committed_at) for c in heads), default=None)
        created = utc(repo.created_at)
        return {
            "__typename": "Repository", "id": encode_id("Repository", repo.full_name),
            "databaseId": stable_id("repository", repo.full_name), "name": repo.name,
            "nameWithOwner": repo.full_name, "url": f"{WEB}/{repo.full_name}",
            "resourcePath": f"/{repo.full_name}", "createdAt": iso(created),
            "updatedAt": iso(max(created, pushed) if pushed else created),
            "pushedAt": iso(pushed), "isArchived": repo.archived, "isFork": repo.fork,
            "isPrivate": repo.private, "visibility": "PRIVATE" if repo.private else "PUBLIC",
            "description": None,
            "owner": {"__typename": "Organization", "login": repo.owner,
                      "id": encode_id("Organization", repo.owner), "url": f"{WEB}/{repo.owner}",
                      "resourcePath": f"/{repo.owner}"},
            "_repo": repo,
        }  # fmt: skip

    def organization(self, login: str) -> Obj:
        """An organisation: the owner of scenario repositories, named as they spell it."""
        return self._memo(("org", login.lower()), lambda: {
            "__typename": "Organization", "login": login, "id": encode_id("Organization", login),
            "databaseId": stable_id("organization", login.lower()), "name": login,
            "url": f"{WEB}/{login}", "resourcePath": f"/{login}", "_login": login,
        })  # fmt: skip

    def blob(self, repo: Repository, sha: str, path: str) -> Obj:
        """A file of `repo.files` as a git blob (its oid is git's: sha1 of the blob header and
        the bytes)."""
        return self._memo(("blob", repo.full_name, sha, path),
                          lambda: self._blob(repo, sha, path))

    def _blob(self, repo: Repository, sha: str, path: str) -> Obj:
        data = repo.files[path].encode("utf-8")
        oid = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        url = f"{WEB}/{repo.full_name}/commit/{sha}"
        return {"__typename": "Blob", "id": encode_id("Blob", repo.full_name, oid), "oid": oid,
                "abbreviatedOid": oid[:7], "byteSize": len(data), "isBinary": False,
                "isTruncated": False, "text": repo.files[path], "commitUrl": url,
                "commitResourcePath": url[len(WEB):], "repository": self.repo(repo)}  # fmt: skip

    def commit(self, repo: Repository, sha: str) -> Obj:
        return self._memo(("commit", repo.full_name, sha), lambda: self._commit(repo, sha))

    def _commit(self, repo: Repository, sha: str) -> Obj:
        commit = repo.commit_by_sha.get(sha)
        url = f"{WEB}/{repo.full_name}/commit/{sha}"
        obj: Obj = {
            "__typename": "Commit", "id": encode_id("Commit", repo.full_name, sha), "oid": sha,
            "abbreviatedOid": sha[:7], "url": url, "commitUrl": url,
            "resourcePath": f"/{repo.full_name}/commit/{sha}", "additions": 0, "deletions": 0,
            "changedFiles": 0, "changedFilesIfAvailable": 0, "committedViaWeb": False,
            "pushedDate": None, "repository": self.repo(repo), "_repo": repo, "_commit": commit,
        }  # fmt: skip
        if commit is not None:
            obj["changedFiles"] = obj["changedFilesIfAvailable"] = len(commit.files)
        if commit is None:
            # a sha the scenario names but does not describe: serve what is knowable
            log.debug("%s: commit %s is not in the scenario; serving a stub", repo.full_name, sha)
            obj.update(message="", messageHeadline="", messageBody="", authoredDate=_EPOCH,
                       committedDate=_EPOCH, author=None, committer=None,
                       authoredByCommitter=True)  # fmt: skip
            return obj
        headline, _, body = commit.message.partition("\n")
        committer = commit.committer or commit.author
        authored, committed = iso(commit.authored_at), iso(commit.committed_at)
        obj.update(
            message=commit.message, messageHeadline=headline, messageBody=body.strip("\n"),
            authoredDate=authored, committedDate=committed,
            author=self.git_actor(commit.author, authored),
            committer=self.git_actor(committer, committed),
            authoredByCommitter=committer == commit.author,
        )  # fmt: skip
        return obj

    def ref(self, repo: Repository, prefix: str, name: str) -> Obj | None:
        table = repo.branches if prefix == "refs/heads/" else repo.all_tags
        sha = table.get(name)
        if sha is None:
            return None
        return self._memo(
            ("ref", repo.full_name, prefix, name),
            lambda: {"__typename": "Ref", "id": encode_id("Ref", repo.full_name, prefix + name),
                     "name": name, "prefix": prefix, "target": self.commit(repo, sha),
                     "repository": self.repo(repo), "_repo": repo},
        )  # fmt: skip

    def label(self, repo: Repository, name: str) -> Obj:
        return self._memo(
            ("label", repo.full_name, name),
            lambda: {"__typename": "Label", "id": encode_id("Label", repo.full_name, name),
                     "name": name, "color": f"{stable_id('color', name) & 0xFFFFFF:06x}",
                     "description": None, "isDefault": False,
                     "url": f"{WEB}/{repo.full_name}/labels/{quote(name)}",
                     "resourcePath": f"/{repo.full_name}/labels/{quote(name)}",
                     "createdAt": None, "updatedAt": None, "repository": self.repo(repo)},
        )  # fmt: skip

    # --- pull requests ------------------------------------------------------------------------
    def pull(self, repo: Repository, pr: PullRequest) -> Obj:
        return self._memo(("pull", repo.full_name, pr.number), lambda: self._pull(repo, pr))

    def _pull(self, repo: Repository, pr: PullRequest) -> Obj:
        url = f"{WEB}/{repo.full_name}/pull/{pr.number}"
        merged = pr.merged_at is not None
        state = "MERGED" if merged else "CLOSED" if pr.closed_at else "OPEN"
        merge = repo.commit_by_sha.get(pr.merge_commit_sha or "") if merged else None
        if merge is not None and merge.parents:
            base_oid = merge.parents[0]  # the base branch as it was when the PR merged
        else:
            base_oid = repo.branches.get(pr.base, "")
        database_id = stable_id("pull", repo.full_name, pr.number)
        repo_obj = self.repo(repo)
        return {
            "__typename": "PullRequest", "id": encode_id("PullRequest", repo.full_name, pr.number),
            "databaseId": database_id, "fullDatabaseId": str(database_id),
            "number": pr.number, "title": pr.title, "body": pr.body, "bodyText": pr.body,
            "url": url, "permalink": url, "resourcePath": f"/{repo.full_name}/pull/{pr.number}",
            "state": state, "closed": pr.closed_at is not None, "merged": merged,
            "isDraft": pr.draft, "createdAt": iso(pr.created_at), "publishedAt": iso(pr.created_at),
            "updatedAt": iso(pr.updated_at), "closedAt": iso(pr.closed_at),
            "mergedAt": iso(pr.merged_at), "lastEditedAt": None,
            "mergeCommit": (
                self.commit(repo, pr.merge_commit_sha) if merged and pr.merge_commit_sha else None
            ),
            "baseRefName": pr.base, "headRefName": pr.head, "baseRefOid": base_oid,
            "headRefOid": pr.commits[-1] if pr.commits else "",
            "author": self.actor(pr.author), "additions": 0, "deletions": 0,
            "changedFiles": len(repo.pull_files(pr)),
            "isCrossRepository": False, "locked": False, "maintainerCanModify": False,
            "mergeable": "MERGEABLE" if state == "OPEN" else "UNKNOWN",
            "totalCommentsCount": len(pr.comments), "authorAssociation": "MEMBER",
            "repository": repo_obj, "baseRepository": repo_obj, "headRepository": repo_obj,
            "_repo": repo, "_pr": pr,
        }  # fmt: skip

    def pull_commit(self, repo: Repository, pr: PullRequest, sha: str) -> Obj:
        url = f"{WEB}/{repo.full_name}/pull/{pr.number}/commits/{sha}"
        return {"__typename": "PullRequestCommit",
                "id": encode_id("PullRequestCommit", repo.full_name, f"{pr.number}/{sha}"),
                "commit": self.commit(repo, sha), "url": url, "resourcePath": url[len(WEB):],
                "pullRequest": self.pull(repo, pr)}  # fmt: skip

    def review(self, repo: Repository, pr: PullRequest, index: int) -> Obj:
        review = pr.reviews[index]
        submitted = None if review.state == "PENDING" else iso(review.submitted_at)
        pr_url = f"{WEB}/{repo.full_name}/pull/{pr.number}"
        return {"__typename": "PullRequestReview",
                "id": encode_id("PullRequestReview", repo.full_name, review.id),
                "databaseId": review.id, "fullDatabaseId": str(review.id),
                "author": self.actor(review.author), "state": review.state,
                "submittedAt": submitted, "publishedAt": submitted,
                "createdAt": iso(review.submitted_at), "updatedAt": iso(review.submitted_at),
                "body": review.body, "bodyText": review.body, "authorAssociation": "MEMBER",
                "url": f"{pr_url}#pullrequestreview-{review.id}",
                "pullRequest": self.pull(repo, pr), "repository": self.repo(repo)}  # fmt: skip

    def comment(self, repo: Repository, pr: PullRequest, index: int) -> Obj:
        comment = pr.comments[index]
        pr_url = f"{WEB}/{repo.full_name}/pull/{pr.number}"
        return {"__typename": "IssueComment",
                "id": encode_id("IssueComment", repo.full_name, comment.id),
                "databaseId": comment.id, "fullDatabaseId": str(comment.id),
                "author": self.actor(comment.author), "createdAt": iso(comment.created_at),
                "updatedAt": iso(comment.created_at), "publishedAt": iso(comment.created_at),
                "body": comment.body, "bodyText": comment.body, "authorAssociation": "MEMBER",
                "url": f"{pr_url}#issuecomment-{comment.id}",
                "pullRequest": self.pull(repo, pr), "repository": self.repo(repo)}  # fmt: skip

    def labeled_event(self, repo: Repository, pr: PullRequest, name: str) -> Obj:
        """The scenario keeps no label history: a current label was added by the PR's author
        when the PR was opened."""
        return {"__typename": "LabeledEvent",
                "id": encode_id("LabeledEvent", repo.full_name, f"{pr.number}/{name}"),
                "createdAt": iso(pr.created_at), "actor": self.actor(pr.author),
                "label": self.label(repo, name), "labelable": self.pull(repo, pr)}  # fmt: skip

    # --- releases, deployments, issues --------------------------------------------------------
    def latest_release_id(self, repo: Repository) -> int | None:
        def build() -> list[int]:
            final = [r for r in repo.releases if not r.draft and not r.prerelease]
            latest = max(final, key=lambda r: (utc(r.created_at), r.id), default=None)
            return [latest.id] if latest else []

        found = self.cached_list(("latest-release", repo.full_name), build)
        return found[0] if found else None

    def release(self, repo: Repository, rel: Release) -> Obj:
        return self._memo(("release", repo.full_name, rel.id), lambda: self._release(repo, rel))

    def _release(self, repo: Repository, rel: Release) -> Obj:
        url = f"{WEB}/{repo.full_name}/releases/tag/{quote(rel.tag_name)}"
        published = rel.published_at or rel.created_at
        return {
            "__typename": "Release", "id": encode_id("Release", repo.full_name, rel.id),
            "databaseId": rel.id, "name": rel.name, "tagName": rel.tag_name,
            "description": rel.body, "isDraft": rel.draft, "isPrerelease": rel.prerelease,
            "isLatest": self.latest_release_id(repo) == rel.id,
            "createdAt": iso(rel.created_at), "publishedAt": iso(rel.published_at),
            "updatedAt": iso(published), "url": url, "resourcePath": url[len(WEB):],
            "tagCommit": self.commit(repo, rel.target_sha),
            "tag": self.ref(repo, "refs/tags/", rel.tag_name), "author": self.actor(rel.author),
            "repository": self.repo(repo),
        }  # fmt: skip

    def deployment(self, repo: Repository, dep: Deployment) -> Obj:
        return self._memo(("deploy", repo.full_name, dep.id), lambda: self._deployment(repo, dep))

    def _deployment(self, repo: Repository, dep: Deployment) -> Obj:
        obj: Obj = {
            "__typename": "Deployment", "id": encode_id("Deployment", repo.full_name, dep.id),
            "databaseId": dep.id, "environment": dep.environment,
            "originalEnvironment": dep.environment, "latestEnvironment": dep.environment,
            "createdAt": iso(dep.created_at), "updatedAt": iso(dep.updated_at), "task": dep.task,
            "description": dep.description, "payload": "{}", "commitOid": dep.sha,
            "commit": self.commit(repo, dep.sha),
            "ref": self.ref(repo, "refs/heads/", dep.ref) or self.ref(repo, "refs/tags/", dep.ref),
            "creator": self.actor(dep.creator), "repository": self.repo(repo),
            "_repo": repo, "_dep": dep,
        }  # fmt: skip
        statuses = [self._status(obj, dep, s) for s in self.statuses_newest_first(dep)]
        obj["_statuses"] = statuses
        obj["latestStatus"] = statuses[0] if statuses else None
        obj["state"] = _DEPLOYMENT_STATE[statuses[0]["_state"]] if statuses else "PENDING"
        return obj

    @staticmethod
    def statuses_newest_first(dep: Deployment) -> list[DeploymentStatus]:
        return sorted(dep.statuses, key=lambda s: (utc(s.created_at), s.id), reverse=True)

    def _status(self, dep_obj: Obj, dep: Deployment, status: DeploymentStatus) -> Obj:
        return {"__typename": "DeploymentStatus",
                "id": encode_id("DeploymentStatus", dep_obj["_repo"].full_name, status.id),
                "state": status.state.upper(), "createdAt": iso(status.created_at),
                "updatedAt": iso(status.created_at), "description": status.description,
                "creator": dep_obj["creator"], "environment": dep.environment,
                "deployment": dep_obj, "logUrl": None, "environmentUrl": None,
                "_state": status.state}  # fmt: skip

    def issue(self, repo: Repository, issue: Issue) -> Obj:
        return self._memo(("issue", repo.full_name, issue.number), lambda: self._issue(repo, issue))

    def _issue(self, repo: Repository, issue: Issue) -> Obj:
        url = f"{WEB}/{repo.full_name}/issues/{issue.number}"
        database_id = stable_id("issue", repo.full_name, issue.number)
        return {
            "__typename": "Issue", "id": encode_id("Issue", repo.full_name, issue.number),
            "databaseId": database_id, "fullDatabaseId": str(database_id),
            "number": issue.number, "title": issue.title, "titleHTML": issue.title,
            "body": issue.body, "bodyText": issue.body, "url": url, "bodyUrl": url,
            "resourcePath": url[len(WEB):], "state": issue.state.upper(),
            "closed": issue.state == "closed", "createdAt": iso(issue.created_at),
            "publishedAt": iso(issue.created_at), "updatedAt": iso(issue.updated_at),
            "closedAt": iso(issue.closed_at), "author": self.actor(issue.author),
            "locked": False, "authorAssociation": "MEMBER", "repository": self.repo(repo),
            "_repo": repo, "_issue": issue,
        }  # fmt: skip
