"""Two `fourkeys run` processes started together on one warehouse: one runs and the other skips
(exit 0, one line), or with `--wait` the second runs after the first; either way the published
marts are the uninterrupted run's and the runs never interleave."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from tests.chaos.conftest import PUBLISHED, Chaos, RecordProperty, error_lines


def _runs(warehouse: Path) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("select command, status, started_at, ended_at from _runs "
                           "order by started_at").fetchall()
    finally:
        con.close()


def test_two_runs_at_once_one_runs_the_other_skips(
    chaos: Chaos, tmp_path: Path, record_property: RecordProperty
) -> None:
    space = chaos.workspace(tmp_path / "warehouse", completed=False)
    runs = [chaos.start(space), chaos.start(space)]
    codes = [run.wait() for run in runs]
    stderrs = [run.stderr for run in runs]
    assert codes == [0, 0], stderrs
    skipped = [s for s in stderrs if "skipped" in s]
    assert len(skipped) == 1, stderrs
    assert skipped[0].strip().splitlines() == [
        f"fourkeys: another fourkeys command holds {space.lock}; skipped (nothing written; "
        "--wait waits for it)"]
    ran = next(s for s in stderrs if s is not skipped[0])
    assert PUBLISHED in ran and error_lines(ran) == [], ran
    assert [r[:2] for r in _runs(space.warehouse)] == [("extract", "success"),
                                                              ("transform", "success")]
    chaos.assert_baseline(space.published)
    record_property("chaos.concurrent", 1)
    shutil.rmtree(space.directory)


def test_two_runs_at_once_with_wait_run_one_after_the_other(
    chaos: Chaos, tmp_path: Path, record_property: RecordProperty
) -> None:
    space = chaos.workspace(tmp_path / "warehouse", completed=False)
    runs = [chaos.start(space, "--wait"), chaos.start(space, "--wait")]
    codes = [run.wait() for run in runs]
    stderrs = [run.stderr for run in runs]
    assert codes == [0, 0], stderrs
    assert all(PUBLISHED in s and error_lines(s) == [] for s in stderrs), stderrs
    assert sum("waiting for it" in s for s in stderrs) == 1, stderrs
    history = _runs(space.warehouse)
    assert [r[:2] for r in history] == [("extract", "success"), ("transform", "success")] * 2
    first_ended, second_started = history[1][3], history[2][2]
    assert first_ended <= second_started, history  # the second waited for the whole first run
    chaos.assert_baseline(space.published)
    record_property("chaos.concurrent", 1)
    shutil.rmtree(space.directory)
