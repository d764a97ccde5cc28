"""[[organizations]] discovery: list each organisation's repositories into
`raw_github_org_repositories`, one GraphQL page per 100 repositories.

An organisation's listing is a snapshot: all its pages are loaded in one batch that replaces the
organisation's previous rows, so a repository deleted or transferred on GitHub leaves the table,
and a run killed mid-listing leaves the previous snapshot whole. Which repositories become
services, and with which team, is decided from these rows by `extractors/services.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from extractors import tables
from extractors.github import queries
from extractors.github.client import GitHubClient
from extractors.github.codeowners import LOCATIONS
from fourkeys.config import OrganizationConfig
from fourkeys.errors import FourKeysError
from fourkeys.warehouse.base import LoadBatch

log = logging.getLogger(__name__)

# the query's aliases, in GitHub's lookup order (codeowners.LOCATIONS)
_CODEOWNERS_ALIASES = dict(zip(("githubCodeowners", "rootCodeowners", "docsCodeowners"),
                               LOCATIONS, strict=True))


def org_repository_row(organization: str, node: dict[str, Any],
                       codeowners_read: bool) -> dict[str, Any]:
    name_with_owner = node["nameWithOwner"]
    path = text = None
    for alias, location in _CODEOWNERS_ALIASES.items():
        blob = node.get(alias)
        if blob is not None and blob.get("text") is not None:  # a binary blob has no text
            path, text = location, blob["text"]
            break
    return {
        "organization": organization.lower(),
        "repository": name_with_owner.lower(),
        "name_with_owner": name_with_owner,
        "repository_id": node.get("databaseId"),
        "default_branch": (node.get("defaultBranchRef") or {}).get("name"),
        "is_archived": node.get("isArchived"),
        "is_fork": node.get("isFork"),
        "created_at": node.get("createdAt"),
        "pushed_at": node.get("pushedAt"),
        "codeowners_read": codeowners_read,
        "codeowners_path": path,
        "codeowners": text,
    }


def list_repositories(client: GitHubClient, org: OrganizationConfig) -> list[dict[str, Any]]:
    """Every repository the organisation owns, as raw rows (one request per 100)."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    what = f"organization {org.name}"
    while True:
        data = client.graphql(
            queries.ORGANIZATION_REPOSITORIES,
            {"login": org.name, "after": after, "withCodeowners": org.codeowners},
            what=what,
            not_found=("check [[organizations]] name (the login in github.com/<login>; a user "
                       "account's repositories go in [[services]]) and that the token can read it"),
        )
        node = data.get("organization")
        if node is None:
            raise FourKeysError(f"{what}: not found on GitHub; check [[organizations]] name")
        connection = node.get("repositories") or {}
        found += [org_repository_row(org.name, n, org.codeowners)
                  for n in connection.get("nodes") or [] if n]
        page = connection.get("pageInfo") or {}
        if not page.get("hasNextPage"):
            return found
        after = page.get("endCursor")


def discover_organizations(client: GitHubClient, organizations: list[OrganizationConfig],
                           load: Callable[[LoadBatch], None]) -> None:
    for org in organizations:
        before = client.stats.requests["graphql"]
        rows = list_repositories(client, org)
        batch = LoadBatch()
        batch.add(tables.ORG_REPOSITORIES.name, rows)
        batch.replaced_parents[tables.ORG_REPOSITORIES.name] = [(org.name.lower(),)]
        load(batch)
        log.info("organization %s: %d repositories listed with %d GraphQL requests",
                 org.name, len(rows), client.stats.requests["graphql"] - before)
