"""One repository's GraphQL streams, read side by side with the multiplexed snapshot query.

Each stream keeps its own cursor. A page of the query advances every stream still open; a stream
closes when GitHub has no next page, or (streams ordered newest first) when its page reaches
below the stream's lower bound. Rows are loaded page by page; a stream's watermark is written in
the same batch as its last page, so a killed run re-reads at most the unfinished walks.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from extractors import tables
from extractors.github import files, queries, rows
from extractors.github.client import GitHubClient
from extractors.github.history import extract_history
from extractors.github.times import iso, parse_ts
from extractors.github.walks import (
    KEY_OF,
    KEYS_CONNECTION,
    KEYS_VAR,
    LISTED_STREAMS,
    StoredCounts,
    StreamWalk,
    first_page_size,
    history_connection,
    list_page,
    stream_lookback,
)
from fourkeys.errors import FourKeysError
from fourkeys.warehouse.base import LoadBatch, Watermark

log = logging.getLogger(__name__)


@dataclass
class RepoPlan:
    """What to read for one repository (derived from the services that use it)."""

    repository: str
    branch: str | None = None
    environments: list[str] | None = None  # None: no deployments wanted
    issue_labels: list[str] | None = None  # None: no incident issues wanted
    workflows: list[str] = field(default_factory=list)
    # monorepos: read the changed files of pull requests and direct commits
    files: bool = False


# the watermark stream that records a finished files backfill (value "complete": the same in
# every run, so a re-run or a resumed run leaves the same warehouse)
FILES_MARK = "files"


class RepositoryExtractor:
    def __init__(
        self,
        client: GitHubClient,
        plan: RepoPlan,
        *,
        watermarks: dict[str, str | None],
        lower_bound_override: datetime | None,
        lookback: timedelta,
        run_started_at: datetime,
        load: Callable[[LoadBatch], None],
        known_commit_files: frozenset[str] = frozenset(),
        history_api: str = "graphql",
        history_mark: Watermark | None = None,
        stored: dict[str, StoredCounts] | None = None,
        stored_keys: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """`stored`: what the warehouse holds of each stream (None: not known, first pages of
        queries.INCREMENTAL_FIRST_PAGE). `stored_keys`: for LISTED_STREAMS, key → stored value
        of the rows at or after each walk's lower bound (None: no listing, full pages only)."""
        self.client = client
        self.plan = plan
        self.owner, self.name = plan.repository.split("/", 1)
        self.run_started_at = run_started_at
        self.load = load
        self.rows_by_table: dict[str, int] = {}

        def bound(stream: str) -> datetime | None:
            if lower_bound_override is not None:
                return lower_bound_override
            mark = parse_ts(watermarks.get(stream))
            if mark is None:
                return None
            return mark - stream_lookback(stream, lookback)

        def walk(name: str, var: str, conn: Callable[[dict[str, Any]], dict[str, Any] | None],
                 time_of: Callable[[dict[str, Any]], str | None], server: bool,
                 page_size: int) -> StreamWalk:
            lower = bound(name)
            # resumed: a previous run finished this walk (a stream that was empty then has a
            # watermark row without a value, and no lower bound, yet little to read now)
            incremental = name in watermarks and lower_bound_override is None
            first = page_size
            if incremental:
                mark = parse_ts(watermarks.get(name))
                first = first_page_size(
                    page_size, None if stored is None else stored.get(name, StoredCounts()),
                    run_started_at - mark if mark is not None else None)
            stream_walk = StreamWalk(name, f"with{var}", f"{var[0].lower()}{var[1:]}After",
                                     conn, time_of, lower, server, page_size, first,
                                     previous=watermarks.get(name), resumed=incremental)
            listed = (incremental and stored_keys is not None and name in LISTED_STREAMS
                      and lower is not None and not (name == "commits" and plan.files))
            if listed:
                # a monorepo's commits carry their pull requests, which can change: full pages
                stream_walk.active = False
                stream_walk.listing = stream_walk.listed = True
                stream_walk.stored_keys = (stored_keys or {}).get(name, {})
                # keys are cheap: twice the sized first page (the history: GitHub filters it)
                stream_walk.keys_page_size = page_size if server else min(page_size, 2 * first)
            return stream_walk

        self.walks = [
            walk("commits", "History", history_connection, lambda n: n.get("committedDate"), True,
                 queries.HISTORY_PAGE),
            walk("pull_requests", "Pulls", lambda r: r.get("pullRequests"),
                 lambda n: n.get("updatedAt"), False, queries.PULLS_PAGE),
            walk("releases", "Releases", lambda r: r.get("releases"),
                 lambda n: n.get("createdAt"), False, queries.RELEASES_PAGE),
            walk("tags", "Tags", lambda r: r.get("refs"), rows.tag_time, False,
                 queries.TAGS_PAGE),
        ]
        if plan.environments is not None:
            deployments = walk("deployments", "Deployments", lambda r: r.get("deployments"),
                               lambda n: n.get("createdAt"), False, queries.DEPLOYMENTS_PAGE)
            # a "re:" pattern is matched here, not by GitHub: the listing holds the others too
            deployments.wanted = lambda n: self._environment_wanted(n.get("environment"))
            self.walks.append(deployments)
        if plan.issue_labels is not None:
            self.walks.append(walk("issues", "Issues", lambda r: r.get("issues"),
                                   lambda n: n.get("updatedAt"), True, queries.ISSUES_PAGE))
        # a backfilled history may come by REST (extractors/github/history.py), after the
        # snapshot walk, which tells the default branch; monorepos keep GraphQL's (they need
        # associated PRs), and an incremental walk stays in the snapshot query (~free there)
        self.history_rest = (history_api == "rest" and not plan.files
                             and self.walks[0].lower_bound is None)
        self.history_mark = history_mark
        self.history_bound = self.walks[0].lower_bound
        if self.history_rest:
            self.walks[0].active = False
        self.branch_name: str | None = plan.branch
        self.first_page = True
        # commits whose files are stored (read once, ever); grows as this run reads more
        self.known_commit_files = set(known_commit_files)
        # files are asked for the first time (paths were just added): read the pull requests
        # and the history whole once, so earlier changes get their files too; the `files`
        # mark says it was done
        self.files_backfill = (plan.files and watermarks.get(FILES_MARK) is None
                               and lower_bound_override is None)
        if self.files_backfill:
            for w in self.walks:
                if w.name in ("commits", "pull_requests"):
                    w.lower_bound = None
                    if w.listed:
                        w.listing = w.listed = False
                        w.active = True

    def what(self, stream: str = "") -> str:
        return f"{self.plan.repository} {stream}".strip()

    def variables(self) -> dict[str, Any]:
        by_name = {w.name: w for w in self.walks}
        history = by_name["commits"]
        issues = by_name.get("issues")
        out: dict[str, Any] = {
            "owner": self.owner, "name": self.name,
            "useDefaultBranch": self.plan.branch is None,
            "branch": f"refs/heads/{self.plan.branch or 'main'}",
            "historySince": iso(history.lower_bound) if history.lower_bound else None,
            # a "re:" pattern cannot be sent to GitHub: read every environment, filter here
            "environments": (
                None if any(e.startswith("re:") for e in self.plan.environments or [])
                else self.plan.environments or None
            ),
            "issueLabels": self.plan.issue_labels or None,
            "issuesSince": iso(issues.lower_bound) if issues and issues.lower_bound else None,
            "withFiles": self.plan.files,
        }
        for var in ("Pulls", "History", "Releases", "Tags", "Deployments", "Issues",
                    *KEYS_VAR.values()):
            out[f"with{var}"] = False
            out[f"{var[0].lower()}{var[1:]}After"] = None
            out[f"{var[0].lower()}{var[1:]}First"] = 1
        for w in self.walks:
            out[w.include_var] = w.active
            out[w.after_var] = w.cursor
            out[w.after_var.replace("After", "First")] = w.next_page_size
            if w.listing:
                var = KEYS_VAR[w.name]
                out[f"with{var}"] = True
                out[f"{var[0].lower()}{var[1:]}After"] = w.keys_cursor
                out[f"{var[0].lower()}{var[1:]}First"] = w.keys_page_size
        return out

    @property
    def incremental(self) -> bool:
        """Every stream resumes from a watermark (a refresh): its first page may ride in a
        query shared with other repositories (extractors/github/batch.py)."""
        return (not self.history_rest and not self.files_backfill
                and all(w.resumed for w in self.walks))

    @property
    def has_pages(self) -> bool:
        """A snapshot page is still to read (some stream is open)."""
        return any(w.active or w.listing for w in self.walks)

    def run(self) -> dict[str, int]:
        """Read every page still to read (all of them, or none after shared pages)."""
        while self.has_pages:
            data = self.client.graphql(
                queries.REPOSITORY_SNAPSHOT, self.variables(), what=self.what()
            )
            self.load(self.page(data.get("repository")))
        self.finish()
        return self.rows_by_table

    def page(self, repo_node: dict[str, Any] | None) -> LoadBatch:
        """One page of the snapshot query (this repository's part of it) → its load batch."""
        if repo_node is None:
            raise FourKeysError(f"{self.what()}: repository not found; check the config")
        batch = LoadBatch()
        if self.first_page:
            batch.add(tables.REPOSITORIES.name, [rows.repository_row(self.plan.repository,
                                                                      repo_node)])
            self.branch_name = self.plan.branch or (
                (repo_node.get("defaultBranchRef") or {}).get("name")
            )
            if self.plan.branch and repo_node.get("branchRef") is None:
                raise FourKeysError(
                    f"{self.what()}: branch {self.plan.branch!r} does not exist; "
                    "fix `branch` in [[services]] or remove it to use the default branch"
                )
            self.first_page = False
        listing = [w for w in self.walks if w.listing]
        for walk in [w for w in self.walks if w.active]:
            connection = walk.connection(repo_node) or {"nodes": [], "pageInfo": {}}
            nodes = connection.get("nodes") or []
            self._collect(walk.name, nodes, batch)
            if walk.listed:
                for node in nodes:
                    walk.pending.pop(KEY_OF[walk.name](node), None)
            self._advance(walk, nodes, connection.get("pageInfo") or {}, batch)
        for walk in listing:
            connection = KEYS_CONNECTION[walk.name](repo_node) or {"nodes": [], "pageInfo": {}}
            if list_page(walk, connection.get("nodes") or [], connection.get("pageInfo") or {},
                         self.branch_name):
                self._close(walk, batch)
        for table, table_rows in batch.rows.items():
            self.rows_by_table[table] = self.rows_by_table.get(table, 0) + len(table_rows)
        return batch

    def finish(self) -> None:
        """After the snapshot pages: the history by REST, the files backfill's mark."""
        if self.history_rest and self.branch_name:
            read = extract_history(
                self.client, self.plan.repository, self.branch_name,
                previous=self.history_mark, lower_bound=self.history_bound,
                run_started_at=self.run_started_at, load=self.load,
            )
            self.rows_by_table[tables.COMMITS.name] = (
                self.rows_by_table.get(tables.COMMITS.name, 0) + read)
        if self.files_backfill:  # every walk finished: the backfill is done
            self.load(LoadBatch(watermarks=[Watermark("github", self.plan.repository,
                                                      FILES_MARK, "complete")]))

    def _advance(self, walk: StreamWalk, nodes: list[dict[str, Any]],
                 page_info: dict[str, Any], batch: LoadBatch) -> None:
        times = [t for t in (parse_ts(walk.time_of(n)) for n in nodes) if t is not None]
        if times:
            newest = max(times)
            walk.newest_seen = max(walk.newest_seen or newest, newest)
        reached_bound = (
            not walk.server_filtered and walk.lower_bound is not None and times
            and min(times) < walk.lower_bound
        )
        if page_info.get("hasNextPage") and not reached_bound and not (
                walk.listed and not walk.pending):
            walk.cursor = page_info.get("endCursor")
            walk.next_page_size = min(walk.page_size, walk.next_page_size * 2)
            return
        self._close(walk, batch)

    def _close(self, walk: StreamWalk, batch: LoadBatch) -> None:
        """The walk is done: its watermark goes into this page's batch."""
        walk.active = False
        value = walk.previous
        if walk.newest_seen is not None:
            # never past the run's start: a clock ahead of ours must not skip tomorrow's rows
            newest = min(walk.newest_seen, self.run_started_at)
            old = parse_ts(walk.previous)
            value = iso(max(newest, old) if old else newest)
        batch.watermarks.append(Watermark("github", self.plan.repository, walk.name, value))

    def _collect(self, stream: str, nodes: list[dict[str, Any]], batch: LoadBatch) -> None:
        repo = self.plan.repository
        if stream == "commits":
            batch.add(tables.COMMITS.name,
                      [rows.commit_row(repo, self.branch_name or "", n) for n in nodes])
            if self.plan.files:
                self._direct_commit_files(nodes, batch)
        elif stream == "pull_requests":
            for node in nodes:
                self._complete_pull(node)
                for table, table_rows in rows.pull_rows(repo, node).items():
                    batch.add(table, table_rows)
                replaced = [tables.PULL_REQUEST_COMMITS.name]
                if self.plan.files:
                    replaced.append(tables.PULL_REQUEST_FILES.name)
                for table in replaced:
                    batch.replaced_parents.setdefault(table, []).append((repo, node["number"]))
        elif stream == "releases":
            batch.add(tables.RELEASES.name, [rows.release_row(repo, n) for n in nodes])
        elif stream == "tags":
            batch.add(tables.TAGS.name, [rows.tag_row(repo, n) for n in nodes])
        elif stream == "deployments":
            for node in nodes:
                if not self._environment_wanted(node.get("environment")):
                    continue
                self._complete_statuses(node)
                for table, table_rows in rows.deployment_rows(repo, node).items():
                    batch.add(table, table_rows)
                batch.replaced_parents.setdefault(tables.DEPLOYMENT_STATUSES.name, []).append(
                    (repo, node["databaseId"]))
        elif stream == "issues":
            batch.add(tables.ISSUES.name, [rows.issue_row(repo, n) for n in nodes])

    def _direct_commit_files(self, nodes: list[dict[str, Any]], batch: LoadBatch) -> None:
        """Files of the page's direct commits not read before (in the page's batch, so they
        land with the commits and the history watermark)."""
        for node in nodes:
            sha = node["oid"]
            if sha in self.known_commit_files or not files.is_direct(node, self.branch_name):
                continue
            batch.add(tables.COMMIT_FILES.name,
                      files.commit_file_rows(self.client, self.plan.repository, sha))
            self.known_commit_files.add(sha)

    def _environment_wanted(self, environment: str | None) -> bool:
        wanted = self.plan.environments
        if not wanted:
            return True
        for pattern in wanted:
            if pattern.startswith("re:"):
                if environment is not None and re.fullmatch(pattern[3:], environment):
                    return True
            elif environment == pattern:
                return True
        return False

    def _complete_pull(self, node: dict[str, Any]) -> None:
        """Follow a PR's timeline (and files) only when they overflow their first page."""
        parts = {"Timeline": node["timelineItems"]}
        if node.get("files"):
            parts["Files"] = node["files"]
        while any(p["pageInfo"]["hasNextPage"] for p in parts.values()):
            variables: dict[str, Any] = {"owner": self.owner, "name": self.name,
                                         "number": node["number"]}
            for key, part in parts.items():
                variables[f"with{key}"] = bool(part["pageInfo"]["hasNextPage"])
                variables[f"{key.lower()}After"] = part["pageInfo"]["endCursor"]
            variables.setdefault("withFiles", False)
            variables.setdefault("filesAfter", None)
            data = self.client.graphql(queries.PULL_MORE, variables,
                                       what=self.what(f"pull request #{node['number']}"))
            more = (data.get("repository") or {}).get("pullRequest") or {}
            for key, part in parts.items():
                if not variables[f"with{key}"]:
                    continue
                field_name = "timelineItems" if key == "Timeline" else "files"
                extra = more.get(field_name) or {"nodes": [], "pageInfo": {}}
                part["nodes"].extend(extra.get("nodes") or [])
                part["pageInfo"] = extra.get("pageInfo") or {"hasNextPage": False}

    def _complete_statuses(self, node: dict[str, Any]) -> None:
        statuses = node["statuses"]
        while statuses["pageInfo"]["hasNextPage"]:
            data = self.client.graphql(
                queries.DEPLOYMENT_STATUSES_MORE,
                {"id": node["id"], "after": statuses["pageInfo"]["endCursor"]},
                what=self.what(f"deployment {node.get('databaseId')} statuses"),
            )
            extra = (data.get("node") or {}).get("statuses") or {"nodes": [], "pageInfo": {}}
            statuses["nodes"].extend(extra.get("nodes") or [])
            statuses["pageInfo"] = extra.get("pageInfo") or {"hasNextPage": False}
