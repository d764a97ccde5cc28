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


def _rest_login(user: dict[str, Any] | None) -> str | None:
    """REST names an app's bot `name[bot]` where GraphQL's `Bot.login` is `name`: rows keep
    GraphQL's spelling, so a login is the same whichever API read it."""
    login = _login(user)
    if login and (user or {}).get("type") == "Bot":
        return login.removesuffix("[bot]")
    return login


def rest_commit_row(repo: str, branch: str, item: dict[str, Any]) -> dict[str, Any]:
    """REST `GET /repos/{o}/{r}/commits` item → the same row as `commit_row` (REST carries no
    associated pull requests: the list is empty, as for GraphQL history outside monorepos)."""
    commit = item.get("commit") or {}
    author = commit.get("author") or {}
    return {
        "repository": repo,
        "sha": item["sha"],
        "branch": branch,
        "parents": [p["sha"] for p in item.get("parents") or []],
        "message": commit.get("message"),
        "author_login": _rest_login(item.get("author")),
        "author_name": author.get("name"),
        "author_email": author.get("email"),
        "authored_at": author.get("date"),
        "committed_at": (commit.get("committer") or {}).get("date"),
        "pull_request_numbers": [],
    }


def _first_by_other(events: list[dict[str, Any]], author: str | None, key: str) -> str | None:
    times = [
        e[key] for e in events if e.get(key) and _login(e.get("author")) not in (None, author)
    ]
    return min(times) if times else None


def _current_labels(events: list[dict[str, Any]]) -> list[str]:
    """Labels on the pull request now: its label events replayed in timeline order."""
    labels: dict[str, None] = {}
    for event in events:
        name = (event.get("label") or {}).get("name")
        if not name:
            continue
        if event["__typename"] == "LabeledEvent":
            labels[name] = None
        else:
            labels.pop(name, None)
    return list(labels)


def pull_rows(repo: str, node: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """One PR node (every timeline page already merged in) → rows. The timeline carries its
    commits, reviews, comments and label events in one connection (queries.PULL_FIELDS)."""
    number = node["number"]
    author = _login(node.get("author"))
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for item in node["timelineItems"]["nodes"]:
        if item:
            by_kind.setdefault(item.get("__typename", ""), []).append(item)
    commits = [c["commit"] for c in by_kind.get("PullRequestCommit", [])]
    reviews = by_kind.get("PullRequestReview", [])
    comments = by_kind.get("IssueComment", [])
    label_events = [e for e in node["timelineItems"]["nodes"]
                    if e and e.get("__typename") in ("LabeledEvent", "UnlabeledEvent")]
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
        "labels": _current_labels(label_events),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "closed_at": node.get("closedAt"),
        "merged_at": node.get("mergedAt"),
        "merge_commit_sha": (node.get("mergeCommit") or {}).get("oid"),
        "commit_count": len(commits),
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
