"""Per-repository indexes for the REST endpoints: sorted lists built once, histories and
comparisons cached, so a request costs O(page) (plus O(commits between) for a comparison).

The scenario is immutable while served, so nothing here is ever invalidated.
"""

from __future__ import annotations

import heapq
import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Generic, TypeVar

from fakes.rest_builders import Workflow
from fakes.rest_common import stable_id
from fakes.scenario import Commit, Deployment, Issue, PullRequest, Repository, WorkflowRun

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A small thread-safe LRU: histories of arbitrary shas must not grow without bound."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get_or(self, key: K, make: Callable[[], V]) -> V:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = make()
        with self._lock:
            self._data[key] = value
            if len(self._data) > self._size:
                self._data.popitem(last=False)
        return value


@dataclass(frozen=True, slots=True)
class History:
    """Commits reachable from a sha, newest committed first, with bisectable keys."""

    commits: list[Commit]
    neg_ts: list[float]  # -committed_at, ascending along `commits`

    def window(self, since: datetime | None, until: datetime | None) -> tuple[int, int]:
        """[start, end) of commits with since <= committed_at <= until."""
        start = 0 if until is None else bisect_left(self.neg_ts, -until.timestamp())
        end = len(self.commits) if since is None else bisect_right(self.neg_ts, -since.timestamp())
        return start, max(start, end)


@dataclass(frozen=True, slots=True)
class Comparison:
    ahead: list[Commit]  # oldest first
    behind_by: int
    merge_base: Commit | None


def _by_created(items: list[PullRequest] | list[Issue]) -> list:
    return sorted(items, key=lambda x: (x.created_at, x.number))


def _by_updated(items: list[PullRequest] | list[Issue]) -> list:
    return sorted(items, key=lambda x: (x.updated_at, x.number))


class RepoIndex:
    """Everything the REST endpoints need about one repository, sorted ascending once."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._histories: LRU[str, History] = LRU(256)
        self._comparisons: LRU[tuple[str, str], Comparison] = LRU(256)

    # --- pulls and issues -----------------------------------------------------------------

    @cached_property
    def pulls(self) -> dict[tuple[str, str], list[PullRequest]]:
        """(state, sort) → pulls ascending by that sort key; state in open|closed|all."""
        out: dict[tuple[str, str], list[PullRequest]] = {}
        for state in ("all", "open", "closed"):
            chosen = [p for p in self.repo.pull_requests if state in ("all", p.state)]
            out[(state, "created")] = _by_created(chosen)
            out[(state, "updated")] = _by_updated(chosen)
        return out

    @cached_property
    def issues(self) -> dict[tuple[str, str], list[Issue]]:
        out: dict[tuple[str, str], list[Issue]] = {}
        for state in ("all", "open", "closed"):
            chosen = [i for i in self.repo.issues if state in ("all", i.state)]
            out[(state, "created")] = _by_created(chosen)
            out[(state, "updated")] = _by_updated(chosen)
        return out

    @cached_property
    def issue_by_number(self) -> dict[int, Issue]:
        return {i.number: i for i in self.repo.issues}

    # --- deployments, releases, tags ------------------------------------------------------

    @cached_property
    def deployments(self) -> list[Deployment]:
        """Newest first, as GitHub lists them."""
        return sorted(self.repo.deployments, key=lambda d: (d.created_at, d.id), reverse=True)

    @cached_property
    def deployments_by_environment(self) -> dict[str, list[Deployment]]:
        out: dict[str, list[Deployment]] = {}
        for d in self.deployments:
            out.setdefault(d.environment, []).append(d)
        return out

    @cached_property
    def deployment_by_id(self) -> dict[int, Deployment]:
        return {d.id: d for d in self.repo.deployments}

    @cached_property
    def releases(self) -> list:
        return sorted(self.repo.releases, key=lambda r: (r.created_at, r.id), reverse=True)

    @cached_property
    def tags(self) -> list[tuple[str, str]]:
        # GitHub lists tags by name, newest-looking first; reverse lexical order is close enough
        return sorted(self.repo.all_tags.items(), reverse=True)

    # --- actions --------------------------------------------------------------------------

    @cached_property
    def runs(self) -> list[WorkflowRun]:
        """Oldest first (bisect on created_at); endpoints read it backwards (newest first)."""
        return sorted(self.repo.workflow_runs, key=lambda r: (r.created_at, r.id))

    @cached_property
    def workflows(self) -> list[Workflow]:
        firsts: dict[str, WorkflowRun] = {}
        lasts: dict[str, WorkflowRun] = {}
        for run in self.runs:
            firsts.setdefault(run.workflow_path, run)
            lasts[run.workflow_path] = run
        out = [
            Workflow(
                id=stable_id("workflow", self.repo.full_name.lower(), path),
                path=path,
                name=lasts[path].name,
                created_at=first.created_at,
                updated_at=lasts[path].updated_at,
            )
            for path, first in firsts.items()
        ]
        return sorted(out, key=lambda w: w.id)

    @cached_property
    def workflow_id_by_path(self) -> dict[str, int]:
        return {w.path: w.id for w in self.workflows}

    def find_workflow(self, key: str) -> Workflow | None:
        """A workflow by numeric id or by file name (basename of its path), as GitHub allows."""
        for w in self.workflows:
            if key.isdigit() and w.id == int(key):
                return w
            if w.path.rsplit("/", 1)[-1] == key or w.path == key:
                return w
        return None

    @cached_property
    def runs_by_workflow(self) -> dict[str, list[WorkflowRun]]:
        out: dict[str, list[WorkflowRun]] = {}
        for run in self.runs:
            out.setdefault(run.workflow_path, []).append(run)
        return out

    @cached_property
    def run_numbers(self) -> dict[int, int]:
        """run id → run_number: the scenario's, else its 1-based rank in its workflow."""
        out: dict[int, int] = {}
        for runs in self.runs_by_workflow.values():
            rank = 0
            seen: dict[tuple[str, datetime], int] = {}
            for run in runs:
                if run.run_number is not None:
                    out[run.id] = run.run_number
                    continue
                # re-run attempts share their run's number
                key = (run.head_sha, run.created_at)
                if run.run_attempt > 1 and key in seen:
                    out[run.id] = seen[key]
                    continue
                rank += 1
                seen[key] = rank
                out[run.id] = rank
        return out

    # --- history and comparison -----------------------------------------------------------

    @cached_property
    def branch_by_head(self) -> dict[str, str]:
        return {head: name for name, head in self.repo.branches.items()}

    def history(self, sha: str) -> History:
        def build() -> History:
            branch = self.branch_by_head.get(sha)
            # a branch head shares the scenario's own cache; any other sha gets its own walk
            commits = self.repo.branch_history(branch) if branch else self.repo.history(sha)
            return History(commits, [-c.committed_at.timestamp() for c in commits])

        return self._histories.get_or(sha, build)

    def compare(self, base: str, head: str) -> Comparison:
        return self._comparisons.get_or((base, head), lambda: self._compare(base, head))

    def _compare(self, base: str, head: str) -> Comparison:
        """git's paint-down walk: newest first from both tips until only shared commits remain.

        Costs O(commits between the tips and their merge base), not O(history), which matters
        when an extractor compares every consecutive pair of deployments.
        """
        by_sha = self.repo.commit_by_sha
        head_bit, base_bit, both = 1, 2, 3
        flags: dict[str, int] = {}
        heap: list[tuple[float, str, int]] = []
        unsettled = 0  # heap entries not yet known to be reachable from both tips

        def push(sha: str, bit: int) -> None:
            nonlocal unsettled
            commit = by_sha.get(sha)
            if commit is None:
                return
            new = flags.get(sha, 0) | bit
            if new == flags.get(sha, 0):
                return
            flags[sha] = new
            heapq.heappush(heap, (-commit.committed_at.timestamp(), sha, new))
            if new != both:
                unsettled += 1

        push(head, head_bit)
        push(base, base_bit)
        while heap and unsettled:
            _, sha, flag = heapq.heappop(heap)
            if flag != both:
                unsettled -= 1
            if flag != flags[sha]:
                continue  # superseded by a later push with more bits
            for parent in by_sha[sha].parents:
                push(parent, flag)
        ahead = [by_sha[s] for s, f in flags.items() if f == head_bit]
        ahead.sort(key=lambda c: (c.committed_at, c.sha))
        behind_by = sum(1 for f in flags.values() if f == base_bit)
        shared = [by_sha[s] for s, f in flags.items() if f == both]
        merge_base = max(shared, key=lambda c: (c.committed_at, c.sha)) if shared else None
        return Comparison(ahead, behind_by, merge_base)
