"""A local BigQuery emulator (bqemulator, pinned in tests/bqemulator-requirements.txt) on
127.0.0.1 for the BigQuery tests: installed into its own venv on first use, started as a
subprocess on a free port, stopped at the end of the session.

The venv is `~/.cache/fourkeys/venv-bqemulator-<hash of the requirements>` (a changed
requirements file gets a new one; FOURKEYS_BQEMULATOR_VENV overrides the place). Building it takes
30-90 s, once per machine. A venv that cannot be built fails the tests with the command to run by
hand: the BigQuery path is never silently skipped.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "tests" / "bqemulator-requirements.txt"
SPATIAL_SCRIPT = ROOT / "tests" / "bqemulator_spatial.py"
START_TIMEOUT_SECONDS = 60.0
INSTALL_TIMEOUT_SECONDS = 600.0
PROJECT = "fourkeys-emulator"


class EmulatorUnavailable(RuntimeError):
    """The emulator could not be installed or started; the message says what to run."""


def venv_path() -> Path:
    """FOURKEYS_BQEMULATOR_VENV, else a venv per requirements version in the user's cache: it
    outlives the work tree, so CI on a machine that already built it pays nothing."""
    if os.environ.get("FOURKEYS_BQEMULATOR_VENV"):
        return Path(os.environ["FOURKEYS_BQEMULATOR_VENV"])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "fourkeys" / f"venv-bqemulator-{_fingerprint()[:12]}"


def install_command(venv: Path) -> str:
    home = venv / "duckdb-home"
    return (f"python3 -m venv {venv} && {venv}/bin/pip install -r {REQUIREMENTS} && "
            f"mkdir -p {home} && HOME={home} {venv}/bin/python {SPATIAL_SCRIPT} && "
            f"sha256sum {REQUIREMENTS} | cut -d' ' -f1 > {venv}/.installed")


def _fingerprint() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def _run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False,
                          timeout=INSTALL_TIMEOUT_SECONDS)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise EmulatorUnavailable(f"{' '.join(cmd)} failed:\n" + "\n".join(tail))


def ensure_venv() -> Path:
    """The emulator's venv, built (under a lock: test workers share it) when missing or stale."""
    venv = venv_path()
    marker = venv / ".installed"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.is_file() and marker.read_text().strip() == _fingerprint():
            return venv
        started = time.monotonic()
        log.info("building the BigQuery emulator's venv at %s", venv)
        try:
            if not (venv / "bin" / "python").is_file():
                _run([sys.executable, "-m", "venv", str(venv)])
            _run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                  "-r", str(REQUIREMENTS)])
            # DuckDB looks for extensions under $HOME/.duckdb: a HOME inside the venv keeps the
            # emulator's spatial extension out of the user's own
            (venv / "duckdb-home").mkdir(exist_ok=True)
            _run([str(venv / "bin" / "python"), str(SPATIAL_SCRIPT)],
                 env={**os.environ, "HOME": str(venv / "duckdb-home")})
        except (EmulatorUnavailable, OSError, subprocess.TimeoutExpired) as exc:
            raise EmulatorUnavailable(
                f"cannot build the BigQuery emulator venv ({exc}).\nBuild it by hand:\n  "
                f"{install_command(venv)}") from None
        marker.write_text(_fingerprint())
        log.info("BigQuery emulator venv built in %.0fs", time.monotonic() - started)
    return venv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Emulator:
    endpoint: str  # http://127.0.0.1:PORT, for FOURKEYS_BQ_API_ENDPOINT
    project: str
    process: subprocess.Popen[bytes]
    log_path: Path
    started_seconds: float

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@contextmanager
def running_emulator(work: Path) -> Iterator[Emulator]:
    """Start the emulator (ephemeral, in memory) and stop it on exit."""
    venv = ensure_venv()
    port = free_port()
    log_path = work / "bqemulator.log"
    cmd = [str(venv / "bin" / "bqemulator"), "start", "--rest-host", "127.0.0.1",
           "--rest-port", str(port), "--grpc-host", "127.0.0.1", "--grpc-port", "0",
           "--ephemeral", "--project", PROJECT, "--log-level", "warning",
           "--log-format", "console"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "BIGQUERY_"))}
    env["HOME"] = str(venv / "duckdb-home")
    started = time.monotonic()
    with open(log_path, "wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                   stdin=subprocess.DEVNULL)
    emulator = Emulator(f"http://127.0.0.1:{port}", PROJECT, process, log_path, 0.0)
    try:
        _wait_ready(emulator, started)
        emulator.started_seconds = time.monotonic() - started
        log.info("bqemulator ready on %s in %.1fs", emulator.endpoint, emulator.started_seconds)
        yield emulator
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_ready(emulator: Emulator, started: float) -> None:
    while time.monotonic() - started < START_TIMEOUT_SECONDS:
        if emulator.process.poll() is not None:
            raise EmulatorUnavailable(
                f"bqemulator exited with {emulator.process.returncode}:\n{emulator.log_tail()}")
        try:
            if httpx.get(f"{emulator.endpoint}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise EmulatorUnavailable(
        f"bqemulator not ready after {START_TIMEOUT_SECONDS:.0f}s:\n{emulator.log_tail()}")
