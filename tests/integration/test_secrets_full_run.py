"""No secret anywhere after a full day of operation: the GitHub token, the Slack signing secret,
the Slack bot token and the notices webhook URL.

The real `fourkeys incident-bot` (a subprocess) takes signed slash commands and posts to a fake
Slack; `fourkeys -v --log-format json run` extracts, imports the bot's incidents, builds and
publishes, and posts a success notice; a failing run posts a failure notice. Then every byte the
commands printed, every message the fake Slack received, every value of every table of the
warehouse, the published file and the bot's database, the files' raw bytes and dbt's log are
searched for each secret and a fragment of it. The GitHub token travels in a variable whose name
does not look secret, so log redaction could not hide a leak (and nothing was redacted: no
`***`).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx

from fakes.generator import GeneratedOrg
from fakes.slack import serve_fake_slack
from tests.conftest import ROOT, TOKEN, serve_org
from tests.integration.slack_signing import command_body, signed_headers

SIGNING_SECRET = "8f742231b10e8888abcd99aaabbbccc1"
BOT_TOKEN = "xoxb-fake_1111111111_2222222222_a1b2c3d4e5f6g7h8"
WEBHOOK_SECRET_PART = "B07HOOKSECRET/q9w8e7r6t5y4u3i2o1p0"
NEEDLES = {
    "github token": TOKEN, "github token fragment": TOKEN[8:24],
    "signing secret": SIGNING_SECRET, "signing secret fragment": SIGNING_SECRET[6:22],
    "bot token": BOT_TOKEN, "bot token fragment": BOT_TOKEN[16:36],
    "webhook path": WEBHOOK_SECRET_PART, "webhook fragment": WEBHOOK_SECRET_PART[3:20],
}
GITHUB_VAR, HOOK_VAR = "FK_GH_CREDENTIAL", "FK_NOTICE_TARGET"


def _leaks(blob: str | bytes) -> list[str]:
    data = blob.encode() if isinstance(blob, str) else blob
    return [name for name, needle in NEEDLES.items() if needle.encode() in data]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN",)}
    env.update({GITHUB_VAR: TOKEN, "FOURKEYS_RETRY_BASE_SECONDS": "0.01", **extra})
    return env


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(text: str, slack_api: str, tmp: Path, service: str) -> str:
    text = text.replace('token_env = "GITHUB_TOKEN"', f'token_env = "{GITHUB_VAR}"')
    head, sep, rest = text.partition("[[services]]")
    extra = (f'[slack]\napi_url = "{slack_api}"\nbot_database = "{tmp / "bot.sqlite"}"\n'
             f'channel = "#incidents"\n\n[notices]\nwebhook_env = "{HOOK_VAR}"\n'
             "on_success = true\n\n")
    incident = f'\n[[incident_sources]]\ntype = "slack_bot"\nservice = "{service}"\n'
    body = sep + rest
    if "[metrics]" in body:
        before, after = body.split("[metrics]", 1)
        body = before + incident + "\n[metrics]" + after
    else:
        body += incident
    return head + extra + body


def _drive_bot(config: Path, port: int, sha: str, service: str) -> str:
    env = _env(SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_BOT_TOKEN=BOT_TOKEN)
    bot = subprocess.Popen(
        [sys.executable, "-m", "fourkeys.cli", "-v", "--log-format", "json", "incident-bot",
         "--config", str(config), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT), text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert bot.poll() is None and time.monotonic() < deadline, "bot did not start"
            time.sleep(0.2)
        for text in (f"declare {service} sev2 checkout errors after deploy", f"cause {sha}",
                     "mitigated", "resolved", "status"):
            body = command_body(text, channel_id="C0INCIDENTS")
            answer = httpx.post(f"{base}/slack/commands", content=body,
                                headers=signed_headers(SIGNING_SECRET, int(time.time()), body))
            assert answer.status_code == 200, answer.text
        forged = command_body("declare x sev1 forged")
        assert httpx.post(f"{base}/slack/commands", content=forged,
                          headers=signed_headers("wrong-secret", int(time.time()), forged)
                          ).status_code == 401
        time.sleep(1.0)  # the bot's outbox posts to Slack after replying
    finally:
        bot.send_signal(signal.SIGINT)
        output, _ = bot.communicate(timeout=30)
    return output


def _table_values(path: Path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    try:
        parts: list[str] = []
        tables = con.execute("select table_schema, table_name from information_schema.tables"
                             ).fetchall()
        for schema, table in tables:
            for row in con.execute(f'select * from "{schema}"."{table}"').fetchall():
                parts.append("|".join(str(v) for v in row))
        return "\n".join(parts)
    finally:
        con.close()


def _sqlite_values(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        return "\n".join("|".join(map(str, row)) for t in tables
                         for row in con.execute(f'select * from "{t}"'))
    finally:
        con.close()


def test_no_secret_in_logs_errors_slack_or_any_table(small_org: GeneratedOrg,
                                                      tmp_path: Path) -> None:
    repository = small_org.scenario["repositories"][0]
    service = next(s.name for s in small_org.services
                   if s.repository.lower() == repository["full_name"].lower())
    sha = next(iter(repository["branches"].values()))[:10]  # a commit the incident blames
    outputs: list[str] = []
    with serve_fake_slack() as (slack_server, fake):
        hook = f"{slack_server.base_url}/services/T0FAKE/{WEBHOOK_SECRET_PART}"
        for served in serve_org(small_org, tmp_path):
            text = _config(served.config_path.read_text(), f"{slack_server.base_url}/api/",
                           tmp_path, service)
            served.config_path.write_text(text)
            outputs.append(_drive_bot(served.config_path, _free_port(), sha, service))
            run = subprocess.run(
                [sys.executable, "-m", "fourkeys.cli", "-v", "--log-format", "json", "run",
                 "--config", str(served.config_path)],
                capture_output=True, text=True, env=_env(**{HOOK_VAR: hook}), cwd=str(ROOT),
                timeout=600)
            assert run.returncode == 0, run.stderr[-2000:]
            outputs += [run.stdout, run.stderr]
        # the same config against a server that is gone: a failing run and its notice
        failing = subprocess.run(
            [sys.executable, "-m", "fourkeys.cli", "-v", "--log-format", "json", "run",
             "--config", str(tmp_path / "fourkeys.toml")],
            capture_output=True, text=True, env=_env(**{HOOK_VAR: hook}), cwd=str(ROOT),
            timeout=300)
        assert failing.returncode == 1, failing.stderr[-2000:]
        outputs += [failing.stdout, failing.stderr]
        slack_seen = [str(call.args) + str(call.answer) for call in fake.calls]
        slack_seen += [str(post.body) for post in fake.webhook_posts]
        assert [p.body["text"].split()[0] for p in fake.webhook_posts] == [
            ":white_check_mark:", ":x:"]
        assert sum(1 for c in fake.posts() if "sev2" in str(c.args).lower()) >= 1

    everything = "\n".join(outputs + slack_seen)
    assert not _leaks(everything), _leaks(everything)
    assert "***" not in everything  # nothing needed redacting: no secret reached a message
    assert '"level": "debug"' in everything  # verbose: the most there is to leak

    warehouse = tmp_path / "fourkeys.duckdb"
    published = tmp_path / "fourkeys.published.duckdb"
    bot_db = tmp_path / "bot.sqlite"
    con = duckdb.connect(str(published), read_only=True)
    incidents = con.execute("select source, service, link_method from fct_incidents "
                            "where source = 'slack_bot'").fetchall()
    con.close()
    assert incidents == [("slack_bot", service, incidents[0][2])], incidents  # reached the marts
    for path in (warehouse, published):
        assert not _leaks(_table_values(path)), (path, _leaks(_table_values(path)))
    assert not _leaks(_sqlite_values(bot_db))
    files = [warehouse, published, bot_db, *tmp_path.glob("bot.sqlite*"),
             *(tmp_path / "dbt").rglob("*.log")]
    for path in files:
        assert not _leaks(path.read_bytes()), (path, _leaks(path.read_bytes()))
