"""Failures and their noise: incidents (GitHub issues, PagerDuty), rollbacks, hotfixes, issues.

Rates are per production deployment (incident, rollback, hotfix) or per merged PR (revert, in
gen_repo). An incident is remediated by a rollback or a hotfix more often than a quiet deploy
is, while the overall rollback and hotfix rates stay what the spec asks.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from fakes.gen_common import (
    BUGS,
    DAY,
    HOUR,
    INCIDENT_TITLES,
    MINUTE,
    NOISE_ISSUES,
    NOISE_LABELS,
    PD_NOISE,
    WEEK,
    iso,
    lognormal,
)

if TYPE_CHECKING:
    from fakes.gen_repo import RepoSim

_NAMED = (
    "Error rate spiked right after the deploy.\n\nCaused by {ref}.",
    "Suspected cause: {ref}",
    "Rolled out {ref}; errors started a few minutes later. Rolling back if it does not settle.",
)
_UNNAMED = (
    "Customers report failures. Investigating.",
    "Alerts firing on the dashboard; cause unknown yet.",
)


def _split(rate: float, incident_rate: float, on_incident: float) -> tuple[float, float]:
    """(P(x | incident), P(x | no incident)) so that P(x) per deployment stays `rate`."""
    if incident_rate <= 0:
        return 0.0, rate
    given = min(on_incident, rate / incident_rate)
    if incident_rate >= 1:
        return given, 0.0
    return given, max(0.0, (rate - incident_rate * given) / (1 - incident_rate))


class Failures:
    def __init__(self, sim: RepoSim) -> None:
        self.sim = sim
        spec = sim.spec
        self.bugs = BUGS
        self.pd: list[tuple[int, dict[str, Any]]] = []
        self._named: list[tuple[dict[str, Any], str, int, str]] = []
        self._counts: Counter[str] | None = None
        self._rollback = _split(spec.rollback_rate, spec.incident_rate, 0.3)
        self._hotfix = _split(spec.hotfix_rate, spec.incident_rate, 0.5)

    # --- deployments ----------------------------------------------------------------------
    def deployed(self, at: int, sha: str, index: int, decide: bool = True) -> None:
        """A successful production deployment of `sha` (main[index]) at `at`."""
        sim = self.sim
        previous = sim.deployed[-1] if sim.deployed else None
        prev_index = previous[1] if previous else -1
        sim.deployed.append((sha, index, at))
        sim.shipped_index = max(sim.shipped_index, index)
        if not decide or index <= prev_index:
            return
        rng, r = sim.rng, sim.rng.random
        rollback_to = None
        if previous is not None and sim.source.supports_rollback:
            rollback_to = (previous[0], previous[1])
        if r() < sim.spec.incident_rate:
            cause = sim.main[rng.randint(prev_index + 1, index)]
            started = at + max(2 * MINUTE, lognormal(rng, 40 * MINUTE, 1.0))
            sim.at(started, self._incident, (cause, rollback_to))
            return
        if rollback_to is not None and r() < self._rollback[1]:
            sim.at(at + rng.randint(15 * MINUTE, 3 * HOUR), sim.source.rollback, rollback_to)
        if r() < self._hotfix[1]:
            sim.at(at + rng.randint(HOUR, 20 * HOUR), sim.open_pr, ("hotfix", None))

    def _incident(self, t: int, arg: tuple[str, tuple[str, int] | None]) -> None:
        cause, rollback_to = arg
        sim, rng = self.sim, self.sim.rng
        service = sim.ctx.service
        number = sim.next_number()
        severity = rng.choices(("sev1", "sev2", "sev3"), (1, 3, 6))[0]
        title = rng.choice(INCIDENT_TITLES).format(svc=service.name)
        duration = min(5 * DAY, max(5 * MINUTE, lognormal(rng, 2 * HOUR, 1.3)))
        issue = self._issue(
            number, title, ["incident", severity, f"service:{service.name}"], t, t + duration
        )
        x = rng.random()
        if x < 0.7:  # names its cause: the full sha, or a 7–12 character prefix
            plen = 40 if x < 0.4 else rng.randint(7, 12)
            self._named.append((issue, cause, plen, rng.choice(_NAMED)))
        else:
            issue["body"] = rng.choice(_UNNAMED)
        if service.pagerduty_service_id:
            self._page(
                title,
                t - rng.randint(MINUTE, 5 * MINUTE),
                t + duration,
                "high" if severity != "sev3" else "low",
            )
        if rng.random() < 0.2:
            closed = t + duration + rng.randint(DAY, 3 * DAY)
            self.sim.at(closed, self._postmortem, (number, title))
        if rollback_to is not None and rng.random() < self._rollback[0]:
            sim.at(t + rng.randint(10 * MINUTE, 90 * MINUTE), sim.source.rollback, rollback_to)
        if rng.random() < self._hotfix[0]:
            sim.at(t + rng.randint(20 * MINUTE, 3 * HOUR), sim.open_pr, ("hotfix", number))

    def _issue(
        self, number: int, title: str, labels: list[str], created: int, closed: int
    ) -> dict[str, Any]:
        now = self.sim.now
        done = closed < now
        issue = {
            "number": number,
            "title": title,
            "body": "",
            "author": self.sim.member().login,
            "labels": labels,
            "state": "closed" if done else "open",
            "created_at": iso(created),
            "updated_at": iso(closed if done else min(created + 10 * MINUTE, now - 1)),
            "closed_at": iso(closed) if done else None,
        }
        self.sim.issues.append(issue)
        return issue

    def _page(self, title: str, created: int, resolved: int, urgency: str) -> None:
        now = self.sim.now
        created = min(created, now - 1)
        acknowledged = created + self.sim.rng.randint(MINUTE, 15 * MINUTE)
        status = (
            "resolved"
            if resolved < now
            else "acknowledged"
            if acknowledged < now
            else ("triggered")
        )
        self.pd.append(
            (
                created,
                {
                    "title": title,
                    "service": self.sim.ctx.service.pagerduty_service_id,
                    "urgency": urgency,
                    "status": status,
                    "created_at": iso(created),
                    "acknowledged_at": iso(acknowledged) if acknowledged < now else None,
                    "resolved_at": iso(resolved) if resolved < now else None,
                },
            )
        )

    # --- noise ----------------------------------------------------------------------------
    def schedule_noise(self) -> None:
        sim, rng = self.sim, self.sim.rng
        ctx = sim.ctx
        days = ctx.clock.working_days(ctx.start, ctx.now)
        weeks = (ctx.now - ctx.start) / WEEK
        for _ in range(round(0.6 * weeks * rng.uniform(0.5, 1.5))):
            sim.at(ctx.clock.during(rng.choice(days)), self._noise_issue)
        if ctx.service.pagerduty_service_id:
            for _ in range(round(0.3 * weeks)):
                t = rng.randint(ctx.start, ctx.now - HOUR)
                sim.at(t, self._pd_noise)

    def _noise_issue(self, t: int, _: Any) -> None:
        rng = self.sim.rng
        closed = t + lognormal(rng, 3 * DAY, 1.2) if rng.random() < 0.6 else self.sim.now
        self._issue(
            self.sim.next_number(),
            rng.choice(NOISE_ISSUES),
            list(rng.choice(NOISE_LABELS)),
            t,
            closed,
        )

    def _postmortem(self, t: int, arg: tuple[int, str]) -> None:
        number, title = arg
        issue = self._issue(
            self.sim.next_number(),
            f"Postmortem: {title}",
            ["postmortem"],
            t,
            t + lognormal(self.sim.rng, 5 * DAY, 0.7),
        )
        issue["body"] = f"Follow-up of #{number}: timeline, root cause and action items."

    def _pd_noise(self, t: int, _: Any) -> None:
        rng = self.sim.rng
        self._page(rng.choice(PD_NOISE), t, t + lognormal(rng, 20 * MINUTE, 1.0), "low")

    # --- the end --------------------------------------------------------------------------
    def prefix_unique(self, sha: str) -> bool:
        """Whether sha[:7] names one commit of the repository (so any longer prefix does)."""
        if self._counts is None:
            self._counts = Counter(c["sha"][:7] for c in self.sim.commits)
        return self._counts[sha[:7]] == 1

    def finish(self) -> None:
        for issue, sha, plen, template in self._named:
            ref = sha if plen == 40 or not self.prefix_unique(sha) else sha[:plen]
            issue["body"] = template.format(ref=ref)
