"""Organisations in the fake GitHub GraphQL API: `Query.organization(login)` and
`Organization.repositories`, for [[organizations]] discovery.

The scenario format has no organisation objects: an organisation is any owner of scenario
repositories (`full_name`'s owner), and its repositories are the ones it owns.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from fakes.graphql_errors import GitHubError
from fakes.graphql_objects import Obj, utc
from fakes.graphql_paging import order_of, paginate, store_of
from fakes.scenario import Repository


def organization(_root: Any, info: GraphQLResolveInfo, login: str) -> Any:
    """An organisation is any owner of scenario repositories (the format has no other)."""
    if info.context.dry_run:
        return None
    owners = {r.owner.lower(): r.owner for r in store_of(info).scenario.repositories}
    if login.lower() not in owners:
        raise GitHubError(
            "NOT_FOUND", f"Could not resolve to an Organization with the login of '{login}'."
        )
    return store_of(info).organization(owners[login.lower()])


_REPOSITORY_ORDER = {"CREATED_AT": "created_at", "NAME": "name", "PUSHED_AT": "pushed_at",
                     "UPDATED_AT": "pushed_at", "STARGAZERS": "name"}  # fmt: skip


def org_repositories(source: Obj, info: GraphQLResolveInfo, **args: Any) -> Any:
    """Organization.repositories: the owner's repositories, with GitHub's isArchived / isFork /
    privacy filters and RepositoryOrder (the scenario has no stars: STARGAZERS sorts by name)."""
    store, login = store_of(info), source["_login"].lower()
    order, descending = order_of(args, "CREATED_AT")
    affiliations = args.get("ownerAffiliations")
    filters = (args.get("isArchived"), args.get("isFork"), args.get("privacy"))
    key = ("org-repos", login, order, descending, filters, tuple(affiliations or ()))

    def build() -> list[Repository]:
        if affiliations is not None and "OWNER" not in affiliations:
            return []  # an organisation collaborates on no one else's repositories
        archived, fork, privacy = filters
        found = [r for r in store.scenario.repositories if r.owner.lower() == login
                 and (archived is None or r.archived == archived)
                 and (fork is None or r.fork == fork)
                 and (privacy is None or r.private == (privacy == "PRIVATE"))]
        attr = _REPOSITORY_ORDER.get(order, "created_at")

        def sort_key(repo: Repository) -> tuple[Any, str]:
            if attr == "name":
                return repo.name.lower(), repo.full_name
            if attr == "pushed_at":
                return store.repo(repo)["pushedAt"] or "", repo.full_name
            return utc(repo.created_at), repo.full_name

        return sorted(found, key=sort_key, reverse=descending)

    return paginate(store.cached_list(key, build), args, store.repo)
