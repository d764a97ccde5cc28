"""Workflow runs: REST only (GraphQL has no equivalent). Conditional requests keep an unchanged
workflow at one request that GitHub does not charge (304 Not Modified)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from extractors import tables
from extractors.github.client import GitHubClient
from extractors.github.repository import iso, parse_ts
from fourkeys.warehouse.base import LoadBatch, Watermark


def run_row(repo: str, run: dict[str, Any]) -> dict[str, Any]:
    return {
        "repository": repo, "run_id": run["id"], "workflow_id": run.get("workflow_id"),
        "workflow_path": run.get("path"), "name": run.get("name"),
        "head_sha": run.get("head_sha"), "head_branch": run.get("head_branch"),
        "event": run.get("event"), "status": run.get("status"),
        "conclusion": run.get("conclusion"), "run_attempt": run.get("run_attempt"),
        "run_number": run.get("run_number"), "created_at": run.get("created_at"),
        "run_started_at": run.get("run_started_at"), "updated_at": run.get("updated_at"),
        "url": run.get("html_url"),
    }


def extract_workflow_runs(
    client: GitHubClient,
    repository: str,
    workflow: str,
    branch: str | None,
    *,
    previous: Watermark | None,
    lower_bound_override: datetime | None,
    lookback: timedelta,
    run_started_at: datetime,
    load: Callable[[LoadBatch], None],
) -> int:
    """Read one workflow's runs created since the watermark (minus lookback, for re-runs)."""
    stream = f"workflow_runs:{workflow}"
    mark = parse_ts(previous.value) if previous else None
    lower = lower_bound_override or (mark - lookback if mark else None)
    params: dict[str, Any] = {"per_page": 100}
    if branch:
        params["branch"] = branch
    if lower is not None:
        # a date, not a time: the URL (and so its ETag) only changes when the watermark's day does
        params["created"] = f">={lower.date().isoformat()}"
    # the stored ETag is "<created filter>|<etag>": valid only if we ask the same URL again
    asked = str(params.get("created", ""))
    stored = previous.etag if previous and previous.etag else ""
    stored_filter, _, stored_etag = stored.partition("|")
    etag = stored_etag if stored_etag and stored_filter == asked else None
    newest = mark
    first_etag: str | None = None
    count = 0
    pages = client.rest_pages(
        f"/repos/{repository}/actions/workflows/{workflow}/runs", params,
        what=f"{repository} workflow {workflow} runs", etag=etag,
    )
    for index, page in enumerate(pages):
        batch = LoadBatch()
        if page.not_modified:  # nothing changed: the watermark (and its ETag) stay as they are
            return 0
        if index == 0 and page.response is not None:
            first_etag = page.response.headers.get("etag")
        runs = (page.items or {}).get("workflow_runs") or []
        batch.add(tables.WORKFLOW_RUNS.name, [run_row(repository, r) for r in runs])
        for r in runs:
            created = parse_ts(r.get("created_at"))
            if created and (newest is None or created > newest):
                newest = created
        count += len(runs)
        last = page.response is None or 'rel="next"' not in page.response.headers.get("link", "")
        if last:
            value = iso(min(newest, run_started_at)) if newest else None
            batch.watermarks.append(Watermark("github", repository, stream, value,
                                              f"{asked}|{first_etag}" if first_etag else None))
        load(batch)
    return count
