"""`fourkeys fake-api` serves a scenario file that the real CLI can extract from."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from fakes.generator import OrgSpec, generate
from tests.conftest import ROOT, TOKEN, run_cli, write_config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_fake_api_command_serves_a_scenario(tmp_path: Path) -> None:
    org = generate(OrgSpec(teams=1, services_per_team=2, months=1, seed=3))
    scenario_file = tmp_path / "scenario.json"
    scenario_file.write_text(json.dumps(org.scenario))
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fourkeys.cli", "fake-api", "--scenario", str(scenario_file),
         "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env={**os.environ})
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        config = write_config(org, tmp_path / "run", base)
        done = run_cli("extract", "--config", str(config), env={"GITHUB_TOKEN": TOKEN})
        assert done.returncode == 0, done.stderr
        assert "extracted" in done.stderr.splitlines()[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_fake_api_rejects_a_bad_scenario(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": 1, "now": "2026-01-01T00:00:00Z", "repos": []}))
    done = run_cli("fake-api", "--scenario", str(bad), "--port", str(_free_port()))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown key 'repos'" in lines[0]
    assert "Traceback" not in done.stderr
