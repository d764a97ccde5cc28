"""Concurrent units' batches commit together (extractors/group_load.py), each whole."""

from __future__ import annotations

import threading
import time

import pytest

from extractors.group_load import GroupLoader
from fourkeys.warehouse.base import LoadBatch, Watermark


def batch(unit: int) -> LoadBatch:
    out = LoadBatch(watermarks=[Watermark("github", f"acme/r{unit}", "commits", str(unit))])
    out.add("t", [{"unit": unit, "row": i} for i in range(3)])
    return out


def test_batches_queued_during_a_load_commit_in_one_group_each_whole() -> None:
    loads: list[LoadBatch] = []
    first_started, release = threading.Event(), threading.Event()

    def slow_load(combined: LoadBatch) -> None:
        loads.append(combined)
        if len(loads) == 1:  # hold the first load until the others queued behind it
            first_started.set()
            assert release.wait(10)

    loader = GroupLoader(slow_load)
    threads = [threading.Thread(target=loader.load, args=(batch(0),))]
    threads[0].start()
    assert first_started.wait(10)
    for unit in range(1, 5):
        threads.append(threading.Thread(target=loader.load, args=(batch(unit),)))
        threads[-1].start()
    deadline = time.monotonic() + 10
    while loader.queued < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()

    # the first alone, then the four that waited, in one load, nothing lost or doubled
    assert len(loads) == 2
    assert [w.value for w in loads[0].watermarks] == ["0"]
    assert sorted(w.value for w in loads[1].watermarks) == ["1", "2", "3", "4"]
    assert sorted((r["unit"], r["row"]) for r in loads[1].rows["t"]) == [
        (u, i) for u in range(1, 5) for i in range(3)]


def test_every_caller_of_a_failed_group_sees_the_error_and_the_next_group_loads() -> None:
    calls = 0

    def failing_once(combined: LoadBatch) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("disk full")

    loader = GroupLoader(failing_once)
    with pytest.raises(RuntimeError, match="disk full"):
        loader.load(batch(1))
    loader.load(batch(2))  # the loader is free again
    assert calls == 2
