"""Deployment records for the scale generator, one source at a time, and its time helpers.

`SourceRecords` is the part of `fakes.scale_repo.RepoBuilder` that writes what a service's
deployment source holds when `main`'s head ships: a GitHub deployment with its statuses, a
deploy workflow run, a release, or a Heroku release (with the noise around them: staging
deployments, failed attempts), and sometimes an incident issue naming the deployed sha.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fakes.gen_common import DAY, HOUR, MINUTE, Member, digest, lognormal, uuid_from

if TYPE_CHECKING:
    from fakes.generator import ServiceSpec

DEPLOY_WORKFLOW = ".github/workflows/deploy.yml"


_DAYS: dict[int, str] = {}
_CLOCK: list[str] = []  # "HH:MM:SS" of every second of a day, built on first use


def iso(t: int) -> str:
    """Epoch seconds → `YYYY-MM-DDTHH:MM:SSZ`, as gen_common.iso, by table look-ups: the
    scale generator formats about four million timestamps."""
    if not _CLOCK:
        _CLOCK.extend(f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60)
                      for s in range(60))
    d, s = divmod(t, DAY)
    day = _DAYS.get(d)
    if day is None:
        day = _DAYS[d] = time.strftime("%Y-%m-%d", time.gmtime(d * DAY))
    return f"{day}T{_CLOCK[s]}Z"


def parse_ts(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


@dataclass(frozen=True, slots=True)
class Window:
    start: int  # every new fact is at or after this
    end: int  # ... and before this (the scenario's `now`)


class SourceRecords:
    """Mixed into RepoBuilder, which provides the state and the id/number/member draws."""

    repo: dict[str, Any]
    service: ServiceSpec
    rng: random.Random
    heroku_app: dict[str, Any] | None
    incident_rate: float
    run_number: int
    head: str

    def next_id(self) -> int:
        raise NotImplementedError

    def next_number(self) -> int:
        raise NotImplementedError

    def member(self) -> Member:
        raise NotImplementedError

    def deploy(self, t: int, window: Window) -> None:
        """One successful production deployment of main's head at `t`, as the service's
        source records it (with the noise around it: staging, failed attempts)."""
        source, sha, rng = self.service.deployment_source, self.head, self.rng
        end = window.end - 1
        if source == "github_deployments":
            if rng.random() < 0.3:
                self._gh_deployment(max(window.start, t - rng.randint(10, 40) * MINUTE), sha,
                                    "staging", "success", end)
            if rng.random() < 0.04:
                self._gh_deployment(max(window.start, t - rng.randint(15, 40) * MINUTE), sha,
                                    "production", "failure", end)
            done = self._gh_deployment(t, sha, "production", "success", end)
        elif source == "workflow_runs":
            if rng.random() < 0.05:
                self._run(max(window.start, t - rng.randint(15, 40) * MINUTE), sha, "failure",
                          end)
            done = self._run(t, sha, "success", end)
        elif source == "releases":
            n = len(self.repo["releases"]) + 1
            done = min(t + rng.randint(1, 10) * MINUTE, end)
            tag = f"v1.{n}.0"
            self.repo["releases"].append({
                "id": self.next_id(), "tag_name": tag, "name": tag, "target_sha": sha,
                "draft": False, "prerelease": False, "created_at": iso(t),
                "published_at": iso(done),
            })
        else:  # heroku_releases
            if rng.random() < 0.03:
                self._heroku(max(window.start, t - rng.randint(10, 30) * MINUTE), sha,
                             "failed", end)
            done = self._heroku(t, sha, "succeeded", end)
        if rng.random() < self.incident_rate:
            self._incident(done, sha, window)

    def _gh_deployment(self, t: int, sha: str, environment: str, final: str, end: int) -> int:
        rng = self.rng
        done = min(t + rng.randint(3, 10) * MINUTE, end)
        steps = (("queued", t + 1), ("in_progress", t + rng.randint(20, 90)), (final, done))
        self.repo["deployments"].append({
            "id": self.next_id(), "sha": sha, "ref": "main", "environment": environment,
            "creator": "deploy-bot", "created_at": iso(t),
            "statuses": [{"id": self.next_id(), "state": state, "created_at": iso(min(w, end))}
                         for state, w in steps],
        })
        return done

    def _run(self, t: int, sha: str, conclusion: str, end: int) -> int:
        rng = self.rng
        started = min(t + rng.randint(3, 40), end)
        done = min(started + rng.randint(3, 10) * MINUTE, end)
        self.repo["workflow_runs"].append({
            "id": self.next_id(), "workflow_path": DEPLOY_WORKFLOW, "name": "Deploy",
            "head_sha": sha, "head_branch": "main", "event": "workflow_dispatch",
            "run_attempt": 1, "run_number": self.run_number, "status": "completed",
            "conclusion": conclusion, "created_at": iso(t), "run_started_at": iso(started),
            "updated_at": iso(done),
        })
        self.run_number += 1
        return done

    def _heroku(self, t: int, sha: str, status: str, end: int) -> int:
        app = self.heroku_app
        assert app is not None, "a heroku_releases service has its app"
        releases = app["releases"]
        version = len(releases) + 1
        if status == "succeeded":
            for old in reversed(releases):  # Heroku moves `current` to the newest good release
                if old["current"]:
                    old["current"] = False
                    break
        done = min(t + self.rng.randint(20, 120), end)
        releases.append({
            "id": uuid_from(digest(app["name"], version)), "version": version,
            "status": status, "current": status == "succeeded",
            "description": f"Deploy {sha[:8]}", "commit": sha,
            "user": self.member().person["email"], "created_at": iso(t),
            "updated_at": iso(done),
        })
        return t

    def _incident(self, deployed: int, cause: str, window: Window) -> None:
        rng = self.rng
        created = deployed + rng.randint(10, 120) * MINUTE
        duration = max(5 * MINUTE, min(5 * DAY, lognormal(rng, 2 * HOUR, 1.3)))
        if created >= window.end:
            return
        closed = created + duration
        done = closed < window.end
        severity = rng.choices(("sev1", "sev2", "sev3"), (1, 3, 6))[0]
        self.repo["issues"].append({
            "number": self.next_number(),
            "title": f"Elevated errors on {self.service.name}",
            "body": f"Error rate rose right after the deploy.\n\nCaused by {cause}.",
            "author": self.member().login,
            "labels": ["incident", severity, f"service:{self.service.name}"],
            "state": "closed" if done else "open", "created_at": iso(created),
            "updated_at": iso(closed if done else created),
            "closed_at": iso(closed) if done else None,
        })
