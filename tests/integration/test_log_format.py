"""`--log-format json`: every line a command writes to stderr is one JSON object."""

from __future__ import annotations

import json
from pathlib import Path

from fakes.generator import GeneratedOrg
from tests.conftest import TOKEN, run_cli, serve_org


def json_lines(stderr: str) -> list[dict[str, str]]:
    lines = stderr.strip().splitlines()
    assert lines
    parsed = [json.loads(line) for line in lines]  # raises on any non-JSON line
    assert all(isinstance(entry, dict) and {"level", "logger", "message"} <= entry.keys()
               for entry in parsed), parsed
    return parsed


def test_a_run_logs_json_lines_and_no_secret(small_org: GeneratedOrg, tmp_path: Path) -> None:
    for served in serve_org(small_org, tmp_path):
        result = run_cli("--log-format", "json", "run", "--config", str(served.config_path))
    assert result.returncode == 0, result.stderr
    entries = json_lines(result.stderr)
    messages = [entry["message"] for entry in entries]
    assert any(m.startswith("extracted ") for m in messages)
    assert any(m.startswith("transformed: ") and m.endswith("marts published") for m in messages)
    assert all(entry["ts"].endswith("Z") for entry in entries)
    assert TOKEN not in result.stderr


def test_an_error_is_one_json_line(tmp_path: Path) -> None:
    result = run_cli("--log-format", "json", "transform", "--config",
                     str(tmp_path / "missing.toml"))
    assert result.returncode == 1
    [entry] = json_lines(result.stderr)
    assert entry["level"] == "error"
    assert entry["message"].startswith(f"{tmp_path / 'missing.toml'}: config file not found")
