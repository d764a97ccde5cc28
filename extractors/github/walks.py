"""The state of one stream's walk through a repository's snapshot pages, and the rules a
refresh sizes and lists them by (extractors/github/repository.py drives the walks)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from extractors import tables
from extractors.github import queries
from extractors.github.times import parse_ts


@dataclass
class StreamWalk:
    name: str
    include_var: str
    after_var: str
    connection: Callable[[dict[str, Any]], dict[str, Any] | None]
    time_of: Callable[[dict[str, Any]], str | None]
    lower_bound: datetime | None  # nodes older than this are already in the warehouse
    server_filtered: bool  # GitHub applies the lower bound itself (`since`)
    page_size: int  # the full page
    # an incremental walk (a watermark exists) starts with a small page and doubles it page by
    # page up to the full one: a refresh usually finds a few new items, and full pages would
    # re-read (and pay for) up to a page of old ones per stream and repository
    next_page_size: int
    active: bool = True
    cursor: str | None = None
    newest_seen: datetime | None = None
    previous: str | None = None
    resumed: bool = False
    # a listed walk (see LISTED_STREAMS) first pages through keys and times alone; `pending`
    # holds the listed keys the warehouse lacks as listed, by position in the listing (1 = the
    # newest); the full rows are then read as far down as the last of them
    listing: bool = False
    listed: bool = False
    stored_keys: dict[str, Any] = field(default_factory=dict)
    keys_cursor: str | None = None
    keys_page_size: int = 1
    keys_seen: int = 0
    pending: dict[str, int] = field(default_factory=dict)
    # the listed rows the extractor keeps (deployments of a wanted environment; None: all):
    # others are never stored, so never pending, though they count in the listing's positions
    wanted: Callable[[dict[str, Any]], bool] | None = None


def _branch_target(repo_node: dict[str, Any]) -> dict[str, Any]:
    """The head commit of the branch the snapshot read (a configured one, else the default)."""
    ref = repo_node.get("branchRef") or repo_node.get("defaultBranchRef") or {}
    return ref.get("target") or {}


def history_connection(repo_node: dict[str, Any]) -> dict[str, Any] | None:
    return _branch_target(repo_node).get("history")


def history_keys_connection(repo_node: dict[str, Any]) -> dict[str, Any] | None:
    return _branch_target(repo_node).get("historyKeys")


# Pull requests are read newest `updatedAt` first, and GitHub moves `updatedAt` on every change
# to one (commits, reviews, comments, labels, merge): only a write that becomes visible late can
# hide below the watermark, so their lookback is an hour, not `lookback_days`. The days stay for
# what git or a later event dates: commits and tags (a commit keeps its date when it is pushed
# later), deployments and releases (read by creation; a status or publication arrives later).
PULLS_LOOKBACK = timedelta(hours=1)

# A refresh sizes each stream's first page from what the warehouse knows of the repository:
# the rows the walk will read again (stored, at or after its lower bound: the lookback) plus the
# new ones its recent rate predicts (rows of the last RATE_WINDOW by the clock, spread over the
# time since the watermark), with a margin; the pages after it double as before. A fixed first
# page read ~10 pull requests (with their timelines) per repository for ~2 new ones.
RATE_WINDOW = timedelta(days=28)
RATE_COLUMNS = {  # stream → the raw table and the time its walk orders by
    "commits": (tables.COMMITS.name, "committed_at"),
    "pull_requests": (tables.PULL_REQUESTS.name, "updated_at"),
    "releases": (tables.RELEASES.name, "created_at"),
    "tags": (tables.TAGS.name, "committed_at"),
    "deployments": (tables.DEPLOYMENTS.name, "created_at"),
    "issues": (tables.ISSUES.name, "updated_at"),
}
RATE_MARGIN = 1.25

# A refresh lists these streams by key and time first (queries: `pullKeys`, `historyKeys`,
# `deploymentKeys`), then reads full rows only down to the last listed key that is new or
# changed: the rows inside the lookback, the margin and the row that closes the walk cost a few
# fields each, not a pull request's timeline or a deployment's statuses. Concurrent writes
# cannot drop a row: the full pages go on until every pending key was read (a pull request
# updated meanwhile moves up, and is read with the others), and the watermark is at most the
# newest time listed or read.
class ListedStream(NamedTuple):
    """What the warehouse holds of a listed stream, to compare the listing with: the raw
    table, its key and time columns, and the value a listed row must match, in `table` or,
    with `value_table`, in the child rows of that table with the same repository and key
    (their values space-joined): a pull request changes with `updatedAt`; a commit never
    changes, but it is stored for one branch; a deployment changes when a status is added, and
    its latest status is then one the warehouse does not hold."""

    table: str
    key: str
    time: str
    value: str
    value_table: str | None = None


LISTED_STREAMS = {
    "pull_requests": ListedStream(tables.PULL_REQUESTS.name, "number", "updated_at",
                                  "updated_at"),
    "commits": ListedStream(tables.COMMITS.name, "sha", "committed_at", "branch"),
    "deployments": ListedStream(tables.DEPLOYMENTS.name, "deployment_id", "created_at",
                                "status_id", tables.DEPLOYMENT_STATUSES.name),
}
KEY_OF: dict[str, Callable[[dict[str, Any]], str]] = {
    "pull_requests": lambda n: str(n["number"]),
    "commits": lambda n: str(n["oid"]),
    "deployments": lambda n: str(n["databaseId"]),
}
KEYS_CONNECTION: dict[str, Callable[[dict[str, Any]], dict[str, Any] | None]] = {
    "pull_requests": lambda r: r.get("pullKeys"),
    "commits": history_keys_connection,
    "deployments": lambda r: r.get("deploymentKeys"),
}
KEYS_VAR = {"pull_requests": "PullKeys", "commits": "HistoryKeys",
            "deployments": "DeploymentKeys"}


def stream_lookback(stream: str, lookback: timedelta) -> timedelta:
    """How far below its watermark a stream's walk reads again (see PULLS_LOOKBACK; issues
    are read by `since` on `updatedAt`, which GitHub moves on every change)."""
    if stream == "pull_requests":
        return min(lookback, PULLS_LOOKBACK)
    if stream == "issues":
        return timedelta(0)
    return lookback


@dataclass(frozen=True)
class StoredCounts:
    """One stream of one repository in the warehouse: rows of the last RATE_WINDOW (by the
    clock) and rows at or after the walk's lower bound (its watermark minus its lookback)."""

    recent: int = 0
    rereads: int = 0


def first_page_size(page_size: int, counts: StoredCounts | None,
                    since_mark: timedelta | None) -> int:
    """An incremental walk's first page: the rows it reads again plus the new ones expected
    over `since_mark` (the time since its watermark) at the recent rate, with a margin, and
    one more (a walk ordered newest first closes on a row older than its bound);
    queries.INCREMENTAL_FIRST_PAGE when either is unknown. Never more than the full page,
    never less than 1."""
    if counts is None or since_mark is None:
        return min(page_size, queries.INCREMENTAL_FIRST_PAGE)
    expected = counts.rereads + counts.recent * max(since_mark, timedelta(0)) / RATE_WINDOW
    return max(1, min(page_size, math.ceil(expected * RATE_MARGIN) + 1))


def list_page(walk: StreamWalk, nodes: list[dict[str, Any]], page_info: dict[str, Any],
              branch: str | None) -> bool:
    """One page of a walk's key listing: note what the warehouse lacks as listed (`branch`: the
    one the history is read from). When the listing reaches the lower bound the walk either
    reads full rows down to its last pending key (False) or, nothing pending, closes (True)."""
    key_of = KEY_OF[walk.name]
    reached_bound = False
    for node in nodes:
        listed_at = parse_ts(walk.time_of(node))
        if listed_at is not None:
            walk.newest_seen = max(walk.newest_seen or listed_at, listed_at)
            if (not walk.server_filtered and walk.lower_bound is not None
                    and listed_at < walk.lower_bound):
                reached_bound = True
                continue
        walk.keys_seen += 1
        key = key_of(node)
        if walk.wanted is not None and not walk.wanted(node):
            continue
        if changed(walk, node, key, listed_at, branch):
            walk.pending[key] = walk.keys_seen
    if page_info.get("hasNextPage") and not reached_bound:
        walk.keys_cursor = page_info.get("endCursor")
        walk.keys_page_size = min(walk.page_size, walk.keys_page_size * 2)
        return False
    walk.listing = False
    if not walk.pending:
        return True
    walk.active = True
    walk.cursor = None
    walk.next_page_size = min(walk.page_size, max(walk.pending.values()))
    return False


def changed(walk: StreamWalk, node: dict[str, Any], key: str, listed_at: datetime | None,
            branch: str | None) -> bool:
    """A listed row the warehouse does not hold as listed: a pull request stored with another
    `updatedAt`, a commit not stored (or stored for another branch), a deployment whose latest
    status is not among its stored ones (or that has none listed but some stored)."""
    if key not in walk.stored_keys:
        return True
    stored = walk.stored_keys[key]
    if walk.name == "commits":
        return stored != branch
    if walk.name == "deployments":
        stored_statuses = set((stored or "").split())
        latest = (node.get("latestStatus") or {}).get("id")
        return latest not in stored_statuses if latest is not None else bool(stored_statuses)
    stored_at = parse_ts(stored) if isinstance(stored, str) else stored
    return stored_at is None or listed_at is None or stored_at != listed_at
