"""Workflow runs: REST only (GraphQL has no equivalent). Conditional requests keep an unchanged
workflow at one request that GitHub does not charge (304 Not Modified).

The stored ETag is always the one of the URL the *next* incremental run will ask (its `created`
filter follows from the new watermark: the Monday of the week of its lower bound), so a
repeated run, a resumed run and a `--since` run all leave the same watermark row: re-running
changes nothing, not even the ETag."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from extractors import tables
from extractors.github.client import GitHubClient
from extractors.github.times import iso, parse_ts
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
    path = f"/repos/{repository}/actions/workflows/{workflow}/runs"
    what = f"{repository} workflow {workflow} runs"
    params = _params(branch, lower)
    # the stored ETag is "<created filter>|<etag>": valid only if we ask the same URL again
    asked = str(params.get("created", ""))
    stored = previous.etag if previous and previous.etag else ""
    stored_filter, _, stored_etag = stored.partition("|")
    etag = stored_etag if stored_etag and stored_filter == asked else None
    newest = mark
    first_etag: str | None = None
    count = 0
    pages = client.rest_pages(path, params, what=what, etag=etag)
    for index, page in enumerate(pages):
        batch = LoadBatch()
        if page.not_modified:  # nothing changed: the watermark (and its ETag) stay as they are
            return 0
        if index == 0 and page.response is not None:
            first_etag = page.response.headers.get("etag")
        runs = (page.items or {}).get("workflow_runs") or []
        count += len(runs)
        newest = _add_runs(batch, repository, runs, newest)
        last = page.response is None or 'rel="next"' not in page.response.headers.get("link", "")
        if last:
            value = iso(min(newest, run_started_at)) if newest else None
            # the URL the next incremental run asks: keep that one's ETag, whatever we asked now
            value_at = parse_ts(value)
            next_lower = value_at - lookback if value_at else None
            next_params = _params(branch, next_lower)
            next_asked = str(next_params.get("created", ""))
            tag: str | None = f"{asked}|{first_etag}" if first_etag else None
            if next_asked != asked:
                # one more request (its first page): GitHub's 304 if our stored ETag is still
                # good, else the ETag the next run will send (and any run created meanwhile)
                tag = stored if stored_filter == next_asked and stored_etag else None
                walk = client.rest_pages(path, next_params, what=what,
                                         etag=stored_etag if tag else None)
                try:
                    nxt = next(walk, None)
                finally:
                    walk.close()
                if nxt is not None and not nxt.not_modified:
                    next_runs = (nxt.items or {}).get("workflow_runs") or []
                    newest = _add_runs(batch, repository, next_runs, newest)
                    value = iso(min(newest, run_started_at)) if newest else None
                    next_etag = nxt.response.headers.get("etag") if nxt.response else None
                    tag = f"{next_asked}|{next_etag}" if next_etag else None
            batch.watermarks.append(Watermark("github", repository, stream, value, tag))
        load(batch)
    return count


def _params(branch: str | None, lower: datetime | None) -> dict[str, Any]:
    params: dict[str, Any] = {"per_page": 100}
    if branch:
        params["branch"] = branch
    if lower is not None:
        # the Monday of the bound's week, not a time: the URL (and so its ETag) changes once a
        # week, not with every new run. A workflow with a new run each day then costs one charged
        # request a day (its changed page), not two (that page, then the next URL's first page
        # for its ETag); the page holds up to a week more runs, read again at no extra request
        # while they fit in one page of 100.
        monday = lower.date() - timedelta(days=lower.weekday())
        params["created"] = f">={monday.isoformat()}"
    return params


def _add_runs(batch: LoadBatch, repository: str, runs: list[dict[str, Any]],
              newest: datetime | None) -> datetime | None:
    """Add `runs` to the batch; return the newest `created_at` seen so far."""
    batch.add(tables.WORKFLOW_RUNS.name, [run_row(repository, r) for r in runs])
    for r in runs:
        created = parse_ts(r.get("created_at"))
        if created and (newest is None or created > newest):
            newest = created
    return newest
