"""DuckDB loads from several threads share transactions (group commit) and end as if each
batch had been written alone, in the order the threads handed them over."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest

from fourkeys.warehouse.base import LoadBatch, Table, Watermark
from fourkeys.warehouse.duckdb import DuckDBWarehouse, _compatible, _Pending

PARENTS = Table("parents", ("repository", "number"), {"repository": "VARCHAR", "number": "BIGINT",
                                                       "title": "VARCHAR"})
CHILDREN = Table("children", ("repository", "number", "sha"),
                 {"repository": "VARCHAR", "number": "BIGINT", "sha": "VARCHAR"},
                 replace_by=("repository", "number"))


def batch(repository: str, number: int, shas: list[str], title: str) -> LoadBatch:
    out = LoadBatch()
    out.add("parents", [{"repository": repository, "number": number, "title": title}])
    out.add("children", [{"repository": repository, "number": number, "sha": s} for s in shas])
    out.replaced_parents["children"] = [(repository, number)]
    out.watermarks.append(Watermark("github", repository, "pulls", title))
    return out


def rows(path: Path) -> tuple[list[tuple], list[tuple], list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return tuple(con.execute(f"select {columns} from {table} order by all").fetchall()
                     for table, columns in (("parents", "repository, number, title"),
                                            ("children", "repository, number, sha"),
                                            ("_watermarks", "partition, value")))  # type: ignore[return-value]
    finally:
        con.close()


def test_concurrent_loads_end_as_sequential_ones(tmp_path: Path) -> None:
    batches = [batch(f"acme/r{r}", n, [f"{r}-{n}-{k}" for k in range(n % 3 + 1)], f"t{r}-{n}")
               for r in range(8) for n in range(1, 26)]
    sequential = DuckDBWarehouse(tmp_path / "sequential.duckdb")
    sequential.ensure_tables([PARENTS, CHILDREN])
    for b in batches:
        sequential.load(b)
    sequential.close()

    grouped = DuckDBWarehouse(tmp_path / "grouped.duckdb")
    grouped.ensure_tables([PARENTS, CHILDREN])
    writes = 0
    write = grouped._write

    def counted(together: LoadBatch) -> None:
        nonlocal writes
        writes += 1
        write(together)

    grouped._write = counted  # type: ignore[method-assign]

    def worker(repository: int) -> None:  # one repository per thread, as the extractor's units
        for b in batches[repository * 25:(repository + 1) * 25]:
            grouped.load(b)

    threads = [threading.Thread(target=worker, args=(r,)) for r in range(8)]
    with grouped._lock:  # the connection busy until every thread's first batch waits for it
        for t in threads:
            t.start()
        while len(grouped._queue) < len(threads):
            time.sleep(0.01)
    for t in threads:
        t.join()
    grouped.close()
    assert rows(tmp_path / "grouped.duckdb") == rows(tmp_path / "sequential.duckdb")
    assert len(rows(tmp_path / "grouped.duckdb")[1]) == sum(n % 3 + 1 for n in range(1, 26)) * 8
    assert writes <= len(batches) - 7  # the eight first batches shared one transaction


def test_a_batch_replacing_children_of_an_earlier_one_waits_for_the_next_group() -> None:
    first = _Pending(batch("acme/a", 1, ["x"], "one"))
    other = _Pending(batch("acme/b", 1, ["y"], "two"))
    again = _Pending(batch("acme/a", 1, ["z"], "three"))  # replaces the children `first` writes
    tables = {"parents": PARENTS, "children": CHILDREN}
    assert _compatible([first, other, again], tables) == [first, other]
    assert _compatible([again], tables) == [again]


def test_a_failed_group_write_fails_every_batch_in_it_and_writes_nothing(tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.ensure_tables([PARENTS, CHILDREN])
    warehouse.load(batch("acme/a", 1, ["x"], "kept"))
    bad = batch("acme/b", 2, ["y"], "lost")
    bad.add("children", [{"repository": "acme/b", "number": None, "sha": "z"}])  # NOT NULL key
    with pytest.raises(duckdb.Error):
        warehouse.load(bad)
    warehouse.close()
    assert rows(tmp_path / "w.duckdb") == ([("acme/a", 1, "kept")], [("acme/a", 1, "x")],
                                          [("acme/a", "kept")])
