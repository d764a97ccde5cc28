"""GraphQL nodes → raw rows. Pure functions: the only place that knows GitHub's node shapes."""

from __future__ import annotations

from typing import Any

from extractors import tables


def _login(actor: dict[str, Any] | None) -> str | None:
    return actor.get("login") if actor else None


def repository_row(repo: str, node: dict[str, Any]) -> dict[str, Any]:
    branch = node.get("defaultBranchRef") or {}
    return {
        "repository": repo,
        "repository_id": node.get("databaseId"),
        "default_branch": branch.get("name"),
        "created_at": node.get("createdAt"),
        "pushed_at": node.get("pushedAt"),
        "is_archived": node.get("isArchived"),
        "is_fork": node.get("isFork"),
    }


def commit_row(repo: str, branch: str, node: dict[str, Any]) -> dict[str, Any]:
    author = node.get("author") or {}
    return {
        "repository": repo,
        "sha": node["oid"],
        "branch": branch,
        "parents": [p["oid"] for p in (node.get("parents") or {}).get("nodes") or []],
        "message": node.get("message"),
        "author_login": _login(author.get("user")),
        "author_name": author.get("name"),
        "author_email": author.get("email"),
        "authored_at": node.get("authoredDate"),
        "committed_at": node.get("committedDate"),
        "pull_request_numbers": [
            p["number"] for p in (node.get("associatedPullRequests") or {}).get("nodes") or []
        ],
    }


def _first_by_other(events: list[dict[str, Any]], author: str | None, key: str) -> str | None:
    times = [
        e[key] for e in events if e.get(key) and _login(e.get("author")) not in (None, author)
    ]
    return min(times) if times else None


def pull_rows(repo: str, node: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """One PR node (with every commit/review/comment page already merged in) → rows."""
    number = node["number"]
    author = _login(node.get("author"))
    commits = [c["commit"] for c in node["commits"]["nodes"]]
    reviews = node["reviews"]["nodes"]
    comments = node["comments"]["nodes"]
    review_times = [
        {**r, "at": r.get("submittedAt") or r.get("createdAt")}
        for r in reviews
        if r.get("state") != "PENDING"
    ]
    pr = {
        "repository": repo,
        "number": number,
        "pull_request_node_id": node.get("id"),
        "title": node.get("title"),
        "body": node.get("body"),
        "url": node.get("url"),
        "state": node.get("state"),
        "is_draft": node.get("isDraft"),
        "author": author,
        "base_ref": node.get("baseRefName"),
        "head_ref": node.get("headRefName"),
        "labels": [label["name"] for label in node["labels"]["nodes"]],
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "closed_at": node.get("closedAt"),
        "merged_at": node.get("mergedAt"),
        "merge_commit_sha": (node.get("mergeCommit") or {}).get("oid"),
        "commit_count": node["commits"].get("totalCount", len(commits)),
        "first_review_at": _first_by_other(review_times, author, "at"),
        "first_comment_at": _first_by_other(comments, author, "createdAt"),
    }
    commit_rows = []
    for position, c in enumerate(commits):
        a = c.get("author") or {}
        commit_rows.append({
            "repository": repo, "pull_request_number": number, "sha": c["oid"],
            "position": position, "message": c.get("message"),
            "author_login": _login(a.get("user")), "author_name": a.get("name"),
            "author_email": a.get("email"), "authored_at": c.get("authoredDate"),
            "committed_at": c.get("committedDate"),
        })
    out = {
        tables.PULL_REQUESTS.name: [pr],
        tables.PULL_REQUEST_COMMITS.name: commit_rows,
        tables.PULL_REQUEST_REVIEWS.name: [
            {"repository": repo, "review_id": r["databaseId"], "pull_request_number": number,
             "author": _login(r.get("author")), "state": r.get("state"),
             "submitted_at": r.get("submittedAt") or r.get("createdAt")}
            for r in reviews if r.get("databaseId") is not None
        ],
        tables.PULL_REQUEST_COMMENTS.name: [
            {"repository": repo, "comment_id": c["databaseId"], "pull_request_number": number,
             "author": _login(c.get("author")), "created_at": c.get("createdAt")}
            for c in comments if c.get("databaseId") is not None
        ],
    }
    if "files" in node:  # asked only for monorepos (`withFiles`)
        out[tables.PULL_REQUEST_FILES.name] = [
            {"repository": repo, "pull_request_number": number, "path": f["path"]}
            for f in (node["files"] or {}).get("nodes") or [] if f and f.get("path")
        ]
    return out


def commit_file_rows(repo: str, sha: str, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """REST `GET /repos/{o}/{r}/commits/{sha}` `files[]` (all pages) → rows."""
    return [{"repository": repo, "sha": sha, "path": f["filename"]}
            for f in files if f.get("filename")]


def release_row(repo: str, node: dict[str, Any]) -> dict[str, Any]:
    return {
        "repository": repo, "release_id": node["databaseId"], "tag_name": node.get("tagName"),
        "name": node.get("name"), "is_draft": node.get("isDraft"),
        "is_prerelease": node.get("isPrerelease"), "created_at": node.get("createdAt"),
        "published_at": node.get("publishedAt"),
        "target_sha": (node.get("tagCommit") or {}).get("oid"),
        "author": _login(node.get("author")), "url": node.get("url"),
    }


def tag_row(repo: str, node: dict[str, Any]) -> dict[str, Any]:
    target = node.get("target") or {}
    if target.get("__typename") == "Tag":  # annotated tag: peel to the commit
        target = target.get("target") or {}
    return {
        "repository": repo, "tag_name": node["name"], "target_sha": target.get("oid"),
        "committed_at": target.get("committedDate"),
    }


def tag_time(node: dict[str, Any]) -> str | None:
    return tag_row("", node)["committed_at"]


def deployment_rows(repo: str, node: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    deployment_id = node["databaseId"]
    return {
        tables.DEPLOYMENTS.name: [{
            "repository": repo, "deployment_id": deployment_id,
            "deployment_node_id": node.get("id"), "environment": node.get("environment"),
            "original_environment": node.get("originalEnvironment"),
            "sha": node.get("commitOid"), "ref": (node.get("ref") or {}).get("name"),
            "task": node.get("task"), "description": node.get("description"),
            "creator": _login(node.get("creator")), "created_at": node.get("createdAt"),
            "updated_at": node.get("updatedAt"),
        }],
        tables.DEPLOYMENT_STATUSES.name: [
            {"repository": repo, "deployment_id": deployment_id, "status_id": s["id"],
             "state": s.get("state"), "description": s.get("description"),
             "created_at": s.get("createdAt")}
            for s in node["statuses"]["nodes"]
        ],
    }


def issue_row(repo: str, node: dict[str, Any]) -> dict[str, Any]:
    return {
        "repository": repo, "number": node["number"], "issue_id": node.get("databaseId"),
        "title": node.get("title"), "body": node.get("body"), "url": node.get("url"),
        "author": _login(node.get("author")),
        "labels": [label["name"] for label in (node.get("labels") or {}).get("nodes") or []],
        "state": node.get("state"), "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"), "closed_at": node.get("closedAt"),
    }
