"""Heroku releases across Range pages, resumed from the version watermark."""

from __future__ import annotations

from pathlib import Path

import httpx

from extractors.heroku import extract_releases
from extractors.http import ApiClient, RequestStats
from extractors.retry import RetryPolicy
from extractors.tables import HEROKU_RELEASES
from fakes.scenario import load_scenario
from fakes.server import create_app, serve_in_thread
from fourkeys.warehouse.base import Watermark
from fourkeys.warehouse.duckdb import DuckDBWarehouse

SHA = "a" * 40


def _scenario(versions: int, pending_at: int | None = None) -> dict:
    releases = []
    for v in range(1, versions + 1):
        status = "pending" if v == pending_at else ("failed" if v % 7 == 0 else "succeeded")
        releases.append({"id": f"00000000-0000-4000-8000-{v:012d}", "version": v,
                         "status": status,
                         "description": "Rollback to v1" if v % 5 == 0 else f"Deploy {SHA[:8]}",
                         "commit": SHA if v % 5 == 0 or v % 3 else None,
                         "created_at": f"2026-01-{v:02d}T10:00:00Z",
                         "updated_at": f"2026-01-{v:02d}T10:01:00Z"})
    return {"format": 1, "now": "2026-03-01T00:00:00Z",
            "heroku_apps": [{"name": "shop-prod", "releases": releases}]}


def _extract(base: str, wh: DuckDBWarehouse, stats: RequestStats) -> int:
    client = ApiClient(channel="heroku", headers={
        "Authorization": "Bearer k", "Accept": "application/vnd.heroku+json; version=3"},
        policy=RetryPolicy(attempts=2), stats=stats, max_rate_limit_wait=0)
    previous = wh.watermarks("heroku").get(("shop-prod", "releases"))
    try:
        return extract_releases(client, f"{base}/heroku", "shop-prod", previous=previous,
                                load=wh.load, page_max=5)
    finally:
        client.close()


def test_range_pages_and_resume(tmp_path: Path) -> None:
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    wh.ensure_tables([HEROKU_RELEASES])
    with serve_in_thread(create_app(load_scenario(_scenario(12, pending_at=10)))) as server:
        stats = RequestStats()
        assert _extract(server.base_url, wh, stats) == 12
        got = wh.con.execute("select version, status, commit_sha from raw_heroku_releases "
                             "order by version").fetchall()
        assert [v for v, _, _ in got] == list(range(1, 13))
        # `Deploy <sha8>` keeps the prefix; only other succeeded releases ask for their slug
        assert got[0][2] == SHA[:8] and got[4][2] == SHA and got[9][2] is None  # v10 pending
        routes = httpx.get(f"{server.base_url}/_fake/stats").json()["routes"]
        assert [v for k, v in routes.items() if "/slugs/" in k] == [1]  # v5 only
        # a pending release (v10) holds the watermark below it: v9 is the last final one
        assert wh.watermarks("heroku")[("shop-prod", "releases")] == Watermark(
            "heroku", "shop-prod", "releases", "9")
        listing = httpx.get(f"{server.base_url}/_fake/stats").json()["routes"]
        pages = [v for k, v in listing.items() if k.endswith("/releases")]
        assert pages == [3]  # 12 releases, max=5 → 5 + 5 + 2
    with serve_in_thread(create_app(load_scenario(_scenario(14)))) as server:
        stats = RequestStats()
        assert _extract(server.base_url, wh, stats) == 5  # v10 (now final) .. v14
        assert wh.watermarks("heroku")[("shop-prod", "releases")].value == "14"
        assert wh.con.execute("select status from raw_heroku_releases where version = 10"
                              ).fetchall() == [("succeeded",)]
    assert wh.con.execute("select count(*) from raw_heroku_releases").fetchall() == [(14,)]
    wh.close()
