"""Heroku releases (Platform API v3): Range-header pagination, resumable by release version.

`GET /apps/{app}/releases` with `Range: version ]N..; max=1000, order=asc` returns releases after
version N (206 + `Next-Range` while more remain). A build release says `Deploy <sha>` (Heroku
writes the slug commit's first 8 characters); that prefix is kept as `commit_sha` and staging
resolves it on the service's branch (a unique prefix ≥ 7, as for incidents). Only a succeeded
release without it (a rollback, a release made through the API) costs one more request, for its
slug's `commit`: one request per release would make Heroku the run's largest cost. The
watermark is the highest version whose status is final, so a pending release is read again
until it succeeds or fails.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from extractors import tables
from extractors.http import ApiClient
from fourkeys.warehouse.base import LoadBatch, Watermark

log = logging.getLogger(__name__)

_DEPLOY_RE = re.compile(r"\bDeploy ([0-9a-f]{7,40})\b")
_FINAL = {"succeeded", "failed", "expired"}
PAGE_MAX = 1000


def release_row(app: str, release: dict[str, Any], commit: str | None) -> dict[str, Any]:
    description = release.get("description") or ""
    if commit is None:
        match = _DEPLOY_RE.search(description)
        commit = match.group(1) if match else None
    return {
        "app": app, "release_id": release["id"], "version": release.get("version"),
        "status": release.get("status"), "description": description, "commit_sha": commit,
        "slug_id": (release.get("slug") or {}).get("id"),
        "user_email": (release.get("user") or {}).get("email"),
        "is_current": release.get("current"), "created_at": release.get("created_at"),
        "updated_at": release.get("updated_at"),
    }


def extract_releases(
    client: ApiClient,
    api_url: str,
    app: str,
    *,
    previous: Watermark | None,
    load: Callable[[LoadBatch], None],
    page_max: int = PAGE_MAX,
) -> int:
    after = int(previous.value) if previous and previous.value else None
    range_header = f"version ]{after}..; max={page_max}, order=asc" if after is not None else (
        f"version ..; max={page_max}, order=asc"
    )
    final_version = after
    blocked = False  # a pending release stops the watermark from moving past it
    count = 0
    while range_header:
        data, response = client.request(
            "GET", f"{api_url}/apps/{app}/releases", what=f"heroku app {app} releases",
            headers={"Range": range_header},
        )
        releases = data or []
        batch = LoadBatch()
        out = []
        for release in releases:
            slug = release.get("slug") or {}
            commit = None
            described = _DEPLOY_RE.search(release.get("description") or "")
            if slug.get("id") and release.get("status") == "succeeded" and not described:
                slug_body, _ = client.request(
                    "GET", f"{api_url}/apps/{app}/slugs/{slug['id']}",
                    what=f"heroku app {app} slug {slug['id']}",
                )
                commit = (slug_body or {}).get("commit")
            out.append(release_row(app, release, commit))
            if release.get("status") in _FINAL and not blocked:
                final_version = release.get("version")
            else:
                blocked = True
        batch.add(tables.HEROKU_RELEASES.name, out)
        count += len(out)
        next_range = response.headers.get("next-range") if response.status_code == 206 else None
        if not next_range:
            batch.watermarks.append(Watermark(
                "heroku", app, "releases",
                str(final_version) if final_version is not None else None))
        load(batch)
        range_header = next_range or ""
    return count
