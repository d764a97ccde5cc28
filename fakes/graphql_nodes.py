"""Global node ids → objects, for `Query.node` / `Query.nodes`.

The GraphQL fake's ids are base64 of `Type:owner/name:key` (`key` is the number, sha, database
id or qualified ref name). The REST fake's `node_id`s use GitHub's legacy form, base64 of
`0<len>:<Type><database id>`; GitHub accepts its REST `node_id`s in `node(id:)`, so those resolve
here too, through a database-id index built on first use.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fakes.graphql_objects import VIEWER_LOGIN, Obj, ObjectStore, decode_id, encode_id
from fakes.rest_common import stable_id
from fakes.scenario import Deployment, Repository

_LEGACY_RE = re.compile(r"^0\d+:([A-Za-z]+?)(\d+)$")
_Builder = Callable[[], Obj]


def find_node(store: ObjectStore, value: str) -> Obj | None:
    """The object a global id names, or None (GitHub answers NOT_FOUND)."""
    parts = decode_id(value)
    if not parts:
        return None
    legacy = _LEGACY_RE.match(":".join(parts))
    if legacy is not None:
        index = store.cached_list(("legacy-ids",), lambda: [_legacy_index(store)])[0]
        found = index.get((legacy.group(1), int(legacy.group(2))))
        return found() if found is not None else None
    kind = parts[0]
    if kind in ("User", "Bot") and len(parts) == 2:
        if parts[1] == VIEWER_LOGIN:
            return store.viewer()
        return store.actor(parts[1] + ("[bot]" if kind == "Bot" else ""))
    repo = store.scenario.repo_by_name.get(parts[1].lower()) if len(parts) > 1 else None
    if repo is None:
        return None
    if kind == "Repository" and len(parts) == 2:
        return store.repo(repo)
    if len(parts) != 3:
        return None
    return _repo_node(store, repo, kind, parts[2])


def _repo_node(store: ObjectStore, repo: Repository, kind: str, key: str) -> Obj | None:
    if kind == "Commit":
        return store.commit(repo, key) if key in repo.commit_by_sha else None
    if kind == "Ref":
        prefix, _, name = key.rpartition("/")
        return store.ref(repo, prefix + "/", name) if prefix else None
    index = store.cached_list(("ids", repo.full_name), lambda: [_key_index(store, repo)])[0]
    if kind == "Label":
        return store.label(repo, key) if key in index["labels"] else None
    found = index.get(kind, {}).get(key)
    return found() if found is not None else None


def _bind(fn: Callable[..., Obj], *args: Any) -> _Builder:
    return lambda: fn(*args)


def _key_index(store: ObjectStore, repo: Repository) -> dict[str, Any]:
    """Key → builder for every kind found by key (built once per repository)."""
    index: dict[str, Any] = {
        "PullRequest": {}, "Issue": {}, "Release": {}, "Deployment": {},
        "PullRequestReview": {}, "IssueComment": {}, "DeploymentStatus": {}, "labels": set(),
    }  # fmt: skip
    for (kind, key), builder in _builders(store, repo):
        if kind in index:
            index[kind][key] = builder
    for labelled in (repo.pull_requests, repo.issues):
        for item in labelled:
            index["labels"].update(item.labels)
    return index


def _legacy_index(store: ObjectStore) -> dict[tuple[str, int], _Builder]:
    """(Type, database id) → builder, for the REST fake's node_ids (all repositories)."""
    index: dict[tuple[str, int], _Builder] = {}
    for repo in store.scenario.repositories:
        index[("Repository", stable_id("repository", repo.full_name))] = _bind(store.repo, repo)
        for sha in repo.commit_by_sha:
            index[("Commit", stable_id("commit", sha))] = _bind(store.commit, repo, sha)
        for (kind, key), builder in _builders(store, repo):
            number = int(key)
            if kind == "PullRequest":
                number = stable_id("pull", repo.full_name, number)
            elif kind == "Issue":
                number = stable_id("issue", repo.full_name, number)
            index[(kind, number)] = builder
    return index


def _builders(store: ObjectStore, repo: Repository) -> list[tuple[tuple[str, str], _Builder]]:
    out: list[tuple[tuple[str, str], _Builder]] = []
    for pr in repo.pull_requests:
        out.append((("PullRequest", str(pr.number)), _bind(store.pull, repo, pr)))
        for i, review in enumerate(pr.reviews):
            out.append((("PullRequestReview", str(review.id)), _bind(store.review, repo, pr, i)))
        for i, comment in enumerate(pr.comments):
            out.append((("IssueComment", str(comment.id)), _bind(store.comment, repo, pr, i)))
    for issue in repo.issues:
        out.append((("Issue", str(issue.number)), _bind(store.issue, repo, issue)))
    for rel in repo.releases:
        out.append((("Release", str(rel.id)), _bind(store.release, repo, rel)))
    for dep in repo.deployments:
        out.append((("Deployment", str(dep.id)), _bind(store.deployment, repo, dep)))
        for status in dep.statuses:
            builder = _bind(_status, store, repo, dep, status.id)
            out.append((("DeploymentStatus", str(status.id)), builder))
    return out


def _status(store: ObjectStore, repo: Repository, dep: Deployment, status_id: int) -> Obj:
    wanted = encode_id("DeploymentStatus", repo.full_name, status_id)
    return next(s for s in store.deployment(repo, dep)["_statuses"] if s["id"] == wanted)
