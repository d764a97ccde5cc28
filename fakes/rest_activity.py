"""REST handlers for what happened around the code: releases, tags, deployments, Actions runs
and workflows, issues.
"""

from __future__ import annotations

from typing import Any

from fakes.rest_common import (
    DateRange,
    choice,
    not_found,
    parse_date_range,
    parse_timestamp,
    take,
    validation_failed,
)
from fakes.rest_repos import Answer, Ctx
from fakes.scenario import WorkflowRun

# --- releases and tags ----------------------------------------------------------------------


def list_releases(ctx: Ctx) -> Answer:
    releases = ctx.index.releases
    start, end, link = ctx.page(len(releases))
    return Answer([ctx.builder.release(ctx.repo, r) for r in releases[start:end]], link)


def list_tags(ctx: Ctx) -> Answer:
    tags = ctx.index.tags
    start, end, link = ctx.page(len(tags))
    return Answer([ctx.builder.tag(ctx.repo, n, s) for n, s in tags[start:end]], link)


# --- deployments ----------------------------------------------------------------------------


def list_deployments(ctx: Ctx) -> Answer:
    q = ctx.query
    environment = q.get("environment")
    deployments = (
        ctx.index.deployments_by_environment.get(environment, [])
        if environment
        else ctx.index.deployments
    )
    sha, ref, task = q.get("sha"), q.get("ref"), q.get("task")
    if sha or ref or task:
        deployments = [
            d
            for d in deployments
            if (not sha or d.sha == sha)
            and (not ref or d.ref == ref)
            and (not task or d.task == task)
        ]
    start, end, link = ctx.page(len(deployments))
    return Answer([ctx.builder.deployment(ctx.repo, d) for d in deployments[start:end]], link)


def list_deployment_statuses(ctx: Ctx) -> Answer:
    raw = ctx.path_params["deployment_id"]
    deployment = ctx.index.deployment_by_id.get(int(raw)) if raw.isdigit() else None
    if deployment is None:
        raise not_found()
    # GitHub lists a deployment's statuses newest first
    statuses = sorted(deployment.statuses, key=lambda s: (s.created_at, s.id), reverse=True)
    start, end, link = ctx.page(len(statuses))
    return Answer(
        [ctx.builder.deployment_status(ctx.repo, deployment, s) for s in statuses[start:end]], link
    )


# --- actions --------------------------------------------------------------------------------

RUN_STATUSES = (
    "completed",
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "skipped",
    "stale",
    "success",
    "timed_out",
    "in_progress",
    "queued",
    "requested",
    "waiting",
    "pending",
)
_CONCLUSION_VALUES = {
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "skipped",
    "stale",
    "success",
    "timed_out",
}


def _runs_answer(ctx: Ctx, runs: list[WorkflowRun]) -> Answer:
    """Filter `runs` (oldest first) and page them newest first in GitHub's envelope."""
    q = ctx.query
    created = parse_date_range(q["created"]) if q.get("created") else DateRange()
    if created.start is not None or created.end is not None:
        # runs are sorted by created_at: narrow by bisection instead of scanning
        from bisect import bisect_left

        stamps = [r.created_at for r in runs]
        lo = 0 if created.start is None else bisect_left(stamps, created.start)
        hi = len(runs) if created.end is None else bisect_left(stamps, created.end)
        runs = runs[lo:hi]
    status = q.get("status")
    if status and status not in RUN_STATUSES:
        raise validation_failed("WorkflowRun", "status", status)
    branch, event, head_sha = q.get("branch"), q.get("event"), q.get("head_sha")
    actor = q.get("actor")
    if status or branch or event or head_sha or actor:
        by_sha = ctx.repo.commit_by_sha
        runs = [
            r
            for r in runs
            if (not branch or r.head_branch == branch)
            and (not event or r.event == event)
            and (not head_sha or r.head_sha == head_sha)
            and (
                not status
                or (r.conclusion == status if status in _CONCLUSION_VALUES else r.status == status)
            )
            and (not actor or (r.head_sha in by_sha and by_sha[r.head_sha].author.login == actor))
        ]
    start, end, link = ctx.page(len(runs))
    page = take(runs, start, end, descending=True)
    ids = ctx.index.workflow_id_by_path
    numbers = ctx.index.run_numbers
    body = {
        "total_count": len(runs),
        "workflow_runs": [
            ctx.builder.workflow_run(ctx.repo, r, ids[r.workflow_path], numbers[r.id]) for r in page
        ],
    }
    return Answer(body, link)


def list_runs(ctx: Ctx) -> Answer:
    return _runs_answer(ctx, ctx.index.runs)


def list_workflow_runs(ctx: Ctx) -> Answer:
    workflow = ctx.index.find_workflow(ctx.path_params["workflow_id"])
    if workflow is None:
        raise not_found()
    return _runs_answer(ctx, ctx.index.runs_by_workflow.get(workflow.path, []))


def list_workflows(ctx: Ctx) -> Answer:
    workflows = ctx.index.workflows
    start, end, link = ctx.page(len(workflows))
    body = {
        "total_count": len(workflows),
        "workflows": [ctx.builder.workflow(ctx.repo, w) for w in workflows[start:end]],
    }
    return Answer(body, link)


# --- issues ---------------------------------------------------------------------------------


def list_issues(ctx: Ctx) -> Answer:
    """Issues only: the scenario's pull requests are not served here (GitHub would mix them in,
    each with a `pull_request` key); clients filter those out anyway."""
    q = ctx.query
    state = choice(q, "state", ("open", "closed", "all"), "open", "Issue")
    sort = choice(q, "sort", ("created", "updated", "comments"), "created", "Issue")
    direction = choice(q, "direction", ("asc", "desc"), "desc", "Issue")
    issues = ctx.index.issues[(state, "updated" if sort == "updated" else "created")]
    labels_param = q.get("labels")
    since_param = q.get("since")
    creator = q.get("creator")
    if labels_param or since_param or creator:
        wanted = {x.strip() for x in (labels_param or "").split(",") if x.strip()}
        since = parse_timestamp(since_param, "Issue", "since") if since_param else None
        issues = [
            i
            for i in issues
            if wanted.issubset(i.labels)
            and (since is None or i.updated_at >= since)
            and (not creator or i.author == creator)
        ]
    start, end, link = ctx.page(len(issues))
    items = take(issues, start, end, direction == "desc")
    return Answer([ctx.builder.issue(ctx.repo, i) for i in items], link)


# --- account-level --------------------------------------------------------------------------


def rate_limit_body(budgets: dict[str, Any]) -> dict[str, Any]:
    """`budgets` maps resource → ratelimit.Budget; unknown resources get a full bucket."""
    resources: dict[str, Any] = {}
    for name in ("core", "graphql", "search", "integration_manifest", "code_search"):
        budget = budgets.get(name)
        if budget is None:
            limit = 30 if name == "search" else 5000
            resources[name] = {"limit": limit, "used": 0, "remaining": limit, "reset": 0}
            continue
        resources[name] = {
            "limit": budget.limit,
            "used": budget.used,
            "remaining": budget.remaining,
            "reset": int(budget.reset_at),
        }
    for name in ("search", "integration_manifest", "code_search"):
        if budgets.get(name) is None and "core" in budgets:
            resources[name]["reset"] = int(budgets["core"].reset_at)
    return {"resources": resources, "rate": resources["core"]}
