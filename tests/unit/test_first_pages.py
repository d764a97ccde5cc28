"""A refresh sizes each stream's first page from what the warehouse holds
(extractors/github/walks.py: first_page_size) and the warehouse counts it
(`stream_counts`, here on DuckDB; tests/integration/test_bigquery_warehouse.py runs the same
counts on the BigQuery emulator)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from extractors import tables
from extractors.github import queries
from extractors.github.times import parse_ts
from extractors.github.walks import (
    RATE_WINDOW,
    StoredCounts,
    first_page_size,
    stream_lookback,
)
from fourkeys.warehouse.base import LoadBatch, Watermark
from fourkeys.warehouse.duckdb import DuckDBWarehouse

NOW = datetime(2026, 11, 29, 6, tzinfo=UTC)
STREAMS = {"pull_requests": (tables.PULL_REQUESTS.name, "updated_at", 3600),
           "deployments": (tables.DEPLOYMENTS.name, "created_at", 3 * 86400),
           "commits": (tables.COMMITS.name, "committed_at", 3 * 86400)}


def test_the_first_page_holds_the_rereads_and_the_expected_new_rows_with_a_margin() -> None:
    # 56 rows in 28 days = 2 a day, a day and a half since the watermark → 3 new expected,
    # plus 2 stored at or after the lower bound → ceil(5 x 1.25) + 1 = 8
    assert first_page_size(100, StoredCounts(56, 2), timedelta(days=1.5)) == 8
    # a quiet repository: one row, enough to see the stream is older than its bound
    assert first_page_size(100, StoredCounts(0, 0), timedelta(days=300)) == 1
    # quiet by the clock, but rows in its lookback are read again: they are counted
    assert first_page_size(100, StoredCounts(0, 7), timedelta(days=300)) == 10
    # a busy one never asks more than the full page
    assert first_page_size(40, StoredCounts(10_000, 0), timedelta(days=3)) == 40
    # a clock behind the watermark expects nothing new
    assert first_page_size(100, StoredCounts(56, 0), timedelta(days=-2)) == 1
    # counts or watermark unknown: the fixed first page
    assert first_page_size(100, None, timedelta(days=1)) == queries.INCREMENTAL_FIRST_PAGE
    assert first_page_size(100, StoredCounts(56, 2), None) == queries.INCREMENTAL_FIRST_PAGE
    assert first_page_size(5, None, None) == 5


def test_each_stream_reads_again_its_own_lookback() -> None:
    days = timedelta(days=3)
    assert stream_lookback("commits", days) == days
    assert stream_lookback("deployments", days) == days
    assert stream_lookback("pull_requests", days) == timedelta(hours=1)
    assert stream_lookback("pull_requests", timedelta(minutes=5)) == timedelta(minutes=5)
    assert stream_lookback("issues", days) == timedelta(0)


def test_stream_counts_count_the_rate_window_and_the_rows_past_each_lower_bound(
        tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    try:
        warehouse.ensure_tables([tables.PULL_REQUESTS, tables.DEPLOYMENTS])
        since = NOW - RATE_WINDOW
        mark = NOW - timedelta(days=1)
        batch = LoadBatch(watermarks=[
            Watermark("github", "acme/a", "pull_requests", mark.isoformat()),
            Watermark("github", "acme/a", "deployments", mark.isoformat()),
            Watermark("github", "acme/b", "deployments", None),  # empty last time
            Watermark("heroku", "acme/b", "pull_requests", NOW.isoformat()),  # another source
        ])
        batch.add(tables.PULL_REQUESTS.name, [
            # updated inside the window though created long before: recent
            {"repository": "acme/a", "number": 1, "created_at": since - timedelta(days=90),
             "updated_at": since + timedelta(days=1)},
            # at the lower bound (mark - 1 hour): recent and read again
            {"repository": "acme/a", "number": 2, "created_at": since,
             "updated_at": mark - timedelta(hours=1)},
            # just before the window: neither
            {"repository": "acme/a", "number": 3, "created_at": since - timedelta(days=2),
             "updated_at": since - timedelta(seconds=1)},
            # no github watermark for acme/b: recent, never read again
            {"repository": "acme/b", "number": 1, "created_at": NOW, "updated_at": NOW},
        ])
        batch.add(tables.DEPLOYMENTS.name, [
            {"repository": "acme/a", "deployment_id": 7, "created_at": mark - timedelta(days=2)},
            {"repository": "acme/a", "deployment_id": 8, "created_at": mark - timedelta(days=4)},
            {"repository": "acme/b", "deployment_id": 9, "created_at": NOW},
        ])
        warehouse.load(batch)
        # the commits table was never created: it counts nothing, and is no error
        assert warehouse.stream_counts("github", STREAMS, since) == {
            ("acme/a", "pull_requests"): (2, 1), ("acme/b", "pull_requests"): (1, 0),
            ("acme/a", "deployments"): (2, 1), ("acme/b", "deployments"): (1, 0)}
    finally:
        warehouse.close()


def test_stored_keys_list_the_rows_past_each_lower_bound(tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    try:
        warehouse.ensure_tables([tables.PULL_REQUESTS, tables.COMMITS, tables.DEPLOYMENTS,
                                 tables.DEPLOYMENT_STATUSES])
        mark = NOW - timedelta(days=1)
        batch = LoadBatch(watermarks=[
            Watermark("github", "acme/a", stream, mark.isoformat())
            for stream in ("pull_requests", "commits", "deployments")])
        batch.add(tables.PULL_REQUESTS.name, [
            {"repository": "acme/a", "number": 1, "updated_at": mark - timedelta(hours=1)},
            {"repository": "acme/a", "number": 2, "updated_at": mark - timedelta(minutes=61)},
            # no watermark for acme/b: nothing is listed again there
            {"repository": "acme/b", "number": 1, "updated_at": NOW},
        ])
        batch.add(tables.COMMITS.name, [
            {"repository": "acme/a", "sha": "c1", "branch": "main",
             "committed_at": mark - timedelta(days=2)},
            {"repository": "acme/a", "sha": "c0", "branch": "main",
             "committed_at": mark - timedelta(days=4)},
        ])
        # deployments: the value is the stored statuses' ids, space-joined in order
        batch.add(tables.DEPLOYMENTS.name, [
            {"repository": "acme/a", "deployment_id": d, "created_at": mark - timedelta(hours=h)}
            for d, h in ((7, 1), (8, 2), (6, 100))])
        batch.add(tables.DEPLOYMENT_STATUSES.name, [
            {"repository": "acme/a", "deployment_id": d, "status_id": s}
            for d, s in ((7, "DS_b"), (7, "DS_a"), (6, "DS_z"))]
            # the same deployment id in another repository is another deployment
            + [{"repository": "acme/b", "deployment_id": 8, "status_id": "DS_other"}])
        warehouse.load(batch)
        streams = {"pull_requests": (tables.PULL_REQUESTS.name, "number", "updated_at",
                                     "updated_at", 3600, None),
                   "commits": (tables.COMMITS.name, "sha", "committed_at", "branch",
                               3 * 86400, None),
                   "issues": (tables.ISSUES.name, "number", "updated_at", "updated_at", 0,
                              None),
                   "deployments": (tables.DEPLOYMENTS.name, "deployment_id", "created_at",
                                   "status_id", 3 * 86400, tables.DEPLOYMENT_STATUSES.name)}
        listed = warehouse.stored_keys("github", streams)
        assert listed.keys() == {("acme/a", "pull_requests"), ("acme/a", "commits"),
                                 ("acme/a", "deployments")}
        # values are text: a time with its offset (the session's zone), the branch as stored
        assert {k: parse_ts(v) for k, v in listed["acme/a", "pull_requests"].items()} == {
            "1": mark - timedelta(hours=1)}
        assert listed["acme/a", "commits"] == {"c1": "main"}
        assert listed["acme/a", "deployments"] == {"7": "DS_a DS_b", "8": None}
    finally:
        warehouse.close()
