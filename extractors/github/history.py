"""A branch's history by REST, `GET /repos/{owner}/{repo}/commits?sha=&since=&per_page=100`.

The same commits, with the same columns, as the snapshot query's `history` stream: REST lists
a commit's parents for free, so 100 commits cost one request of the core budget (5,000 an hour)
instead of ~1 GraphQL point (the `parents` connection is one request per commit there). The
extractor sends each repository's history to whichever budget this run has spent less of
(`HistoryRoute`), so a backfill draws on both. Monorepos keep the GraphQL history: they need
`associatedPullRequests` to tell direct commits, which REST lists do not carry.

Only a backfill (no watermark yet) goes by REST: an incremental run's few new commits ride in
the snapshot query for next to nothing (a small first page), where a REST walk would cost one
more request per repository. Watermark as the GraphQL walk: the newest `committed_at` seen
(never past the run's start), written with the last page — the same rows and the same
watermark whichever API read them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from extractors import tables
from extractors.github.client import GitHubClient
from extractors.github.rows import rest_commit_row
from extractors.github.times import iso, parse_ts
from fourkeys.warehouse.base import LoadBatch, Watermark

STREAM = "commits"


class HistoryRoute:
    """Which API reads the next repository's history: the one this run has spent less of
    (REST requests against GraphQL points; both budgets are 5,000 an hour on GitHub.com)."""

    def __init__(self, stats: Any, forced: str | None = None) -> None:
        self.stats = stats
        self.forced = forced
        self._lock = threading.Lock()

    def choose(self) -> str:
        if self.forced:
            return self.forced
        with self._lock:
            return "rest" if self.stats.requests["rest"] <= self.stats.graphql_points else "graphql"


def extract_history(
    client: GitHubClient,
    repository: str,
    branch: str,
    *,
    previous: Watermark | None,
    lower_bound: datetime | None,
    run_started_at: datetime,
    load: Callable[[LoadBatch], None],
) -> int:
    """Walk the branch's commits since `lower_bound` (all when None), page by page, each page
    one load; return the number read."""
    params: dict[str, Any] = {"sha": branch, "per_page": 100}
    if lower_bound is not None:
        params["since"] = iso(lower_bound)
    newest: datetime | None = None
    count = 0
    what = f"{repository} history"
    pages = client.rest_pages(
        f"/repos/{repository}/commits", params, what=what, empty_statuses=(409,)
    )
    batch = LoadBatch()
    for page in pages:
        items = page.items if isinstance(page.items, list) else []  # 409: an empty repository
        commit_rows = [rest_commit_row(repository, branch, item) for item in items]
        count += len(commit_rows)
        for row in commit_rows:
            committed = parse_ts(row["committed_at"])
            if committed is not None and (newest is None or committed > newest):
                newest = committed
        batch = LoadBatch()
        batch.add(tables.COMMITS.name, commit_rows)
        if page.has_next:
            load(batch)
    value = previous.value if previous else None
    if newest is not None:
        newest = min(newest, run_started_at)
        old = parse_ts(value)
        value = iso(max(newest, old) if old else newest)
    batch.watermarks.append(Watermark("github", repository, STREAM, value))
    load(batch)
    return count
