"""One writer per warehouse: a second run skips (exit 0, one line) or waits with --wait."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from fakes.generator import GeneratedOrg
from fourkeys.lock import lock_path, run_lock
from tests.conftest import ROOT, TOKEN, run_cli, serve_org


def test_a_second_run_skips_while_the_first_holds_the_warehouse(small_org: GeneratedOrg,
                                                                tmp_path: Path) -> None:
    for served in serve_org(small_org, tmp_path):
        with run_lock(served.warehouse_path):
            results = [run_cli(command, "--config", str(served.config_path))
                       for command in ("run", "extract", "transform")]
        for result in results:
            assert result.returncode == 0, result.stderr
            assert result.stderr.strip().splitlines() == [
                f"fourkeys: another fourkeys command holds "
                f"{lock_path(served.warehouse_path.resolve())}; skipped (nothing written; "
                "--wait waits for it)"]
        assert not served.warehouse_path.exists()  # nothing was written


def test_run_with_wait_runs_once_the_lock_is_released(small_org: GeneratedOrg,
                                                      tmp_path: Path) -> None:
    for served in serve_org(small_org, tmp_path):
        env = {**os.environ, "GITHUB_TOKEN": TOKEN, "DO_NOT_TRACK": "1"}
        with run_lock(served.warehouse_path):
            waiting = subprocess.Popen(
                [sys.executable, "-m", "fourkeys.cli", "run", "--wait", "--config",
                 str(served.config_path)], cwd=str(ROOT), env=env, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            deadline = time.monotonic() + 60
            # it has started and is waiting: it says so, and writes nothing
            while "waiting for it" not in (line := waiting.stderr.readline()):
                assert line and time.monotonic() < deadline, "the run did not wait"
            assert waiting.poll() is None
            assert not served.warehouse_path.exists()
        _, rest = waiting.communicate(timeout=300)
        assert waiting.returncode == 0, rest
        con = duckdb.connect(str(served.warehouse_path), read_only=True)
        try:
            runs = con.execute("select command, status from _runs order by started_at")
            assert runs.fetchall() == [("extract", "success"), ("transform", "success")]
        finally:
            con.close()
