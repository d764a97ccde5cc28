"""One repository's history, simulated event by event in time order.

A heap of timed events (PR opened, PR merged, direct push, deployment, incident, rollback) runs
from the repository's creation to `now`; every event sees `main` as it is at its moment, so a
PR branches off the real head, a deployment deploys the real head and a revert names the sha its
target really landed as. Deployment sources (gen_sources) and failures (gen_failures) plug in.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fakes.gen_common import (
    COMMIT_MESSAGES,
    DAY,
    DEPENDABOT,
    DIRECT_MESSAGES,
    HOUR,
    MINUTE,
    WEB_FLOW,
    WEEK,
    Member,
    Shas,
    WorkClock,
    iso,
    lognormal,
)
from fakes.gen_failures import Failures
from fakes.gen_pulls import describe, review_flow
from fakes.gen_sources import make_source

if TYPE_CHECKING:
    from fakes.generator import OrgSpec, ServiceSpec

Event = Callable[[int, Any], None]


ID_BLOCK = 1_000_000  # ids per service


@dataclass(slots=True)
class ServiceCtx:
    spec: OrgSpec
    service: ServiceSpec
    index: int
    members: list[Member]
    clock: WorkClock
    tempo: float  # multiplies pickup/review/coding spans: < 1 a fast team, > 1 a slow one
    deploy_day_p: float  # chance a working day has a deployment
    activity: float  # this service's share of the org's PR rate (mean 1)
    start: int
    now: int


@dataclass(slots=True)
class _Open:
    pr: dict[str, Any]
    kind: str  # normal | deps | revert | hotfix
    author: Member
    tip: str
    originals: list[tuple[str, dict[str, str | None], int]]  # message, author, authored_at
    merger: Member


class RepoSim:
    def __init__(self, ctx: ServiceCtx) -> None:
        self.ctx = ctx
        self.spec = ctx.spec
        self.org = ctx.spec.org
        self.now = ctx.now
        repo = ctx.service.repository
        self.rng = random.Random(f"{ctx.spec.seed}:{repo}")
        self.sha = Shas(f"{ctx.spec.seed}:{repo}")
        # a million ids per service keeps every id a GraphQL Int (32-bit) up to 2,146 services
        # (10 million each overflowed from the 214th service on)
        self._ids = itertools.count((ctx.index + 1) * ID_BLOCK + 1)
        self.commits: list[dict[str, Any]] = []
        self.pulls: list[dict[str, Any]] = []
        self.issues: list[dict[str, Any]] = []
        self.main: list[str] = []  # first-parent chain of the default branch
        self.head = ""
        self.head_t = 0
        self.created_at = 0
        self.number = self.rng.randint(1, 300)
        self.deployed: list[tuple[str, int, int]] = []  # (sha, index in main, deployed_at)
        self.shipped_index = -1  # the newest main commit any deployment has shipped
        self._heap: list[tuple[int, int, Event, Any]] = []
        self._seq = 0
        self._open: list[_Open] = []
        weights = self.spec.merge_strategies
        self._strategies = list(weights)
        self._strategy_cum = list(itertools.accumulate(weights.values()))
        self._author_cum = list(
            itertools.accumulate(self.rng.uniform(0.3, 2.0) for _ in ctx.members)
        )
        self.source = make_source(self)
        self.failures = Failures(self)

    # --- plumbing -------------------------------------------------------------------------
    def next_id(self) -> int:
        return next(self._ids)

    def next_number(self) -> int:
        self.number += 1
        return self.number - 1

    def at(self, t: int, fn: Event, arg: Any = None) -> None:
        if t < self.now:
            heapq.heappush(self._heap, (t, self._seq, fn, arg))
            self._seq += 1

    def commit(
        self,
        parents: list[str],
        message: str,
        author: dict[str, str | None],
        authored: int,
        committed: int,
        committer: dict[str, str | None] | None = None,
    ) -> str:
        sha = self.sha()
        record: dict[str, Any] = {
            "sha": sha,
            "parents": parents,
            "message": message,
            "author": author,
            "authored_at": iso(authored),
            "committed_at": iso(committed),
        }
        if committer is not None:
            record["committer"] = committer
        self.commits.append(record)
        return sha

    def push_main(self, sha: str, t: int) -> None:
        self.main.append(sha)
        self.head, self.head_t = sha, t

    def member(self) -> Member:
        return self.rng.choices(self.ctx.members, cum_weights=self._author_cum)[0]

    # --- the run --------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        self._initial_history()
        self._schedule_work()
        self.source.schedule()
        self.failures.schedule_noise()
        heap = self._heap
        while heap:
            t, _, fn, arg = heapq.heappop(heap)
            fn(t, arg)
        return self._repository()

    def _initial_history(self) -> None:
        rng = self.rng
        start = self.ctx.start
        self.created_at = start - rng.randint(30 * DAY, 400 * DAY)
        count = rng.randint(3, 12)
        times = sorted(rng.randint(self.created_at, start - DAY) for _ in range(count - 1))
        times.insert(0, self.created_at)
        parents: list[str] = []
        for i, t in enumerate(times):
            msg = "Initial commit" if i == 0 else rng.choice(DIRECT_MESSAGES + COMMIT_MESSAGES)
            sha = self.commit(parents, msg, self.member().person, t, t)
            self.push_main(sha, t)
            parents = [sha]

    def _schedule_work(self) -> None:
        ctx, rng, spec = self.ctx, self.rng, self.spec
        days = ctx.clock.working_days(ctx.start, ctx.now)
        weeks = (ctx.now - ctx.start) / WEEK
        expected = spec.prs_per_service_per_week * weeks * ctx.activity
        n_prs = max(0, round(rng.gauss(expected, math.sqrt(expected)))) if expected > 0 else 0
        n_direct = round(n_prs * spec.direct_commit_rate)
        during, choice = ctx.clock.during, rng.choice
        for _ in range(n_prs):
            self.at(during(choice(days)), self.open_pr)
        for _ in range(n_direct):
            self.at(during(choice(days), 7.0, 21.0), self._direct)

    def _direct(self, t: int, _: Any) -> None:
        t = max(t, self.head_t)
        sha = self.commit([self.head], self.rng.choice(DIRECT_MESSAGES), self.member().person, t, t)
        self.push_main(sha, t)
        self.source.landed(t, sha, None)

    # --- pull requests --------------------------------------------------------------------
    def open_pr(self, t: int, arg: Any) -> None:
        """arg: None (a feature/bug PR), ("revert", pr, sha) or ("hotfix", incident number)."""
        rng, r = self.rng, self.rng.random
        kind = arg[0] if arg else "normal"
        author = self.member()
        if kind == "normal" and r() < 0.04:
            kind, author = "deps", DEPENDABOT
        number = self.next_number()
        title, head, labels, body, first_msg = describe(self, kind, arg)
        fast = kind in ("revert", "hotfix")
        draft = kind == "normal" and r() < 0.05
        reviews, comments, merged_at, closed_at, fixes, merger = review_flow(
            self, t, author, fast, draft
        )
        # authored times: coding before the PR opened (log-normal), fixes after review
        if kind == "normal":
            n = rng.choice((1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6))
            first = t - lognormal(rng, 20 * HOUR * self.ctx.tempo, 1.1) - 60
            if r() < 0.08:  # amended/force-pushed after opening: authored after it
                first = t + rng.randint(MINUTE, 3 * HOUR)
                if merged_at is not None:
                    first = min(first, merged_at - 1)
        else:
            n = 2 if kind == "hotfix" and r() < 0.3 else 1
            first = t - rng.randint(2 * MINUTE, 40 * MINUTE)
        n_fix = min(n - 1, rng.randint(1, 2)) if fixes else 0
        before = n - n_fix
        times = [first, *sorted(rng.randint(first, max(first, t)) for _ in range(before - 1))]
        if fixes:
            times += sorted(rng.randint(fixes[0], fixes[1]) for _ in range(n_fix))
        now = self.now
        if times[0] >= now:
            times[0] = t
        originals: list[tuple[str, dict[str, str | None], int]] = []
        shas: list[str] = []
        prev, prev_t = self.head, self.head_t  # the branch starts at main's head now
        for i, a in enumerate(times):
            if a >= now:
                break
            msg = first_msg if i == 0 else rng.choice(COMMIT_MESSAGES)
            committed = max(a, prev_t)  # rebased onto main before opening: committer date moves
            prev = self.commit([prev], msg, author.person, a, committed)
            prev_t = committed
            shas.append(prev)
            originals.append((msg, author.person, a))
        activity = [t, prev_t, *(x["_t"] for x in reviews), *(x["_t"] for x in comments)]
        for x in reviews:
            del x["_t"]
        for x in comments:
            del x["_t"]
        done = merged_at if merged_at is not None else closed_at
        if done is not None:
            activity.append(done)
        pr: dict[str, Any] = {
            "number": number,
            "title": title,
            "body": body,
            "author": author.login,
            "base": "main",
            "head": head,
            "draft": draft and merged_at is None,
            "labels": labels,
            "created_at": iso(t),
            "updated_at": iso(max(activity)),
            "closed_at": iso(done) if done is not None else None,
            "merged_at": iso(merged_at) if merged_at is not None else None,
            "merge_commit_sha": None,
            "commits": shas,
            "reviews": reviews,
            "comments": comments,
        }
        self.pulls.append(pr)
        state = _Open(pr, kind, author, prev, originals, merger)
        self.source.pr_opened(t, pr, prev)
        if merged_at is not None:
            self.at(merged_at, self._merge, state)
        elif done is None:
            self._open.append(state)

    def _merge(self, t: int, state: _Open) -> None:
        pr, rng = state.pr, self.rng
        t = max(t, self.head_t)
        strategy = "squash"
        if state.kind not in ("deps", "revert"):
            strategy = rng.choices(self._strategies, cum_weights=self._strategy_cum)[0]
        title, number = pr["title"], pr["number"]
        if strategy == "squash":  # one new commit on main; the PR's commits stay off it
            if len(state.originals) == 1:
                first, _, rest = state.originals[0][0].partition("\n")
                message = f"{first} (#{number})" + (f"\n{rest}" if rest else "")
            else:
                message = f"{title} (#{number})"
            sha = self.commit([self.head], message, state.author.person, t, t, WEB_FLOW)
            self.push_main(sha, t)
        elif strategy == "merge":  # a merge commit with the PR's tip as second parent
            message = f"Merge pull request #{number} from {self.org}/{pr['head']}\n\n{title}"
            sha = self.commit([self.head, state.tip], message, state.merger.person, t, t, WEB_FLOW)
            self.push_main(sha, t)
        else:  # rebase: the PR's commits replayed as new shas, authored dates kept
            sha = self.head
            for message, person, authored in state.originals:
                sha = self.commit([self.head], message, person, authored, t, WEB_FLOW)
                self.push_main(sha, t)
        pr["merge_commit_sha"] = sha
        if state.kind == "normal" and rng.random() < self.spec.revert_rate:
            delay = max(2 * HOUR, lognormal(rng, 20 * HOUR, 0.8))
            self.at(t + delay, self.open_pr, ("revert", pr, sha))
        self.source.landed(t, sha, pr)
        if state.kind == "hotfix":
            self.source.hotfix_merged(t)

    # --- output ---------------------------------------------------------------------------
    def _repository(self) -> dict[str, Any]:
        branches = {"main": self.head}
        for state in self._open:
            if state.pr["commits"]:
                branches.setdefault(state.pr["head"], state.tip)
        self.failures.finish()
        self.source.finish()
        return {
            "full_name": self.ctx.service.repository,
            "default_branch": "main",
            "created_at": iso(self.created_at),
            "branches": branches,
            "commits": self.commits,
            "pull_requests": self.pulls,
            "releases": self.source.releases,
            "deployments": self.source.deployments,
            "workflow_runs": self.source.workflow_runs,
            "issues": self.issues,
        }
