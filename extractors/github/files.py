"""Changed files of direct commits, for monorepos (docs/monorepos.md).

A pull request's files come with it (GraphQL `PullRequest.files`, in the snapshot query). A
commit pushed straight to the branch has no file list in GraphQL (`Commit` has none), so its
files come from REST `GET /repos/{owner}/{repo}/commits/{sha}` (`files[].filename`, 300 a page,
`Link` pages beyond). Only repositories with a path-filtered service ask, only for branch
commits that GitHub associates with no pull request into the branch (a pull request's files
cover its merge, squash and rebased commits), and never twice for a commit whose files are
stored: one request per direct commit, once.
"""

from __future__ import annotations

import logging
from typing import Any

from extractors.github import rows
from extractors.github.client import GitHubClient

log = logging.getLogger(__name__)


def is_direct(node: dict[str, Any], branch: str | None) -> bool:
    """A history node that no pull request into `branch` claims (GraphQL CommitFields)."""
    pulls = (node.get("associatedPullRequests") or {}).get("nodes") or []
    return not any(p and p.get("baseRefName") == branch for p in pulls)


def commit_file_rows(client: GitHubClient, repository: str, sha: str) -> list[dict[str, Any]]:
    """Every changed file of one commit (all REST pages) as raw rows."""
    files: list[dict[str, Any]] = []
    what = f"{repository} commit {sha[:12]} files"
    for page in client.rest_pages(f"/repos/{repository}/commits/{sha}", {}, what=what):
        files.extend((page.items or {}).get("files") or [])
    return rows.commit_file_rows(repository, sha, files)
