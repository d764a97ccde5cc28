"""extractors/loads.Coalescer on a real DuckDB warehouse: batches written together keep each
batch's guarantees (rows with their watermarks, later reads winning, children replaced)."""

from __future__ import annotations

import threading
from pathlib import Path

from extractors.loads import Coalescer
from fourkeys.warehouse.base import LoadBatch, Table, Watermark
from fourkeys.warehouse.duckdb import DuckDBWarehouse

PULLS = Table("pulls", ("repository", "number"), {"repository": "VARCHAR", "number": "BIGINT",
                                                   "title": "VARCHAR"})
LABELS = Table("labels", ("repository", "number", "label"),
               {"repository": "VARCHAR", "number": "BIGINT", "label": "VARCHAR"},
               replace_by=("repository", "number"))


def _warehouse(tmp_path: Path) -> DuckDBWarehouse:
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.ensure_tables([PULLS, LABELS])
    return warehouse


def _page(number: int, title: str, labels: list[str], mark: str) -> LoadBatch:
    batch = LoadBatch(watermarks=[Watermark("github", "o/r", "pull_requests", mark)])
    batch.add("pulls", [{"repository": "o/r", "number": number, "title": title}])
    batch.add("labels", [{"repository": "o/r", "number": number, "label": label}
                         for label in labels])
    batch.replaced_parents["labels"] = [("o/r", number)]
    return batch


def test_batches_are_held_until_due_then_written_in_one_transaction(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    writes: list[LoadBatch] = []

    def write(batch: LoadBatch) -> None:
        writes.append(batch)
        warehouse.load(batch)

    loads = Coalescer(write, max_rows=4, max_seconds=3600)
    loads.load(_page(1, "one", ["a"], "2026-01-01T00:00:00Z"))  # 2 rows: held
    assert writes == []
    assert warehouse.con.execute("select count(*) from pulls").fetchone() == (0,)
    assert warehouse.watermarks("github") == {}
    loads.load(_page(2, "two", ["b"], "2026-01-02T00:00:00Z"))  # 4 rows: due
    assert len(writes) == 1
    assert warehouse.con.execute("select number from pulls order by 1").fetchall() == [(1,), (2,)]
    # the later batch's watermark won
    assert warehouse.watermarks("github")[("o/r", "pull_requests")].value == \
        "2026-01-02T00:00:00Z"
    loads.flush()
    assert len(writes) == 1  # nothing held: no transaction


def test_a_parent_read_twice_keeps_only_the_later_children(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    loads = Coalescer(warehouse.load, max_rows=10_000, max_seconds=3600)
    loads.load(_page(1, "first read", ["a", "stale"], "2026-01-01T00:00:00Z"))
    loads.load(_page(1, "second read", ["a"], "2026-01-02T00:00:00Z"))
    loads.flush()
    assert warehouse.con.execute("select title from pulls").fetchall() == [("second read",)]
    assert warehouse.con.execute("select label from labels").fetchall() == [("a",)]


def test_an_unflushed_batch_is_lost_whole_rows_and_watermark(tmp_path: Path) -> None:
    """A kill before the write: neither the rows nor their watermark, so the next run reads
    them again."""
    warehouse = _warehouse(tmp_path)
    loads = Coalescer(warehouse.load, max_rows=10_000, max_seconds=3600)
    loads.load(_page(1, "one", ["a"], "2026-01-01T00:00:00Z"))
    warehouse.close()  # the process dies here
    reopened = DuckDBWarehouse(tmp_path / "w.duckdb")
    assert reopened.con.execute("select count(*) from pulls").fetchone() == (0,)
    assert reopened.watermarks("github") == {}


def test_concurrent_loads_lose_nothing_and_keep_each_writers_order(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    loads = Coalescer(warehouse.load, max_rows=7, max_seconds=3600)

    def unit(repository: str) -> None:
        for number in range(1, 51):
            batch = LoadBatch(watermarks=[Watermark("github", repository, "pull_requests",
                                                    f"{number:04d}")])
            batch.add("pulls", [{"repository": repository, "number": number % 5,
                                 "title": f"read {number}"}])
            loads.load(batch)

    threads = [threading.Thread(target=unit, args=(f"o/r{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    loads.flush()
    rows = warehouse.con.execute(
        "select repository, number, title from pulls order by 1, 2").fetchall()
    # each repository's last read of each number won (number 0 last read 50, 1 read 46, ...)
    assert rows == [(f"o/r{i}", n, f"read {50 - (5 - n) % 5}") for i in range(4)
                    for n in range(5)]
    marks = warehouse.watermarks("github")
    assert {key: mark.value for key, mark in marks.items()} == {
        (f"o/r{i}", "pull_requests"): "0050" for i in range(4)}
