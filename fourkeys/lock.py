"""One writer per warehouse: an advisory lock on `<warehouse>.lock` held for a whole command.

A second `fourkeys run` (cron overlapping a slow run, or a person at a terminal) does not fight
the first for DuckDB's file lock halfway through: it finds the run lock taken at the start and
skips (exit 0, one line) or, with `--wait`, waits for it. The kernel drops the lock when the
holder dies, so a killed run never leaves it stale. Re-entrant within a process: `run` holds it
for extract and transform.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

_held: dict[Path, int] = {}
_guard = threading.Lock()


class AlreadyRunning(Exception):  # a state, not an error: the CLI exits 0
    def __init__(self, lock_path: Path) -> None:
        super().__init__(str(lock_path))
        self.lock_path = lock_path


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


@contextmanager
def run_lock(warehouse: Path, *, wait: bool = False) -> Iterator[None]:
    path = lock_path(warehouse.resolve())
    with _guard:
        if path in _held:
            _held[path] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _guard:
                _held[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise AlreadyRunning(path) from None
            log.info("another fourkeys command is using %s; waiting for it", warehouse)
            fcntl.flock(fd, fcntl.LOCK_EX)
        with _guard:
            _held[path] = 1
        try:
            yield
        finally:
            with _guard:
                del _held[path]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
