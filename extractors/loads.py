"""Load batches coalesced into fewer, larger warehouse transactions.

Every unit of a run hands the warehouse small `LoadBatch`es: a page of one repository, one
workflow's runs, one Heroku app's releases. Each warehouse transaction costs about the same
whatever its size (DuckDB's merge scans the raw table to find the batch's keys; BigQuery runs a
load job and a MERGE, and counts DML statements against a quota), so a 1,000-repository refresh
spent most of its extract time in thousands of tiny transactions (bench/scale.py). `Coalescer`
holds complete batches and writes them together, in one transaction, once they hold
`max_rows` rows or the oldest has waited `max_seconds`, and at the end of the run.

What a batch guarantees is kept: its rows and the watermarks they justify are in the same
transaction, so a killed run loses only batches not yet written, whose watermarks were not
written either, and the next run reads them again. Flushes are serialised and keep the order
batches came in: a later page's rows and watermark always win over an earlier one's. A batch
that replaces the children of a parent already held (the same pull request read twice in one
run) first flushes what is held: the merged transaction would delete the children once and
keep the earlier read's extra children.

`FOURKEYS_LOAD_MAX_ROWS` (environment, read when a run starts) overrides `max_rows`; `1` writes
every batch as it comes (the kill tests use it, to land kills between many transactions).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from fourkeys.errors import FourKeysError
from fourkeys.warehouse.base import LoadBatch

MAX_ROWS = 20_000  # a refresh of 1,000 repositories is one or two transactions
MAX_SECONDS = 30.0  # what a kill can cost: at most this much extraction is read again
MAX_ROWS_ENV = "FOURKEYS_LOAD_MAX_ROWS"


def max_rows_from_env(default: int = MAX_ROWS) -> int:
    """`FOURKEYS_LOAD_MAX_ROWS`, or `default` when it is unset."""
    raw = os.environ.get(MAX_ROWS_ENV, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise FourKeysError(f"{MAX_ROWS_ENV}={raw!r} is not a whole number of rows >= 1; "
                            "use e.g. 20000 or unset it")
    return int(raw)


class Coalescer:
    def __init__(self, write: Callable[[LoadBatch], None], *, max_rows: int = MAX_ROWS,
                 max_seconds: float = MAX_SECONDS) -> None:
        self._write = write
        self.max_rows = max_rows
        self.max_seconds = max_seconds
        self._held = LoadBatch()
        self._held_rows = 0
        self._held_since: float | None = None
        self._parents: set[tuple[str, tuple[object, ...]]] = set()
        self._hold = threading.Lock()  # the held batch (short)
        self._flushing = threading.Lock()  # one write at a time, in the order taken

    def load(self, batch: LoadBatch) -> None:
        """Hold `batch`; write what is held when it is due."""
        parents = {(table, tuple(parent)) for table, rows in batch.replaced_parents.items()
                   for parent in rows}
        while True:
            with self._hold:
                if not parents & self._parents:
                    self._held.extend(batch)
                    self._held_rows += batch.row_count()
                    self._parents |= parents
                    if self._held_since is None:
                        self._held_since = time.monotonic()
                    due = (self._held_rows >= self.max_rows
                           or time.monotonic() - self._held_since >= self.max_seconds)
                    break
            self.flush()  # a parent already held: write it before this batch replaces it
        if due:
            self.flush()

    def flush(self) -> None:
        """Write everything held, in one transaction (nothing held: no transaction)."""
        with self._flushing:
            with self._hold:
                held, self._held = self._held, LoadBatch()
                self._held_rows = 0
                self._held_since = None
                self._parents = set()
            if held.rows or held.replaced_parents or held.watermarks:
                self._write(held)
