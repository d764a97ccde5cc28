"""One repository's activity in a time window, written straight into scenario records.

The scale generator (fakes/scale.py) sizes every repository up front (pull requests, commits,
deployments) and builds it here in one ordered pass over its events: a pull request branches
off `main`'s head at the moment it opens, its merge lands on `main` when it merges, and a
deployment ships `main`'s head at its moment. The same builder resumes an existing repository
to append a later window (the "1% new activity" of an incremental refresh), touching nothing
that is already there except what GitHub/Heroku themselves move (the branch head, Heroku's
`current` release). What each deployment source records lives in fakes/scale_sources.py.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fakes.gen_common import (
    COMMIT_MESSAGES,
    DAY,
    DIRECT_MESSAGES,
    HOUR,
    MINUTE,
    OBJECTS,
    VERBS,
    WEB_FLOW,
    Member,
    Shas,
    WorkClock,
    lognormal,
)
from fakes.scale_sources import SourceRecords, Window, iso, parse_ts

if TYPE_CHECKING:
    from fakes.generator import ServiceSpec

STRATEGIES = ("squash", "merge", "rebase")
STRATEGY_CUM = (0.6, 0.85, 1.0)
MERGED_SHARE = 0.9  # about this share of pull requests merge; used to size branch commits
_OPEN, _MERGE, _DIRECT, _DEPLOY = 1, 2, 0, 3  # event kinds; ties run in this order


@dataclass(slots=True)
class PullPlan:
    """What one pull request will be, decided before the pass so its commits can be counted."""

    created: int
    merged: int | None
    closed: int | None  # closed without merging
    commits: int  # commits on its branch
    strategy: str
    revert_of: int | None = None  # index of the earlier plan it reverts

    @property
    def main_commits(self) -> int:
        """Commits its merge adds to main."""
        if self.merged is None:
            return 0
        return self.commits if self.strategy == "rebase" else 1


class RepoBuilder(SourceRecords):
    """Appends records to `repo` (a scenario repository dict) for one window."""

    def __init__(
        self,
        repo: dict[str, Any],
        service: ServiceSpec,
        *,
        members: list[Member],
        tempo: float,
        clock: WorkClock,
        rng: random.Random,
        scope: str,
        ids: Iterator[int],
        heroku_app: dict[str, Any] | None,
        incident_rate: float,
    ) -> None:
        self.repo = repo
        self.service = service
        self.org = service.repository.split("/", 1)[0]
        self.members = members
        self.tempo = tempo
        self.clock = clock
        self.rng = rng
        self.sha = Shas(scope)
        self._ids = ids  # shared by the organisation's repositories: ids unique org-wide
        self.heroku_app = heroku_app
        self.incident_rate = incident_rate
        self.head = repo["branches"].get(repo["default_branch"], "")
        self.head_t = 0
        numbers = [p["number"] for p in repo["pull_requests"]]
        numbers += [i["number"] for i in repo["issues"]]
        self.number = max(numbers, default=rng.randint(1, 300)) + 1
        self.run_number = max((r.get("run_number") or 0 for r in repo["workflow_runs"]),
                              default=0) + 1
        if self.head:
            for c in reversed(repo["commits"]):
                if c["sha"] == self.head:
                    self.head_t = parse_ts(c["committed_at"])
                    break

    # --- records ----------------------------------------------------------------------------
    def next_id(self) -> int:
        return next(self._ids)

    def next_number(self) -> int:
        self.number += 1
        return self.number - 1

    def commit(self, parents: list[str], message: str, author: dict[str, str | None],
               authored: int, committed: int,
               committer: dict[str, str | None] | None = None) -> str:
        sha = self.sha()
        record: dict[str, Any] = {
            "sha": sha, "parents": parents, "message": message, "author": author,
            "authored_at": iso(authored), "committed_at": iso(committed),
        }
        if committer is not None:
            record["committer"] = committer
        self.repo["commits"].append(record)
        return sha

    def push_main(self, sha: str, t: int) -> None:
        self.head, self.head_t = sha, t
        self.repo["branches"][self.repo["default_branch"]] = sha

    def member(self) -> Member:
        return self.members[int(self.rng.random() * len(self.members))]

    def initial_history(self, created_at: int, before: int) -> int:
        """A new repository's first commits on main, before the generated window."""
        rng = self.rng
        count = rng.randint(3, 12)
        times = sorted(rng.randint(created_at, before - DAY) for _ in range(count - 1))
        parents: list[str] = []
        for i, t in enumerate([created_at, *times]):
            msg = "Initial commit" if i == 0 else rng.choice(DIRECT_MESSAGES)
            sha = self.commit(parents, msg, self.member().person, t, t)
            self.push_main(sha, t)
            parents = [sha]
        return count

    # --- planning ---------------------------------------------------------------------------
    def times_in(self, window: Window, n: int, earliest: float, latest: float) -> list[int]:
        """`n` moments in working hours of the window (anywhere in it when it has no working
        day, e.g. a weekend-only increment)."""
        rng = self.rng
        days = self.clock.working_days(window.start, window.end)
        out = []
        for _ in range(n):
            t = self.clock.during(rng.choice(days), earliest, latest) if days else -1
            if not window.start <= t < window.end:
                t = rng.randint(window.start, window.end - 1)
            out.append(t)
        return out

    def plan_pulls(self, n: int, window: Window, branch_mean: float,
                   revert_rate: float) -> list[PullPlan]:
        rng, r, tempo = self.rng, self.rng.random, self.tempo
        spread = 2 * max(branch_mean - 1.0, 0.0)
        plans: list[PullPlan] = []
        for created in sorted(self.times_in(window, n, 9.0, 18.0)):
            x = r() * spread  # 1 + a draw whose mean is branch_mean - 1 (stochastic rounding)
            commits = 1 + int(x) + (1 if r() < x - int(x) else 0)
            lead = lognormal(rng, 20 * HOUR * tempo, 1.0) + 5 * MINUTE
            done = self.clock.snap(created + lead)
            merged: int | None = done
            closed: int | None = None
            if r() < 0.05:
                merged, closed = None, done
            if done >= window.end:
                merged = closed = None  # still open at `now`
            y = r()
            strategy = STRATEGIES[0 if y < STRATEGY_CUM[0] else 1 if y < STRATEGY_CUM[1] else 2]
            plan = PullPlan(created, merged, closed, commits, strategy)
            if r() < revert_rate:  # reverts a recent merge (its title and sha are known then)
                for j in range(len(plans) - 1, max(len(plans) - 40, 0) - 1, -1):
                    other = plans[j]
                    if (other.merged is not None and other.merged < created
                            and other.revert_of is None):
                        plan.revert_of, plan.commits, plan.strategy = j, 1, "squash"
                        break
            plans.append(plan)
        return plans

    @staticmethod
    def planned_commits(plans: list[PullPlan]) -> int:
        return sum(p.commits + p.main_commits for p in plans)

    @staticmethod
    def trim(plans: list[PullPlan], excess: int) -> int:
        """Drop branch commits (never below one a PR) until `excess` commits are gone; returns
        what could not be dropped."""
        for p in reversed(plans):
            step = 2 if p.merged is not None and p.strategy == "rebase" else 1
            while excess >= step and p.commits > 1:
                p.commits -= 1
                excess -= step
        return excess

    # --- the pass ---------------------------------------------------------------------------
    def build(self, plans: list[PullPlan], window: Window, *, direct: int,
              deployments: int) -> None:
        events: list[tuple[int, int, int]] = []
        for i, p in enumerate(plans):
            events.append((p.created, _OPEN, i))
            if p.merged is not None:
                events.append((p.merged, _MERGE, i))
        events += [(t, _DIRECT, -1) for t in self.times_in(window, direct, 7.0, 21.0)]
        if self.service.deployment_source != "merged_pull_requests":
            late = Window(window.start, max(window.start + 1, window.end - HOUR))
            events += [(t, _DEPLOY, -1) for t in self.times_in(late, deployments, 9.5, 17.0)]
        events.sort()
        state: list[dict[str, Any]] = [{} for _ in plans]
        for t, kind, i in events:
            if kind == _OPEN:
                state[i] = self._open(plans[i], plans, state, window)
            elif kind == _MERGE:
                self._merge(t, state[i])
            elif kind == _DIRECT:
                t = max(t, self.head_t)
                sha = self.commit([self.head], self.rng.choice(DIRECT_MESSAGES),
                                  self.member().person, t, t)
                self.push_main(sha, t)
            else:
                self.deploy(max(t, self.head_t), window)
        for s in state:  # branches of pull requests still open at `now`
            if s["pr"]["closed_at"] is None:
                self.repo["branches"].setdefault(s["pr"]["head"], s["tip"])

    def _open(self, plan: PullPlan, plans: list[PullPlan], state: list[dict[str, Any]],
              window: Window) -> dict[str, Any]:
        rng, r = self.rng, self.rng.random
        author = self.member()
        number = self.next_number()
        if plan.revert_of is not None:
            target = state[plan.revert_of]["pr"]
            title = f'Revert "{target["title"]}"'
            body = f"This reverts commit {target['merge_commit_sha']}."
            head, labels = f"revert-{target['number']}-{number}", []
            first_msg = f"{title}\n\n{body}"
        else:
            bug = r() < 0.3
            title = f"{'Fix' if bug else rng.choice(VERBS)} {rng.choice(OBJECTS)}"
            body, first_msg = "", title
            head = f"{'fix' if bug else 'feature'}/{number}"
            labels = ["bug"] if bug else ["feature"] if r() < 0.6 else []
        end = plan.merged or plan.closed or window.end
        # branch commits: coding before the PR opened, the last ones possibly after
        first = max(window.start, plan.created - lognormal(rng, 12 * HOUR * self.tempo, 1.0))
        times = sorted(rng.randint(first, max(first, min(end, window.end) - 2))
                       for _ in range(plan.commits - 1))
        prev, prev_t = self.head, self.head_t
        shas: list[str] = []
        originals: list[tuple[str, dict[str, str | None], int]] = []
        for k, authored in enumerate([first, *times]):
            msg = first_msg if k == 0 else rng.choice(COMMIT_MESSAGES)
            committed = max(authored, prev_t)
            prev = self.commit([prev], msg, author.person, authored, committed)
            prev_t = committed
            shas.append(prev)
            originals.append((msg, author.person, authored))
        reviews, comments, last = self._reviews(plan, author, end, window)
        done = plan.merged if plan.merged is not None else plan.closed
        pr: dict[str, Any] = {
            "number": number, "title": title, "body": body, "author": author.login,
            "base": self.repo["default_branch"], "head": head,
            "draft": done is None and r() < 0.1, "labels": labels,
            "created_at": iso(plan.created),
            "updated_at": iso(max(plan.created, prev_t, last, done or 0)),
            "closed_at": iso(done) if done is not None else None,
            "merged_at": iso(plan.merged) if plan.merged is not None else None,
            "merge_commit_sha": None, "commits": shas, "reviews": reviews,
            "comments": comments,
        }
        self.repo["pull_requests"].append(pr)
        return {"pr": pr, "tip": prev, "author": author, "originals": originals,
                "strategy": plan.strategy}

    def _reviews(self, plan: PullPlan, author: Member, end: int,
                 window: Window) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
        rng, r = self.rng, self.rng.random
        others = [m for m in self.members if m is not author] or self.members
        reviews: list[dict[str, Any]] = []
        comments: list[dict[str, Any]] = []
        last = plan.created
        limit = min(end, window.end) - 1
        pick = plan.created + lognormal(rng, 3 * HOUR * self.tempo, 1.2) + MINUTE
        if pick < limit and r() < 0.9:
            states = ["APPROVED"] if r() < 0.6 else ["CHANGES_REQUESTED", "APPROVED"]
            if r() < 0.15:
                states.insert(0, "COMMENTED")
            step = max((limit - pick) // len(states), 1)
            for k, review_state in enumerate(states):
                if plan.merged is None and review_state == "APPROVED" and r() < 0.5:
                    continue
                when = min(pick + k * step, limit)
                reviews.append({"id": self.next_id(), "author": others[int(r() * len(others))]
                                .login, "state": review_state, "submitted_at": iso(when)})
                last = max(last, when)
        for _ in range(2 if r() < 0.15 else 1 if r() < 0.45 else 0):
            when = rng.randint(plan.created + MINUTE, max(plan.created + MINUTE, limit))
            if when < window.end:
                comments.append({"id": self.next_id(), "author": others[int(r() * len(others))]
                                 .login, "created_at": iso(when)})
                last = max(last, when)
        return reviews, comments, last

    def _merge(self, t: int, s: dict[str, Any]) -> None:
        pr, author = s["pr"], s["author"]
        t = max(t, self.head_t)
        title, number = pr["title"], pr["number"]
        if s["strategy"] == "squash":
            sha = self.commit([self.head], f"{title} (#{number})", author.person, t, t, WEB_FLOW)
            self.push_main(sha, t)
        elif s["strategy"] == "merge":
            msg = f"Merge pull request #{number} from {self.org}/{pr['head']}\n\n{title}"
            sha = self.commit([self.head, s["tip"]], msg, author.person, t, t, WEB_FLOW)
            self.push_main(sha, t)
        else:  # rebase: the branch's commits replayed onto main, authored dates kept
            sha = self.head
            for message, person, authored in s["originals"]:
                sha = self.commit([self.head], message, person, authored, t, WEB_FLOW)
                self.push_main(sha, t)
        pr["merge_commit_sha"] = sha


def branch_mean(commits: int, prs: int, fixed: int, direct_share: float) -> float:
    """Mean branch commits per PR so that `prs` pull requests, ~`direct_share` direct pushes
    per PR and `fixed` other commits add up to `commits` (solving commits = fixed + prs ×
    (mean + merged × (0.85 + 0.15 × mean)) + direct for the mean; squash and merge add one
    commit to main, rebase replays the branch)."""
    if prs <= 0:
        return 1.0
    per_pr = (commits - fixed) / prs - direct_share
    squash_merge = STRATEGY_CUM[1]
    mean = (per_pr - MERGED_SHARE * squash_merge) / (1 + MERGED_SHARE * (1 - squash_merge))
    return max(1.0, min(mean, 20.0)) if math.isfinite(mean) else 1.0
