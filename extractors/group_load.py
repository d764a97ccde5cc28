"""Loads of concurrent units, committed together.

Each unit hands its batch (rows and watermarks) to `GroupLoader.load` and waits until it is
committed, as with a plain `warehouse.load`. Batches that arrive while another commit is under
way queue up; the next caller to find the warehouse free loads every queued batch in one
transaction (a database's "group commit"). A merge statement costs a few milliseconds whatever
it holds, and a refresh of 1,000 repositories loaded ~1,000 small batches one by one.

What a transaction guarantees is unchanged: each batch lands whole with its watermarks or not
at all, so a killed run leaves every unit at a watermark. A unit never has two batches queued
(it waits for each), so its rows keep their order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from fourkeys.warehouse.base import LoadBatch


@dataclass
class _Pending:
    batch: LoadBatch
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class GroupLoader:
    def __init__(self, load: Callable[[LoadBatch], None]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._loading = False
        self.batches = self.transactions = 0

    @property
    def queued(self) -> int:
        """Batches waiting for the next group."""
        with self._lock:
            return len(self._queue)

    def load(self, batch: LoadBatch) -> None:
        """Commit `batch`, possibly with others; returns when it is committed, raises what
        the load of its group raised."""
        mine = _Pending(batch)
        with self._lock:
            self._queue.append(mine)
            if self._loading:  # the caller loading now (or next) takes this one too
                leader = False
            else:
                self._loading = leader = True
        if not leader:
            mine.done.wait()
        else:
            self._lead()
        if mine.error is not None:
            raise mine.error

    def _lead(self) -> None:
        """Load queued groups until the queue is empty, then hand the warehouse back."""
        while True:
            with self._lock:
                group, self._queue = self._queue, []
                if not group:
                    self._loading = False
                    return
            self.batches += len(group)
            self.transactions += 1
            combined = LoadBatch()
            for pending in group:
                combined.extend(pending.batch)
            error: BaseException | None = None
            try:
                self._load(combined)
            except BaseException as exc:  # every caller of the group sees it
                error = exc
            for pending in group:
                pending.error = error
                pending.done.set()
