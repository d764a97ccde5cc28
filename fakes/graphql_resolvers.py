"""Field resolvers of the fake GitHub GraphQL API, attached to the published schema.

Resolvers find the scenario through `info.context` (`graphql_paging.RequestContext`), so one
schema object (cached per path) serves any number of services. Connections follow GitHub:
ordering and filter arguments as documented (defaults where the published SDL omits them),
opaque base64 cursors, `first`/`last`/`after`/`before`, `pageInfo` and `totalCount`. Every
list behind a connection is sorted/filtered once per argument combination and cached in the
`ObjectStore`, so a page costs O(page size).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema

from fakes.graphql_errors import GitHubError
from fakes.graphql_nodes import find_node
from fakes.graphql_objects import Obj, ObjectStore, utc
from fakes.graphql_organizations import org_repositories, organization
from fakes.graphql_paging import edges_resolver, order_of, paginate, parse_time
from fakes.graphql_paging import store_of as _store
from fakes.graphql_timeline import pull_timeline_items
from fakes.scenario import Commit, Repository

# --- Query ------------------------------------------------------------------------------------


def _repository(_root: Any, info: GraphQLResolveInfo, owner: str, name: str, **_: Any) -> Any:
    if info.context.dry_run:
        return None
    repo = _store(info).scenario.repository(owner, name)
    if repo is None:
        raise GitHubError(
            "NOT_FOUND", f"Could not resolve to a Repository with the name '{owner}/{name}'."
        )
    return _store(info).repo(repo)


def _node_or_error(store: ObjectStore, value: str) -> Obj | GitHubError:
    found = find_node(store, value)
    if found is None:
        message = f"Could not resolve to a node with the global id of '{value}'"
        return GitHubError("NOT_FOUND", message)
    return found


def _node(_root: Any, info: GraphQLResolveInfo, id: str) -> Any:
    if info.context.dry_run:
        return None
    found = _node_or_error(_store(info), id)
    if isinstance(found, GitHubError):
        raise found
    return found


def _nodes(_root: Any, info: GraphQLResolveInfo, ids: list[str]) -> Any:
    if info.context.dry_run:
        return []
    # graphql-core turns an Exception list item into null plus an error at ["nodes", i]
    return [_node_or_error(_store(info), value) for value in ids]


# --- Repository -------------------------------------------------------------------------------


def _repo(source: Obj) -> Repository:
    return source["_repo"]


def _default_branch_ref(source: Obj, info: GraphQLResolveInfo) -> Any:
    repo = _repo(source)
    return _store(info).ref(repo, "refs/heads/", repo.default_branch)


def _ref(source: Obj, info: GraphQLResolveInfo, qualifiedName: str) -> Any:
    repo, store = _repo(source), _store(info)
    for prefix in ("refs/heads/", "refs/tags/"):
        if qualifiedName.startswith(prefix):
            return store.ref(repo, prefix, qualifiedName[len(prefix) :])
    if qualifiedName.startswith("refs/"):
        return None
    # GitHub resolves a short name as git does: branches before tags
    return store.ref(repo, "refs/heads/", qualifiedName) or store.ref(
        repo, "refs/tags/", qualifiedName
    )


def _refs(source: Obj, info: GraphQLResolveInfo, refPrefix: str, **args: Any) -> Any:
    repo, store = _repo(source), _store(info)
    order, descending = order_of(args, "ALPHABETICAL")
    if not args.get("orderBy") and args.get("direction"):
        descending = args["direction"] == "DESC"
    query = args.get("query") or ""

    def build() -> list[str]:
        table = {"refs/heads/": repo.branches, "refs/tags/": repo.all_tags}.get(refPrefix, {})
        names = [n for n in table if query in n]
        if order == "TAG_COMMIT_DATE":

            def key(name: str) -> tuple[datetime, str]:
                commit = repo.commit_by_sha.get(table[name])
                when = utc(commit.committed_at) if commit else datetime.min.replace(tzinfo=UTC)
                return when, name

            return sorted(names, key=key, reverse=descending)
        return sorted(names, reverse=descending)

    names = store.cached_list(("refs", repo.full_name, refPrefix, query, order, descending), build)
    return paginate(names, args, lambda name: store.ref(repo, refPrefix, name))


def _pull_list(store: ObjectStore, repo: Repository, args: dict[str, Any]) -> list[Any]:
    order, descending = order_of(args, "CREATED_AT")
    states = tuple(sorted(args.get("states") or ()))
    labels = tuple(sorted(args.get("labels") or ()))
    base, head = args.get("baseRefName"), args.get("headRefName")

    def ordered() -> list[Any]:
        attr = {"CREATED_AT": "created_at", "UPDATED_AT": "updated_at"}.get(order)
        if attr is None:  # COMMENTS
            return sorted(repo.pull_requests, key=lambda p: (len(p.comments), p.number),
                          reverse=descending)  # fmt: skip
        return sorted(repo.pull_requests, key=lambda p: (utc(getattr(p, attr)), p.number),
                      reverse=descending)  # fmt: skip

    def filtered() -> list[Any]:
        pulls = store.cached_list(("pulls", repo.full_name, order, descending), ordered)
        wanted, label_set = set(states), set(labels)
        return [
            p
            for p in pulls
            if (not wanted or _pull_state(p) in wanted)
            and (base is None or p.base == base)
            and (head is None or p.head == head)
            and (not label_set or not label_set.isdisjoint(p.labels))
        ]

    if not (states or labels or base is not None or head is not None):
        return store.cached_list(("pulls", repo.full_name, order, descending), ordered)
    key = ("pulls", repo.full_name, order, descending, states, labels, base, head)
    return store.cached_list(key, filtered)


def _pull_state(pr: Any) -> str:
    return "MERGED" if pr.merged_at else "CLOSED" if pr.closed_at else "OPEN"


def _pull_requests(source: Obj, info: GraphQLResolveInfo, **args: Any) -> Any:
    repo, store = _repo(source), _store(info)
    return paginate(_pull_list(store, repo, args), args, lambda p: store.pull(repo, p))


def _pull_request(source: Obj, info: GraphQLResolveInfo, number: int) -> Any:
    repo = _repo(source)
    pr = repo.pull_by_number.get(number)
    if pr is None:
        raise GitHubError(
            "NOT_FOUND", f"Could not resolve to a PullRequest with the number of {number}."
        )
    return _store(info).pull(repo, pr)


def _releases(source: Obj, info: GraphQLResolveInfo, **args: Any) -> Any:
    repo, store = _repo(source), _store(info)
    order, descending = order_of(args, "CREATED_AT")

    def build() -> list[Any]:
        if order == "NAME":
            return sorted(repo.releases, key=lambda r: (r.name or "", r.id), reverse=descending)
        return sorted(repo.releases, key=lambda r: (utc(r.created_at), r.id), reverse=descending)

    releases = store.cached_list(("releases", repo.full_name, order, descending), build)
    return paginate(releases, args, lambda r: store.release(repo, r))


def _deployment_list(store: ObjectStore, repo: Repository, args: dict[str, Any]) -> list[Any]:
    _, descending = order_of(args, "CREATED_AT")
    environments = tuple(args.get("environments") or ())

    def build() -> list[Any]:
        wanted = set(environments)
        found = [d for d in repo.deployments if not wanted or d.environment in wanted]
        return sorted(found, key=lambda d: (utc(d.created_at), d.id), reverse=descending)

    return store.cached_list(("deployments", repo.full_name, environments, descending), build)


def _deployments(source: Obj, info: GraphQLResolveInfo, **args: Any) -> Any:
    repo, store = _repo(source), _store(info)
    return paginate(_deployment_list(store, repo, args), args, lambda d: store.deployment(repo, d))


def _issues(source: Obj, info: GraphQLResolveInfo, **args: Any) -> Any:
    repo, store = _repo(source), _store(info)
    order, descending = order_of(args, "CREATED_AT")
    filters = args.get("filterBy") or {}
    states = {s.lower() for s in (args.get("states") or ())}
    filter_states = {s.lower() for s in (filters.get("states") or ())}
    labels = [set(ls) for ls in (args.get("labels"), filters.get("labels")) if ls]
    since_text = filters.get("since")
    since = parse_time(since_text, "since", "issues", "DateTime") if since_text else None
    creator = filters.get("createdBy")
    key = ("issues", repo.full_name, order, descending, tuple(sorted(states)),
           tuple(sorted(filter_states)), tuple(tuple(sorted(ls)) for ls in labels), since,
           creator)  # fmt: skip

    def build() -> list[Any]:
        found = [
            i
            for i in repo.issues
            if (not states or i.state in states)
            and (not filter_states or i.state in filter_states)
            and all(not ls.isdisjoint(i.labels) for ls in labels)
            and (since is None or utc(i.updated_at) >= since)
            and (creator is None or i.author == creator)
        ]
        attr = {"UPDATED_AT": "updated_at"}.get(order, "created_at")
        if order == "COMMENTS":  # the scenario records no issue comments: all tie
            return sorted(found, key=lambda i: i.number, reverse=descending)
        return sorted(found, key=lambda i: (utc(getattr(i, attr)), i.number), reverse=descending)

    return paginate(store.cached_list(key, build), args, lambda i: store.issue(repo, i))


def _object(source: Obj, info: GraphQLResolveInfo, oid: str | None = None,
            expression: str | None = None) -> Any:  # fmt: skip
    """A commit by oid or revision; `REV:path` is a file of `repo.files` at a revision that
    resolves (a Blob), else null, as GitHub answers for a path that does not exist."""
    repo, store = _repo(source), _store(info)
    sha: str | None = None
    path: str | None = None
    if oid is not None:
        sha = oid if oid in repo.commit_by_sha else None
    elif expression is not None:
        revision, colon, path = expression.partition(":")
        text = revision.removeprefix("refs/heads/").removeprefix("refs/tags/")
        sha = repo.branches.get(repo.default_branch) if text == "HEAD" else repo.resolve_ref(text)
        if not colon:
            path = None
    if sha is None or sha not in repo.commit_by_sha:
        return None
    if path is not None:
        return store.blob(repo, sha, path) if path in repo.files else None
    return store.commit(repo, sha)


# --- Commit -----------------------------------------------------------------------------------


def _history(source: Obj, info: GraphQLResolveInfo, **args: Any) -> Any:
    repo, store, sha = _repo(source), _store(info), source["oid"]
    since, until = (
        parse_time(args[a], a, "history", "GitTimestamp") if args.get(a) else None
        for a in ("since", "until")
    )
    author = args.get("author") or {}
    emails = tuple(sorted(e.lower() for e in author.get("emails") or ()))
    author_login = None
    if author.get("id"):
        user = find_node(store, author["id"])
        author_login = user["login"] if user else "\0"  # an unknown id matches nobody

    def build() -> list[Commit]:
        return [
            c
            for c in store.history(repo, sha)
            if (since is None or utc(c.committed_at) >= since)
            and (until is None or utc(c.committed_at) <= until)
            and (not emails or c.author.email.lower() in emails)
            and (author_login is None or c.author.login == author_login)
        ]

    if since is None and until is None and not emails and author_login is None:
        commits = store.history(repo, sha)
    else:
        key = ("history", repo.full_name, sha, since, until, emails, author_login)
        commits = store.cached_list(key, build)
    return paginate(commits, args, lambda c: store.commit(repo, c.sha))


def _associated_pull_requests(source: Obj, info: GraphQLResolveInfo, **args: Any) -> Any:
    repo, store, sha = _repo(source), _store(info), source["oid"]
    order, descending = order_of(args, "CREATED_AT")
    attr = "updated_at" if order == "UPDATED_AT" else "created_at"

    def build() -> list[Any]:
        pulls = [repo.pull_by_number[n] for n in repo.pulls_by_commit.get(sha, ())]
        return sorted(pulls, key=lambda p: (utc(getattr(p, attr)), p.number), reverse=descending)

    pulls = store.cached_list(("assoc", repo.full_name, sha, order, descending), build)
    return paginate(pulls, args, lambda p: store.pull(repo, p))


def _parents(source: Obj, info: GraphQLResolveInfo, **args: Any) -> Any:
    commit, store = source["_commit"], _store(info)
    parents = commit.parents if commit is not None else []
    return paginate(parents, args, lambda sha: store.commit(_repo(source), sha))


def _commit_deployments(source: Obj, info: GraphQLResolveInfo, **args: Any) -> Any:
    repo, store = _repo(source), _store(info)
    found = [d for d in _deployment_list(store, repo, args) if d.sha == source["oid"]]
    return paginate(found, args, lambda d: store.deployment(repo, d))


# --- Ref, PullRequest, Issue, Deployment ------------------------------------------------------


def _ref_pull_requests(source: Obj, info: GraphQLResolveInfo, **args: Any) -> Any:
    if source["prefix"] != "refs/heads/":
        return paginate([], args, lambda p: p)
    return _pull_requests(source, info, **{"headRefName": source["name"], **args})


def _labels(source: Obj, info: GraphQLResolveInfo, **args: Any) -> Any:
    item = source.get("_pr") or source["_issue"]
    return paginate(item.labels, args, lambda name: _store(info).label(_repo(source), name))


def _pr_commits(source: Obj, info: GraphQLResolveInfo, **args: Any) -> Any:
    repo, pr = _repo(source), source["_pr"]
    return paginate(pr.commits, args, lambda sha: _store(info).pull_commit(repo, pr, sha))


def _pr_files(source: Obj, _info: GraphQLResolveInfo, **args: Any) -> Any:
    """The union of the PR's commits' `files`, by path (scenario facts hold no diff stats)."""
    return paginate(_repo(source).pull_files(source["_pr"]), args, _changed_file)


def _changed_file(path: str) -> Obj:
    return {"__typename": "PullRequestChangedFile", "path": path, "additions": 0,
            "deletions": 0, "changeType": "MODIFIED", "viewerViewedState": "UNVIEWED"}


def _reviews(source: Obj, info: GraphQLResolveInfo, **args: Any) -> Any:
    repo, pr = _repo(source), source["_pr"]
    states, author = set(args.get("states") or ()), args.get("author")
    picked = [
        i
        for i, r in enumerate(pr.reviews)
        if (not states or r.state in states) and (author is None or r.author == author)
    ]
    return paginate(picked, args, lambda i: _store(info).review(repo, pr, i))


def _comments(source: Obj, info: GraphQLResolveInfo, **args: Any) -> Any:
    repo, pr = _repo(source), source.get("_pr")
    if pr is None:  # issues: the scenario records no issue comments
        return paginate([], args, lambda i: i)
    _, descending = order_of(args, "UPDATED_AT")  # IssueCommentOrder has UPDATED_AT only
    picked = sorted(range(len(pr.comments)), key=lambda i: (pr.comments[i].created_at, i),
                    reverse=descending)  # fmt: skip
    return paginate(picked, args, lambda i: _store(info).comment(repo, pr, i))


def _branch_ref(name_key: str) -> Callable[[Obj, GraphQLResolveInfo], Any]:
    def resolve(source: Obj, info: GraphQLResolveInfo) -> Any:
        return _store(info).ref(_repo(source), "refs/heads/", source[name_key])

    return resolve


def _statuses(source: Obj, _info: GraphQLResolveInfo, **args: Any) -> Any:
    return paginate(source["_statuses"], args, lambda s: s)


# --- installation -----------------------------------------------------------------------------

_RESOLVERS: dict[str, dict[str, Callable[..., Any]]] = {
    "Query": {
        "repository": _repository,
        "organization": organization,
        "rateLimit": lambda _root, info, **_: info.context.rate,
        "node": _node,
        "nodes": _nodes,
        "viewer": lambda _root, info: _store(info).viewer(),
    },
    "Repository": {
        "defaultBranchRef": _default_branch_ref,
        "ref": _ref,
        "refs": _refs,
        "pullRequests": _pull_requests,
        "pullRequest": _pull_request,
        "releases": _releases,
        "deployments": _deployments,
        "issues": _issues,
        "object": _object,
    },
    "Organization": {"repositories": org_repositories},
    "Commit": {
        "history": _history,
        "associatedPullRequests": _associated_pull_requests,
        "parents": _parents,
        "deployments": _commit_deployments,
    },
    "Ref": {"associatedPullRequests": _ref_pull_requests},
    "PullRequest": {
        "labels": _labels,
        "commits": _pr_commits,
        "files": _pr_files,
        "reviews": _reviews,
        "comments": _comments,
        "timelineItems": pull_timeline_items,
        "baseRef": _branch_ref("baseRefName"),
        "headRef": _branch_ref("headRefName"),
    },
    "Issue": {"labels": _labels, "comments": _comments},
    "Deployment": {"statuses": _statuses},
}
_installed: weakref.WeakSet[GraphQLSchema] = weakref.WeakSet()


def install_resolvers(schema: GraphQLSchema) -> None:
    """Attach the resolvers to `schema` (once; the schema object is shared and cached)."""
    if schema in _installed:
        return
    for type_name, fields in _RESOLVERS.items():
        gql_type = schema.type_map[type_name]
        assert isinstance(gql_type, GraphQLObjectType)
        for field_name, resolver in fields.items():
            gql_type.fields[field_name].resolve = resolver
    for name, gql_type in schema.type_map.items():
        if name.endswith("Connection") and isinstance(gql_type, GraphQLObjectType):
            edges = gql_type.fields.get("edges")
            if edges is not None:
                edges.resolve = edges_resolver
    _installed.add(schema)
