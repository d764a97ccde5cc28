"""How a pull request reads and unfolds: its title and branch, then pickup, review and merge.

Spans are log-normal and scaled by the team's tempo; a human's wait ends in working hours. The
author sometimes comments on their own PR first, which must never count as its pickup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from fakes.gen_common import (
    DAY,
    DEPENDENCIES,
    HOUR,
    MINUTE,
    OBJECTS,
    VERBS,
    Member,
    iso,
    lognormal,
    slug,
)

if TYPE_CHECKING:
    from fakes.gen_repo import RepoSim


class Flow(NamedTuple):
    reviews: list[dict[str, Any]]
    comments: list[dict[str, Any]]  # items carry "_t" (epoch) until the PR is assembled
    merged_at: int | None
    closed_at: int | None  # closed without merging
    fixes: tuple[int, int] | None  # when commits answering "changes requested" are authored
    merger: Member


def describe(sim: RepoSim, kind: str, arg: Any) -> tuple[str, str, list[str], str, str]:
    """Title, head branch, labels, body and first commit message of a new pull request."""
    rng = sim.rng
    if kind == "revert":
        target, sha = arg[1], arg[2]
        title = f'Revert "{target["title"]}"'
        body = f"This reverts commit {sha}."
        head = f"revert-{target['number']}-{target['head']}"
        return title, head, [], body, f"{title}\n\n{body}"
    if kind == "hotfix":
        bug = rng.choice(sim.failures.bugs)
        title = f"Hotfix: {bug}"
        body = f"Fixes #{arg[1]}" if arg[1] is not None else ""
        x = rng.random()  # mostly both signals; sometimes only the branch or only the label
        head = f"fix/{slug(bug)}" if x < 0.15 else f"hotfix/{slug(bug)}"
        labels = [] if 0.15 <= x < 0.3 else ["hotfix"]
        return title, head, labels, body, title
    if kind == "deps":
        dep = rng.choice(DEPENDENCIES)
        minor = rng.randint(1, 30)
        title = f"Bump {dep} from 2.{minor}.0 to 2.{minor + 1}.0"
        head = f"dependabot/pip/{dep}-2.{minor + 1}.0"
        return title, head, ["dependencies"], "Bumps the dependency.", title
    if rng.random() < 0.3:
        bug = rng.choice(sim.failures.bugs)
        title = f"Fix {bug}"
        return title, f"fix/{slug(bug)}", ["bug"], "", title
    title = f"{rng.choice(VERBS)} {rng.choice(OBJECTS)}"
    labels = ["feature"] if rng.random() < 0.6 else []
    return title, f"feature/{slug(title)}", labels, "", title


def review_flow(sim: RepoSim, t: int, author: Member, fast: bool, draft: bool) -> Flow:
    """Who reviews and comments when, and how the pull request ends (a fast one: revert,
    hotfix)."""
    rng, r, snap = sim.rng, sim.rng.random, sim.ctx.clock.snap
    tempo, now = sim.ctx.tempo, sim.now
    reviews: list[dict[str, Any]] = []
    comments: list[dict[str, Any]] = []

    def comment(who: Member, when: int) -> None:
        if when < now:
            comments.append(
                {"id": sim.next_id(), "author": who.login, "created_at": iso(when), "_t": when}
            )

    def review(who: Member, state: str, when: int) -> None:
        if when < now:
            reviews.append(
                {
                    "id": sim.next_id(),
                    "author": who.login,
                    "state": state,
                    "submitted_at": iso(when),
                    "_t": when,
                }
            )

    others = [m for m in sim.ctx.members if m is not author]
    if r() < 0.2:  # the author's own note: never a pickup
        comment(author, t + rng.randint(MINUTE, 30 * MINUTE))
    if fast:
        pick = t + rng.randint(5 * MINUTE, 90 * MINUTE)
    else:
        wait = lognormal(rng, 3 * HOUR * tempo, 1.2) + (DAY if draft else 0)
        pick = snap(t + wait)
    fixes: tuple[int, int] | None = None
    merger = author
    if not others or (not fast and r() < 0.07):  # merged without review
        approved = pick
    else:
        first = rng.choice(others)
        x = 1.0 if fast else r()
        if x >= 0.6:
            review(first, "APPROVED", pick)
            approved = pick
        else:
            if x < 0.25:
                comment(first, pick)
            else:
                review(first, "CHANGES_REQUESTED" if x < 0.45 else "COMMENTED", pick)
            approved = snap(pick + lognormal(rng, 4 * HOUR * tempo, 1.0))
            if 0.25 <= x < 0.45:
                fixes = (pick + MINUTE, approved - MINUTE)
            approver = rng.choice(others)
            review(approver, "APPROVED", approved)
            if r() < 0.2:
                merger = approver
        if len(others) > 1 and r() < 0.25:
            second = rng.choice(others)
            comment(second, pick + rng.randint(MINUTE, max(MINUTE, approved - pick + HOUR)))
    merge_wait = rng.randint(MINUTE, 20 * MINUTE) if fast else lognormal(rng, 40 * MINUTE, 1.0)
    merged_at: int | None = approved + merge_wait if fast else snap(approved + merge_wait)
    closed_at: int | None = None
    if not fast:
        x = r()
        if x < 0.06:  # closed without merging
            merged_at, closed_at = None, snap(pick + lognormal(rng, 2 * DAY, 1.0))
        elif x < 0.08:  # abandoned: still open at `now`
            merged_at = None
    if merged_at is not None and merged_at >= now:
        merged_at = None
    if closed_at is not None and closed_at >= now:
        closed_at = None
    return Flow(reviews, comments, merged_at, closed_at, fixes, merger)
