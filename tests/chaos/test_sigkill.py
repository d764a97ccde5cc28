"""SIGKILL `fourkeys run` at seeded random points, sometimes twice, then run it cleanly: the
published marts equal an uninterrupted run's, row for row.

Each trial's kill points are drawn from its own seeded generator, in four kinds of window:
`extract` (after k of the units reported done, with at least two still loading), `dbt` (while
dbt parses, or when its n-th node starts), `publish` (dbt is done; the marts are being copied
into `main` or the new published file is being written beside the old one) and `anywhere` (a
uniform time over the baseline run's whole duration). A kill aimed at a stage is checked to have
landed in it. At every kill the published file is either absent (nothing was published yet) or
readable and equal to the baseline's: never half-written.
"""

from __future__ import annotations

import math
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.chaos.conftest import (
    DBT_DONE,
    DBT_NODE_START,
    EXTRACTED,
    SLOW,
    UNIT_DONE,
    Chaos,
    RecordProperty,
    Run,
    StageTimes,
    error_lines,
)

TRIALS = 20
SEED = 20260308
KINDS = ("extract", "dbt", "publish", "anywhere")


@dataclass(frozen=True)
class Kill:
    kind: str
    draw: float  # uniform in [0, 1): where in the kind's window
    variant: int  # publish: 0 = the new file is being written, 1 = between dbt and the publish


@dataclass(frozen=True)
class Trial:
    index: int
    completed: bool  # starts from a warehouse whose last run published (else an empty folder)
    kills: tuple[Kill, ...]


def plan(index: int) -> Trial:
    """Kinds take turns; every fifth trial kills twice; every other four start from a published
    warehouse."""
    rng = random.Random(SEED + index)
    kinds = [KINDS[index % len(KINDS)]]
    if index % 5 == 4:
        kinds.append(KINDS[(index // 5) % 3])
    kills = tuple(Kill(kind, rng.random(), (index // len(KINDS) + n) % 2)
                  for n, kind in enumerate(kinds))
    return Trial(index, completed=(index // len(KINDS)) % 2 == 1, kills=kills)


def kill_at(run: Run, kill: Kill, times: StageTimes) -> str | None:
    """Wait for the kill's moment and SIGKILL the run; the stage it died in (None: it had
    finished first)."""
    if kill.kind == "extract":
        units = 1 + int(kill.draw * (times.units - 2))
        run.until(lambda: run.err.count(UNIT_DONE) >= units)
    elif kill.kind == "dbt":
        whole = times.dbt_done - times.extracted
        parsing = times.dbt_first_node - times.extracted
        at = kill.draw * whole
        if at < parsing:
            if run.until(lambda: run.err.count(EXTRACTED) > 0):
                run.sleep(0.8 * at)
        else:
            node = max(1, math.ceil((at - parsing) / (whole - parsing) * times.dbt_nodes))
            run.until(lambda: run.dbt.count(DBT_NODE_START) >= node)
    elif kill.kind == "publish" and kill.variant == 0:
        temporary = run.workspace.directory / f".{run.workspace.published.name}.{run.proc.pid}.tmp"
        if run.until(temporary.exists):
            run.sleep(0.004 * kill.draw)
    elif kill.kind == "publish":
        if run.until(lambda: run.dbt.count(DBT_DONE) > 0):
            run.sleep(0.8 * kill.draw * (times.published - times.dbt_done))
    else:
        run.sleep(kill.draw * times.exited)
    killed = run.kill()
    return run.stage() if killed else None


@pytest.mark.parametrize("index", range(TRIALS))
def test_sigkill_then_a_clean_run_publishes_the_uninterrupted_marts(
    index: int, chaos: Chaos, tmp_path: Path, record_property: RecordProperty
) -> None:
    trial = plan(index)
    space = chaos.workspace(tmp_path / "warehouse", completed=trial.completed)
    story = [f"trial {index} ({'published' if trial.completed else 'empty'} warehouse)"]
    landed: list[str] = []
    for kill in trial.kills:
        chaos.faults(SLOW)
        run = chaos.start(space)
        try:
            stage = kill_at(run, kill, chaos.baseline.times)
        finally:
            run.kill()
        if stage == "publish" and (space.directory
                                   / f".{space.published.name}.{run.proc.pid}.tmp").exists():
            stage = "publish (new file half-written)"
        landed.append(stage or "finished first")
        story.append(f"{kill.kind} kill (draw {kill.draw:.3f}, variant {kill.variant}) after "
                     f"{time.monotonic() - run.started:.2f}s: landed in {landed[-1]}; "
                     f"beside the published file: {space.publish_leftovers()}")
        context = "\n".join(story) + "\n" + run.stderr[-3000:]
        if stage is None:
            assert kill.kind == "anywhere" and run.proc.returncode == 0, context
        elif kill.kind != "anywhere":
            assert stage.split(" ")[0] == kill.kind, context
        # the published file at the kill: none yet, or the last complete one, readable
        if space.published.exists():
            chaos.assert_baseline(space.published, context)
        else:
            assert not trial.completed and "after publish" not in landed, context
    chaos.faults(None)
    code, stderr = chaos.run(space)
    context = "\n".join(story) + "\nclean run:\n" + stderr[-3000:]
    assert code == 0, context
    assert error_lines(stderr) == [], context
    chaos.assert_baseline(space.published, context)
    assert space.publish_leftovers() == [], context
    record_property("chaos.sigkill_trials", 1)
    record_property("chaos.kills", sum(stage != "finished first" for stage in landed))
    for stage in landed:
        record_property("chaos.landed", stage)
    print("\n".join(story))
    shutil.rmtree(space.directory)  # ~30 MB a trial; a failing trial keeps its files
