"""Extract every configured source into the warehouse: bounded concurrency across repositories.

Each repository (and Heroku app) is a unit of work with its own watermarks; on a refresh, the
repositories whose every stream resumes from a watermark are grouped so that their pages share
queries (extractors/github/batch.py). Units run in a thread pool of `[github] concurrency`
workers; their load batches are written together (extractors/loads.py), each transaction
rows with the watermarks they justify. The first fatal error stops new units and is reported as
one line; what the units finished is written (their watermarks are exact), so the next run
resumes.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from extractors.github import queries
from extractors.github.batch import pages_together
from extractors.github.client import GitHubClient
from extractors.github.history import HistoryRoute
from extractors.github.organizations import discover_organizations
from extractors.github.repository import RepoPlan, RepositoryExtractor
from extractors.github.walks import (
    LISTED_STREAMS,
    RATE_COLUMNS,
    RATE_WINDOW,
    StoredCounts,
    stream_lookback,
)
from extractors.github.workflow_runs import extract_workflow_runs
from extractors.heroku import extract_releases
from extractors.http import ApiClient, RequestStats
from extractors.loads import Coalescer, max_rows_from_env
from extractors.retry import DEFAULT_POLICY, RetryPolicy
from extractors.services import with_discovered_services
from extractors.tables import ALL_TABLES, COMMIT_FILES, ORG_REPOSITORIES
from fourkeys.config import Config
from fourkeys.errors import FourKeysError
from fourkeys.warehouse.base import LoadBatch, Warehouse

log = logging.getLogger(__name__)

ENV_HISTORY_API = "FOURKEYS_HISTORY_API"


@dataclass
class ExtractSummary:
    rows: Counter[str] = field(default_factory=Counter)
    stats: RequestStats = field(default_factory=RequestStats)
    seconds: float = 0.0
    units: int = 0
    # the config the run extracted: with [[organizations]], its discovered services appended
    config: Config | None = None

    def line(self) -> str:
        rows = ", ".join(f"{t.removeprefix('raw_')}={n}" for t, n in sorted(self.rows.items()))
        return (
            f"extracted {sum(self.rows.values())} rows ({rows or 'none'}) from {self.units} "
            f"sources with {self.stats.total} requests "
            f"({dict(sorted(self.stats.requests.items()))}, {self.stats.not_modified} not "
            f"modified), {self.stats.graphql_points} GraphQL points in {self.seconds:.1f}s"
        )


def plan_repositories(config: Config) -> list[RepoPlan]:
    plans: dict[str, RepoPlan] = {}
    for name in config.repositories:
        plans[name] = RepoPlan(repository=name)
    for service in config.services:
        plan = plans[service.repository.lower()]
        if service.branch and plan.branch is None:
            plan.branch = service.branch
        elif service.branch and service.branch != plan.branch:
            log.warning("%s: services use branches %s and %s; reading %s", plan.repository,
                        plan.branch, service.branch, plan.branch)
        if service.deployment_source == "github_deployments":
            envs = plan.environments or []
            if service.environment_or_default not in envs:
                envs.append(service.environment_or_default)
            plan.environments = envs
        if (service.deployment_source == "workflow_runs" and service.workflow
                and service.workflow not in plan.workflows):
            plan.workflows.append(service.workflow)
        if service.paths:  # a monorepo: its changes are told apart by the files they touch
            plan.files = True
    for source in config.incident_sources:
        if source.type == "github_issues" and source.repository:
            plan = plans[source.repository.lower()]
            labels = plan.issue_labels or []
            if source.label not in labels:
                labels.append(source.label)
            plan.issue_labels = labels
    return list(plans.values())


def pinned_history_api() -> str | None:
    """`FOURKEYS_HISTORY_API` = rest | graphql pins where branch histories are read (tests that
    count requests run to run; an operator working around one API); unset or `auto`: each
    repository's goes to the budget spent less so far (extractors/github/history.py)."""
    value = os.environ.get(ENV_HISTORY_API, "auto").strip().lower()
    if value not in ("auto", "rest", "graphql"):
        raise FourKeysError(f"{ENV_HISTORY_API}={value!r} is not rest, graphql or auto; "
                            "fix or unset it")
    return None if value == "auto" else value


def _known_commit_files(warehouse: Warehouse,
                        plans: list[RepoPlan]) -> dict[str, frozenset[str]]:
    """Per monorepo, the commits whose files are stored already (never read twice)."""
    wanted = {p.repository for p in plans if p.files}
    if not wanted:
        return {}
    known: dict[str, set[str]] = {}
    for row in warehouse.read_rows(COMMIT_FILES):
        if row["repository"] in wanted:
            known.setdefault(row["repository"], set()).add(row["sha"])
    return {repo: frozenset(shas) for repo, shas in known.items()}


def extract(
    config: Config,
    warehouse: Warehouse,
    *,
    since: datetime | None = None,
    full_refresh: bool = False,
    policy: RetryPolicy = DEFAULT_POLICY,
    on_unit_done: Callable[[str], None] | None = None,
    history_api: str | None = None,
) -> ExtractSummary:
    """`history_api` ("rest" | "graphql") pins where branch histories are read; by default
    each repository's goes to the budget this run has spent less of (history.HistoryRoute)."""
    started = time.monotonic()
    max_rows = max_rows_from_env()  # a bad value stops the run before anything is written
    run_started_at = datetime.now(UTC).replace(microsecond=0)
    summary = ExtractSummary(config=config)
    heroku_apps = sorted({s.heroku_app for s in config.services
                          if s.deployment_source == "heroku_releases" and s.heroku_app})
    github_token = config.github_token()
    heroku_token = config.heroku_token() if heroku_apps else None
    warehouse.ensure_tables(ALL_TABLES)
    lookback = timedelta(days=config.github.lookback_days)
    max_wait = float(config.github.max_rate_limit_wait_seconds)
    client = GitHubClient(
        api_url=config.github.api_url, graphql_url=config.github.graphql_url,
        token=github_token, policy=policy, stats=summary.stats, max_rate_limit_wait=max_wait,
    )

    def write(batch: LoadBatch) -> None:
        warehouse.load(batch)
        for table, rows in batch.rows.items():
            summary.rows[table] += len(rows)

    # the units' batches are written together (extractors/loads.py)
    coalesced = Coalescer(write, max_rows=max_rows)
    load = coalesced.load

    if config.organizations:  # first: the discovered repositories are units of this run
        warehouse.ensure_tables([ORG_REPOSITORIES])
        try:
            discover_organizations(client, config.organizations, load)
            coalesced.flush()  # read back at once
        except BaseException:
            client.close()
            raise
        config = summary.config = with_discovered_services(config, warehouse)
    plans = plan_repositories(config)
    if full_refresh:
        warehouse.reset_watermarks("github", [p.repository for p in plans])
        warehouse.reset_watermarks("heroku", heroku_apps)
    github_marks = warehouse.watermarks("github")
    heroku_marks = warehouse.watermarks("heroku")
    known_files = _known_commit_files(warehouse, plans)
    # a refresh sizes first pages from what is stored (walks.first_page_size)
    stored: dict[tuple[str, str], StoredCounts] | None = None
    stored_keys: dict[tuple[str, str], dict[str, Any]] | None = None
    if since is None and github_marks:
        counted = warehouse.stream_counts("github", {
            stream: (table, column, int(stream_lookback(stream, lookback).total_seconds()))
            for stream, (table, column) in RATE_COLUMNS.items()}, run_started_at - RATE_WINDOW)
        stored = {key: StoredCounts(*value) for key, value in counted.items()}
        # and lists again by key first what it holds of the lookbacks (walks.LISTED_STREAMS)
        stored_keys = warehouse.stored_keys("github", {
            stream: (spec.table, spec.key, spec.time, spec.value,
                     int(stream_lookback(stream, lookback).total_seconds()), spec.value_table)
            for stream, spec in LISTED_STREAMS.items()})
    history_route = HistoryRoute(summary.stats, forced=history_api or pinned_history_api())

    # by repository once: a scan of every mark per repository was a second of a 1,000-repository
    # refresh before any request went out
    marks_by_repository: dict[str, dict[str, str | None]] = {}
    for (partition, stream), mark in github_marks.items():
        marks_by_repository.setdefault(partition, {})[stream] = mark.value

    def extractor_for(plan: RepoPlan, history_api: str) -> RepositoryExtractor:
        marks = dict(marks_by_repository.get(plan.repository, {}))
        return RepositoryExtractor(
            client, plan, watermarks=marks, lower_bound_override=since, lookback=lookback,
            run_started_at=run_started_at, load=load,
            known_commit_files=known_files.get(plan.repository, frozenset()),
            history_api=history_api,
            history_mark=github_marks.get((plan.repository, "commits")),
            stored=None if stored is None else {
                stream: stored.get((plan.repository, stream), StoredCounts())
                for stream in RATE_COLUMNS},
            stored_keys=None if stored_keys is None else {
                stream: stored_keys.get((plan.repository, stream), {})
                for stream in LISTED_STREAMS},
        )

    def finish_repository(extractor: RepositoryExtractor) -> str:
        plan = extractor.plan
        extractor.run()
        for workflow in plan.workflows:
            extract_workflow_runs(
                client, plan.repository, workflow, extractor.branch_name,
                previous=github_marks.get((plan.repository, f"workflow_runs:{workflow}")),
                lower_bound_override=since, lookback=lookback, run_started_at=run_started_at,
                load=load,
            )
        return plan.repository

    def github_unit(plan: RepoPlan) -> list[str]:
        # the history's route is chosen when the unit starts, from what was spent by then
        return [finish_repository(extractor_for(plan, history_route.choose()))]

    def batch_unit(extractors: list[RepositoryExtractor]) -> list[str]:
        pages_together(client, extractors, load)
        return [finish_repository(e) for e in extractors]

    # a refresh: the repositories whose every stream resumes from a watermark share first-page
    # queries (extractors/github/batch.py); the others run alone
    alone: list[RepoPlan] = []
    together: dict[bool, list[RepositoryExtractor]] = {}
    for plan in plans:
        candidate = extractor_for(plan, "graphql")  # an incremental history never goes by REST
        if candidate.incremental:
            together.setdefault(plan.files, []).append(candidate)
        else:
            alone.append(plan)
    # (monorepos' pages also carry 100 files a pull request: half as many a query)
    batches = [group[i:i + size] for files, group in together.items()
               for size in [queries.SNAPSHOT_BATCH // 2 if files else queries.SNAPSHOT_BATCH]
               for i in range(0, len(group), size)]

    heroku_client = None
    if heroku_apps and config.heroku is not None:
        heroku_client = ApiClient(
            channel="heroku",
            headers={"Authorization": f"Bearer {heroku_token}",
                     "Accept": "application/vnd.heroku+json; version=3",
                     "User-Agent": "fourkeys-extractor"},
            policy=policy, stats=summary.stats, max_rate_limit_wait=max_wait,
        )
    heroku_url = config.heroku.api_url if config.heroku else ""

    def heroku_unit(app: str) -> str:
        assert heroku_client is not None
        extract_releases(heroku_client, heroku_url, app,
                         previous=None if since else heroku_marks.get((app, "releases")),
                         load=load)
        return f"heroku:{app}"

    try:
        with ThreadPoolExecutor(max_workers=config.github.concurrency,
                                thread_name_prefix="extract") as pool:
            futures = [pool.submit(batch_unit, b) for b in batches]
            futures += [pool.submit(github_unit, p) for p in alone]
            futures += [pool.submit(heroku_unit, a) for a in heroku_apps]
            pending = set(futures)
            while pending:
                # FIRST_COMPLETED, not FIRST_EXCEPTION: the latter only returns on an error or
                # when everything is done, so progress was reported all at once at the end
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:  # an error first: no progress line after the run failed
                    error = future.exception()
                    if error is not None:
                        for other in pending:
                            other.cancel()
                        raise error
                for future in done:
                    result = future.result()
                    for name in result if isinstance(result, list) else [result]:
                        summary.units += 1
                        if on_unit_done:
                            on_unit_done(name)
        coalesced.flush()
    except BaseException:
        # what the units finished is kept: a stop (budget, signal, a unit's error) leaves
        # every repository at a watermark; the first error is the one reported
        try:
            coalesced.flush()
        except Exception:
            log.debug("held batches not written after the run failed", exc_info=True)
        raise
    finally:
        client.close()
        if heroku_client:
            heroku_client.close()
        summary.seconds = time.monotonic() - started
    return summary
