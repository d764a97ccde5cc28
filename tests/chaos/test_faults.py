"""A fault injected into each stage of `fourkeys run` over a warehouse whose last run published:
the run stops with the contract's exit code and one clear line (no traceback), the published
file is byte for byte the one before (and still reads as the baseline), and a following clean
run recovers to the uninterrupted run's marts.

Exit codes as the project defines them (README, docs/operations.md, tests/bad_inputs): 2 when
the rate-limit budget is spent (resumable), 1 when a service keeps failing after the retries,
when dbt fails on the data, or when the warehouse file is unusable or held by another process.

Not here: a read-only warehouse folder. The suite runs as root in CI, which ignores permission
bits, and the venv's interpreter lives under /root, so an unprivileged child cannot run it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.chaos.conftest import Chaos, RecordProperty, Workspace, error_lines


def stopped_cleanly(code: int, stderr: str, exit_code: int, says: tuple[str, ...]) -> str:
    """The contract's exit code and exactly one error line, the last; log records may precede
    it, a traceback never."""
    errors = error_lines(stderr)
    assert code == exit_code, stderr
    assert len(errors) == 1 and stderr.rstrip().splitlines()[-1] == errors[0], stderr
    assert errors[0].startswith("fourkeys: error: "), errors[0]
    for words in says:
        assert words in errors[0], f"{words!r} not in: {errors[0]}"
    return errors[0]


def unchanged(chaos: Chaos, space: Workspace, digest: str | None) -> None:
    """The published file is the one before, byte for byte, and reads as the baseline."""
    assert digest is not None and space.published_digest() == digest
    chaos.assert_baseline(space.published, "after the faulty run")
    assert space.publish_leftovers() == []


def recovers(chaos: Chaos, space: Workspace, *flags: str) -> None:
    code, stderr = chaos.run(space, *flags)
    assert code == 0, stderr
    assert error_lines(stderr) == [], stderr
    chaos.assert_baseline(space.published, "after the recovery run")
    assert space.publish_leftovers() == []


def last_run(space: Workspace) -> tuple[str, str]:
    con = duckdb.connect(str(space.warehouse), read_only=True)
    try:
        command, status = con.execute("select command, status from _runs "
                                      "order by started_at desc limit 1").fetchall()[0]
        return command, status
    finally:
        con.close()


@dataclass(frozen=True)
class ApiFault:
    id: str
    spec: str | None  # fakes/faults.py SPEC; None: GitHub's GraphQL budget is spent instead
    exit_code: int
    says: tuple[str, ...]


API_FAULTS = [
    ApiFault("graphql_budget_spent", None, 2,
             ("graphql rate limit is spent", "run again after the reset to resume")),
    ApiFault("graphql_secondary_limit", "secondary_403@graphql:1+", 1,
             ("gave up after 6 attempts", "rate limited (403)", "re-run later")),
    ApiFault("graphql_502", "502@graphql:1+", 1, ("gave up after 6 attempts", "HTTP 502")),
    ApiFault("rest_503", "503@rest:1+", 1, ("workflow", "gave up after 6 attempts", "HTTP 503")),
    ApiFault("graphql_malformed_page", "malformed@graphql:1+", 1,
             ("gave up after 6 attempts", "malformed JSON", "request id")),
]


def test_api_faults_in_extract_keep_the_published_marts(
    chaos: Chaos, tmp_path: Path, record_property: RecordProperty
) -> None:
    """Each fault in turn on one warehouse (each run stops in extract, before dbt), then one
    clean run resumes from whatever the stopped runs loaded."""
    space = chaos.workspace(tmp_path / "warehouse", completed=True)
    digest = space.published_digest()
    for fault in API_FAULTS:
        if fault.spec:
            chaos.faults(fault.spec)
        else:
            chaos.graphql_budget(spent=True)
        code, stderr = chaos.run(space)
        if fault.spec:
            kind = fault.spec.split("@")[0]
            assert chaos.faults_served().get(kind, 0) >= 1, (fault.id, chaos.faults_served())
        stopped_cleanly(code, stderr, fault.exit_code, fault.says)
        status = "partial" if fault.exit_code == 2 else "failed"
        assert last_run(space) == ("extract", status), fault.id
        unchanged(chaos, space, digest)
        chaos.faults(None)
        chaos.graphql_budget(spent=False)
        record_property("chaos.faults", 1)
    recovers(chaos, space)
    shutil.rmtree(space.directory)


def test_failing_dbt_model_keeps_the_published_marts(
    chaos: Chaos, tmp_path: Path, record_property: RecordProperty
) -> None:
    space = chaos.workspace(tmp_path / "warehouse", completed=True)
    digest = space.published_digest()
    con = duckdb.connect(str(space.warehouse))
    try:
        # valid JSON, but not the PR numbers staging casts them to (as tests/integration/
        # test_transform.py does): the model's tests fail and nothing downstream builds
        con.execute("""update raw_github_commits set pull_request_numbers = '["not-a-number"]'
                       where sha = (select min(sha) from raw_github_commits)""")
    finally:
        con.close()
    code, stderr = chaos.run(space)
    stopped_cleanly(code, stderr, 1, ("transform failed", "previously published marts are "
                                      "unchanged"))
    assert "stg_github__commit_pull_requests" in stderr
    assert last_run(space) == ("transform", "failed")
    unchanged(chaos, space, digest)
    # a full refresh reads every row again, the broken one included, and rebuilds the marts
    recovers(chaos, space, "--full-refresh")
    record_property("chaos.faults", 1)
    shutil.rmtree(space.directory)


def _garbage_over_everything(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def _garbage_after_the_header(path: Path) -> None:
    """Valid file headers, every block after them garbage (a disk that lost its writes)."""
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.seek(_HEADER)
        fh.write(os.urandom(size - _HEADER))


def _garbage_in_a_raw_table(path: Path) -> None:
    """One block of raw_github_commits' data garbage: the file opens, reading the table fails."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        block_size = con.execute("select block_size from pragma_database_size()").fetchall()[0][0]
        block = con.execute("select min(block_id) from pragma_storage_info('raw_github_commits') "
                            "where persistent and block_id >= 0").fetchall()[0][0]
    finally:
        con.close()
    with open(path, "r+b") as fh:
        fh.seek(_HEADER + block * block_size + 64)
        fh.write(os.urandom(4096))


_HEADER = 3 * 4096  # DuckDB's main header and its two database headers


CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "garbage_over_everything": _garbage_over_everything,
    "garbage_after_the_header": _garbage_after_the_header,
    "garbage_in_a_raw_table": _garbage_in_a_raw_table,
}


@pytest.mark.parametrize("corrupt", list(CORRUPTIONS))
def test_corrupt_warehouse_keeps_the_published_marts(
    corrupt: str, chaos: Chaos, tmp_path: Path, record_property: RecordProperty
) -> None:
    space = chaos.workspace(tmp_path / "warehouse", completed=True)
    digest = space.published_digest()
    CORRUPTIONS[corrupt](space.warehouse)
    code, stderr = chaos.run(space)
    stopped_cleanly(code, stderr, 1, (str(space.warehouse), "not a usable DuckDB file",
                                      "move it aside"))
    unchanged(chaos, space, digest)
    if corrupt == "garbage_in_a_raw_table":  # the recovery is the same for the three
        # what the line and docs/operations.md say: move it aside, run with a full refresh
        space.warehouse.rename(space.warehouse.with_name("fourkeys.duckdb.corrupt"))
        recovers(chaos, space, "--full-refresh")
    record_property("chaos.faults", 1)
    shutil.rmtree(space.directory)


def test_warehouse_held_by_another_process_keeps_the_published_marts(
    chaos: Chaos, tmp_path: Path, record_property: RecordProperty
) -> None:
    space = chaos.workspace(tmp_path / "warehouse", completed=True)
    digest = space.published_digest()
    # a DuckDB shell on the warehouse itself: DuckDB's own file lock, not our run lock
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
         "print('open', flush=True); sys.stdin.read()", str(space.warehouse)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        code, stderr = chaos.run(space)
    finally:
        holder.communicate(timeout=60)  # closes its stdin: it exits
    stopped_cleanly(code, stderr, 1, ("locked by another process",))
    unchanged(chaos, space, digest)
    recovers(chaos, space)
    record_property("chaos.faults", 1)
    shutil.rmtree(space.directory)


def test_garbage_published_file_is_replaced(
    chaos: Chaos, tmp_path: Path, record_property: RecordProperty
) -> None:
    space = chaos.workspace(tmp_path / "warehouse", completed=True)
    space.published.write_bytes(os.urandom(space.published.stat().st_size))
    recovers(chaos, space)
    record_property("chaos.faults", 1)
    shutil.rmtree(space.directory)
