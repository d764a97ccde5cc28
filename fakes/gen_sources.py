"""Deployment sources: how each kind of service records that it shipped `main`'s head.

Each source schedules its deployments, writes the records its API would hold (with the noise a
real organisation has: staging, failed attempts, re-runs, CI runs, drafts, config releases) and
reports every successful production deployment to `sim.failures.deployed`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fakes.gen_common import CONFIG_VARS, DAY, HOUR, MINUTE, WEEK, digest, iso, uuid_from

if TYPE_CHECKING:
    from fakes.gen_repo import RepoSim


class Source:
    supports_rollback = True

    def __init__(self, sim: RepoSim) -> None:
        self.sim = sim
        self.rng = sim.rng
        self.releases: list[dict[str, Any]] = []
        self.deployments: list[dict[str, Any]] = []
        self.workflow_runs: list[dict[str, Any]] = []
        self.heroku_app: dict[str, Any] | None = None
        self.busy_until = 0  # one deployment at a time, like a CI concurrency group

    # hooks the simulation calls
    def schedule(self) -> None:
        self._daily()

    def landed(self, t: int, sha: str, pr: dict[str, Any] | None) -> None:
        """`sha` became main's head at `t` (a merge, or a push with `pr` None)."""

    def pr_opened(self, t: int, pr: dict[str, Any], tip: str) -> None:
        """A pull request was opened at `t`; its branch tip is `tip`."""

    def hotfix_merged(self, t: int) -> None:
        self.sim.at(t + self.rng.randint(10 * MINUTE, 45 * MINUTE), self.deploy, "hotfix")

    def finish(self) -> None:
        """Last touches once the timeline has run."""

    # shared behaviour
    def _daily(self) -> None:
        """Deployments on working days: a day deploys with the team's chance, once or twice."""
        sim, r = self.sim, self.rng.random
        clock = sim.ctx.clock
        for day in clock.working_days(sim.ctx.start, sim.now):
            if r() < sim.ctx.deploy_day_p:
                for _ in range(2 if r() < 0.4 else 1):
                    sim.at(clock.during(day, 9.5, 17.0), self.deploy, "normal")

    def _queued(self, t: int, fn: Any, arg: Any) -> bool:
        """Whether a deployment is still running at `t`; if so `fn(arg)` runs after it."""
        if t < self.busy_until:
            self.sim.at(self.busy_until + self.rng.randint(MINUTE, 10 * MINUTE), fn, arg)
            return True
        return False

    def deploy(self, t: int, flavor: str) -> None:
        if self._queued(t, self.deploy, flavor):
            return
        sim = self.sim
        sha, index = sim.head, len(sim.main) - 1
        if index <= sim.shipped_index:
            return  # nothing new: redeploying (after a rollback) would read as another rollback
        deployed_at = self.ship(t, sha, flavor)
        if deployed_at is not None:
            sim.failures.deployed(deployed_at, sha, index)

    def rollback(self, t: int, target: tuple[str, int]) -> None:
        if self._queued(t, self.rollback, target):
            return
        sha, index = target
        deployed_at = self.ship(t, sha, "rollback")
        if deployed_at is not None:
            self.sim.failures.deployed(deployed_at, sha, index, decide=False)

    def ship(self, t: int, sha: str, flavor: str) -> int | None:
        """Write the records of one deployment; its deployed_at if it succeeded before now."""
        raise NotImplementedError


class GitHubDeployments(Source):
    def __init__(self, sim: RepoSim) -> None:
        super().__init__(sim)
        self._live: dict[str, Any] | None = None  # the production deployment now serving

    def ship(self, t: int, sha: str, flavor: str) -> int | None:
        rng = self.rng
        if flavor != "rollback" and rng.random() < 0.6:
            self._deployment(t, sha, "staging", "main", True)
            t += rng.randint(15 * MINUTE, 60 * MINUTE)
        ref = sha if flavor == "rollback" else "main"
        for _ in range(3):
            record, ended, ok = self._deployment(t, sha, "production", ref, flavor == "rollback")
            if record is None or ended is None:
                return None
            if ok:
                if flavor == "rollback":
                    record["description"] = f"Rollback to {sha[:7]}"
                    record["creator"] = self.sim.member().login
                if self._live is not None:  # GitHub marks the one it replaces inactive
                    self._live["statuses"].append(
                        {"id": self.sim.next_id(), "state": "inactive", "created_at": iso(ended)}
                    )
                self._live = record
                return ended
            t = ended + rng.randint(10 * MINUTE, 40 * MINUTE)  # retry the failed attempt
        return None

    def _deployment(
        self, t: int, sha: str, environment: str, ref: str, sure: bool
    ) -> tuple[dict[str, Any] | None, int | None, bool]:
        sim, rng = self.sim, self.rng
        now = sim.now
        if t >= now:
            return None, None, False
        x = 0.0 if sure else rng.random()
        final = "success" if x < 0.94 else "failure" if x < 0.98 else "error"
        ended = t + rng.randint(3 * MINUTE, 12 * MINUTE)
        self.busy_until = max(self.busy_until, ended)
        steps = [("queued", t + 1), ("in_progress", t + rng.randint(20, 90)), (final, ended)]
        record = {
            "id": sim.next_id(),
            "sha": sha,
            "ref": ref,
            "environment": environment,
            "creator": "deploy-bot",
            "created_at": iso(t),
            "statuses": [
                {"id": sim.next_id(), "state": state, "created_at": iso(when)}
                for state, when in steps
                if when < now
            ],
        }
        self.deployments.append(record)
        if ended >= now:
            return record, None, False
        return record, ended, final == "success"


class WorkflowRuns(Source):
    PATH = ".github/workflows/deploy.yml"

    def __init__(self, sim: RepoSim) -> None:
        super().__init__(sim)
        self.on_push = self.rng.random() < 0.5  # deploy every push to main, or dispatch daily
        self._numbers = {"deploy": 0, "ci": 0}

    def schedule(self) -> None:
        if not self.on_push:
            self._daily()

    def landed(self, t: int, sha: str, pr: dict[str, Any] | None) -> None:
        r = self.rng.random
        self._run(
            ".github/workflows/ci.yml",
            "CI",
            t + 2,
            sha,
            "main",
            "push",
            "success" if r() < 0.92 else "failure",
        )
        if self.on_push:
            self.sim.at(t + 3, self.deploy, "normal")

    def pr_opened(self, t: int, pr: dict[str, Any], tip: str) -> None:
        if self.rng.random() < 0.08 and pr["commits"]:  # the deploy job is skipped off main
            self._run(self.PATH, "Deploy", t + 30, tip, pr["head"], "pull_request", "skipped")

    def ship(self, t: int, sha: str, flavor: str) -> int | None:
        r = self.rng.random
        event = "push" if self.on_push and flavor == "normal" else "workflow_dispatch"
        conclusion = "success" if flavor == "rollback" or r() < 0.9 else "failure"
        run, ended = self._run(self.PATH, "Deploy", t, sha, "main", event, conclusion)
        if run is None or ended is None:
            return None
        if conclusion == "failure" and r() < 0.6:  # re-run: same id, run_attempt 2
            started = ended + self.rng.randint(5 * MINUTE, 30 * MINUTE)
            finished = started + self.rng.randint(3 * MINUTE, 10 * MINUTE)
            self.busy_until = max(self.busy_until, finished)
            if started < self.sim.now:
                run["run_attempt"] = 2
                run["run_started_at"] = iso(started)
                conclusion = "success" if r() < 0.85 else "failure"
                ended = self._finish(run, started, finished, conclusion)
        return ended if run["conclusion"] == "success" else None

    def _run(
        self, path: str, name: str, t: int, sha: str, branch: str, event: str, conclusion: str
    ) -> tuple[dict[str, Any] | None, int | None]:
        sim = self.sim
        if t >= sim.now:
            return None, None
        key = "deploy" if path == self.PATH else "ci"
        self._numbers[key] += 1
        started = t + self.rng.randint(3, 40)
        run: dict[str, Any] = {
            "id": sim.next_id(),
            "workflow_path": path,
            "name": name,
            "head_sha": sha,
            "head_branch": branch,
            "event": event,
            "run_attempt": 1,
            "run_number": self._numbers[key],
            "status": "completed",
            "conclusion": conclusion,
            "created_at": iso(t),
            "run_started_at": iso(min(started, sim.now - 1)),
            "updated_at": iso(t),
        }
        duration = 5 if conclusion == "skipped" else self.rng.randint(3 * MINUTE, 10 * MINUTE)
        if path == self.PATH and branch == "main":
            self.busy_until = max(self.busy_until, started + duration)
        self.workflow_runs.append(run)
        return run, self._finish(run, started, started + duration, conclusion)

    def _finish(self, run: dict[str, Any], started: int, ended: int, conclusion: str) -> int | None:
        """Complete the run if it ended before now (→ its end), else leave it in progress."""
        now = self.sim.now
        if ended < now:
            run.update(status="completed", conclusion=conclusion, updated_at=iso(ended))
            return ended
        run.update(status="in_progress", conclusion=None, updated_at=iso(min(started, now - 1)))
        return None


class Releases(Source):
    supports_rollback = False

    def __init__(self, sim: RepoSim) -> None:
        super().__init__(sim)
        self.version = [1, self.rng.randint(0, 20), 0]
        self._rc = 0

    def schedule(self) -> None:
        sim, rng, r = self.sim, self.rng, self.rng.random
        clock = sim.ctx.clock
        days = clock.working_days(sim.ctx.start, sim.now)
        mondays = [d for d in days if ((d + clock.utc_offset_hours * HOUR) // DAY + 3) % 7 == 0]
        for monday in mondays:
            if r() < 0.85 * min(1.0, sim.ctx.deploy_day_p + 0.3):
                t = clock.during(monday + rng.randint(1, 3) * DAY, 10.0, 16.0)
                sim.at(t, self.deploy, "normal")
                if r() < 0.2:
                    sim.at(t - DAY, self._candidate, False)
                if r() < 0.06:
                    sim.at(t - 2 * HOUR, self._candidate, True)
        if r() < 0.5:  # the next release, drafted and not yet published
            sim.at(sim.now - rng.randint(2 * HOUR, 2 * DAY), self._candidate, True)

    def _tag(self, bump: str) -> str:
        v = self.version
        if bump == "major":
            v[:] = [v[0] + 1, 0, 0]
        elif bump == "minor":
            v[:] = [v[0], v[1] + 1, 0]
        else:
            v[2] += 1
        self._rc = 0
        return f"v{v[0]}.{v[1]}.{v[2]}"

    def _candidate(self, t: int, draft: bool) -> None:
        v = self.version
        if draft:
            tag, published = f"v{v[0]}.{v[1] + 1}.0", None
        else:
            self._rc += 1
            tag, published = f"v{v[0]}.{v[1] + 1}.0-rc.{self._rc}", t + 60
        self._release(tag, self.sim.head, t, published, draft, not draft)

    def ship(self, t: int, sha: str, flavor: str) -> int | None:
        rng = self.rng
        bump = "patch" if flavor == "hotfix" else "major" if rng.random() < 0.03 else "minor"
        published = t + rng.randint(MINUTE, 15 * MINUTE)
        self.busy_until = published
        if published >= self.sim.now:
            return None
        self._release(self._tag(bump), sha, t, published, False, False)
        return published

    def _release(
        self, tag: str, sha: str, t: int, published: int | None, draft: bool, prerelease: bool
    ) -> None:
        self.releases.append(
            {
                "id": self.sim.next_id(),
                "tag_name": tag,
                "name": tag,
                "target_sha": sha,
                "draft": draft,
                "prerelease": prerelease,
                "created_at": iso(t),
                "published_at": iso(published) if published is not None else None,
            }
        )


class MergedPullRequests(Source):
    supports_rollback = False

    def schedule(self) -> None:
        """Merging is deploying: nothing to schedule."""

    def landed(self, t: int, sha: str, pr: dict[str, Any] | None) -> None:
        if pr is not None:
            self.sim.failures.deployed(t, sha, len(self.sim.main) - 1)

    def hotfix_merged(self, t: int) -> None:
        """The hotfix's merge was its deployment."""


class HerokuReleases(Source):
    def __init__(self, sim: RepoSim) -> None:
        super().__init__(sim)
        self.app = sim.ctx.service.heroku_app or f"{sim.ctx.service.name}-prod"
        self._releases: list[dict[str, Any]] = []
        self._version_of: dict[str, int] = {}  # sha → the last release that shipped it
        self._sha_by_version: dict[int, str] = {}
        self._users = [m.person["email"] for m in sim.ctx.members]

    def schedule(self) -> None:
        sim, rng = self.sim, self.rng
        created = sim.created_at + HOUR
        for description in ("Initial release", "Enable Logplex", "Set DATABASE_URL config vars"):
            created += rng.randint(MINUTE, HOUR)
            self._release(created, description, None, "succeeded", None)
        t = sim.ctx.start + rng.randint(DAY, 3 * WEEK)
        while t < sim.now:
            sim.at(t, self._config, None)
            t += rng.randint(WEEK, 4 * WEEK)
        self._daily()

    def _config(self, t: int, _: Any) -> None:
        verb = "Set" if self.rng.random() < 0.8 else "Remove"
        description = f"{verb} {self.rng.choice(CONFIG_VARS)} config vars"
        self._release(t, description, None, "succeeded", None)

    def ship(self, t: int, sha: str, flavor: str) -> int | None:
        rng = self.rng
        for _ in range(3):
            if t >= self.sim.now:
                return None
            if flavor == "rollback":
                version = self._version_of.get(sha)
                if version is None:
                    return None
                self._release(t, f"Rollback to v{version}", sha, "succeeded", sha)
                return t
            status = "succeeded" if rng.random() < 0.95 else "failed"
            # a few releases carry the sha only in the description (no slug commit)
            commit = sha if rng.random() < 0.95 else None
            self._release(t, f"Deploy {sha[:8]}", commit, status, sha)
            if status == "succeeded":
                return t
            t += rng.randint(10 * MINUTE, 30 * MINUTE)
        return None

    def _release(
        self, t: int, description: str, commit: str | None, status: str, sha: str | None
    ) -> None:
        version = len(self._releases) + 1
        self.busy_until = max(self.busy_until, t + 2 * MINUTE)
        release = {
            "id": uuid_from(digest(self.sim.spec.seed, self.app, version)),
            "version": version,
            "status": status,
            "current": False,
            "description": description,
            "commit": commit,
            "user": self.rng.choice(self._users),
            "created_at": iso(t),
            "updated_at": iso(min(t + self.rng.randint(20, 120), self.sim.now - 1)),
        }
        self._releases.append(release)
        if sha is not None:
            self._sha_by_version[version] = sha
            if status == "succeeded":
                self._version_of[sha] = version

    def finish(self) -> None:
        for release in reversed(self._releases):
            if release["status"] == "succeeded":
                release["current"] = True
                break
        failures = self.sim.failures
        for release in self._releases:
            sha = self._sha_by_version.get(release["version"])
            if release["commit"] is None and sha is not None and not failures.prefix_unique(sha):
                release["commit"] = sha  # `Deploy <sha8>` would be ambiguous: keep the slug's
        self.heroku_app = {"name": self.app, "releases": self._releases}


SOURCES: dict[str, type[Source]] = {
    "github_deployments": GitHubDeployments,
    "workflow_runs": WorkflowRuns,
    "releases": Releases,
    "merged_pull_requests": MergedPullRequests,
    "heroku_releases": HerokuReleases,
}


def make_source(sim: RepoSim) -> Source:
    return SOURCES[sim.ctx.service.deployment_source](sim)
