"""The GitHub and Heroku tokens never leave the Authorization header.

Runs through the real CLI in fresh processes: a full extract with debug logging (`-v`), runs with
retriable faults, and runs whose token is rejected (GitHub and Heroku). Every byte they print,
every value of every table in the warehouse (cast to varchar), and the DuckDB file's bytes are
searched for either token or a fragment of it.

The tokens are handed over in variables whose names do not look secret (`token_env` says which),
so the log redaction (which masks values of *TOKEN*/*API_KEY*… variables) cannot hide a leak:
a token that reached any message would show here. And nothing was redacted either (no `***`):
no token ever reached a message in the first place.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from fakes.generator import GeneratedOrg
from tests.conftest import HEROKU_TOKEN, ROOT, TOKEN, serve_org

GITHUB_VAR, HEROKU_VAR = "FK_GITHUB_CREDENTIAL", "FK_HEROKU_CREDENTIAL"
NEEDLES = {
    "github token": TOKEN.encode(),
    "github token fragment": TOKEN[8:24].encode(),
    "heroku token": HEROKU_TOKEN.encode(),
    "heroku token fragment": HEROKU_TOKEN[10:26].encode(),
}


def _extract(config: Path, *flags: str) -> subprocess.CompletedProcess[bytes]:
    text = config.read_text()
    for default, ours in (("GITHUB_TOKEN", GITHUB_VAR), ("HEROKU_API_KEY", HEROKU_VAR)):
        assert f'token_env = "{default}"' in text
        text = text.replace(f'token_env = "{default}"', f'token_env = "{ours}"')
    config.write_text(text)
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "HEROKU_API_KEY")}
    env.update({GITHUB_VAR: TOKEN, HEROKU_VAR: HEROKU_TOKEN, "FOURKEYS_RETRY_BASE_SECONDS": "0.05"})
    return subprocess.run([sys.executable, "-m", "fourkeys.cli", *flags, "extract", "--config",
                           str(config)], capture_output=True, env=env, cwd=str(ROOT), timeout=120)


def _leaks(blob: bytes) -> list[str]:
    return [name for name, needle in NEEDLES.items() if needle in blob]


def test_tokens_never_printed_logged_or_stored(small_org: GeneratedOrg, tmp_path: Path) -> None:
    runs = [  # (fault spec, expected exit code)
        (None, 0),
        ("502@graphql:1,429@rest:1,malformed@heroku:1,secondary_403@graphql:3,malformed@rest:2",
         0),
        ("401@graphql:1", 1),
        ("401@heroku:1", 1),
    ]
    outputs: list[bytes] = []
    for faults, code in runs:
        for served in serve_org(small_org, tmp_path, faults=faults):  # one warehouse for all
            done = _extract(served.config_path, "-v")
            assert done.returncode == code, (faults, done.stderr.decode())
            outputs += [done.stdout, done.stderr]
    everything = b"\n".join(outputs)
    assert not _leaks(everything), _leaks(everything)
    assert b"***" not in everything  # nothing needed redacting: no token reached a message
    assert b"Bearer" not in everything and b"uthorization" not in everything
    assert b" DEBUG " in everything and b"retrying" in everything  # verbose, faults retried
    assert everything.count(b"token was rejected") == 2

    warehouse = tmp_path / "fourkeys.duckdb"
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        columns = con.execute("select table_name, column_name from information_schema.columns "
                              "order by 1").fetchall()
        tables = {t for t, _ in columns}
        assert {"_runs", "_watermarks", "raw_github_pull_requests"} <= tables
        values = 0
        for table, column in columns:
            assert not _leaks(f"{table}.{column}".encode())
            for (value,) in con.execute(f'select "{column}"::varchar from "{table}" '
                                        f'where "{column}" is not null').fetchall():
                values += 1
                assert not _leaks(value.encode()), (table, column, _leaks(value.encode()))
        # the failed runs are recorded with their (token-free) messages
        messages = [m for (m,) in con.execute("select message from _runs where status = 'failed'"
                                              ).fetchall()]
        assert len(messages) == 2 and all("token was rejected" in m for m in messages)
    finally:
        con.close()
    assert values > 1000
    for path in tmp_path.glob("fourkeys.duckdb*"):  # the file, and a WAL if one is left
        assert not _leaks(path.read_bytes()), path
