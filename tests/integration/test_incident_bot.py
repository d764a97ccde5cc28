"""The Slack incident bot over real HTTP: signed Slack requests (signed here, from Slack's
documented algorithm) → the bot on 127.0.0.1 → its SQLite file, and its posts as seen by the
fake Slack. The bot's clock is injected, so every stored time is exact."""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from fakes.server import RunningServer, serve_in_thread
from fakes.slack import FakeSlack, channel_id, serve_fake_slack
from fourkeys.cli import main
from fourkeys.config import load_config
from incidents.bot.app import create_app
from incidents.bot.signature import SignatureError, compute_signature, verify
from tests.integration.slack_signing import action_body, command_body, sign, signed_headers

SECRET = "test-signing-secret-5ca1ab1e0ddba11"
BOT_TOKEN = "xoxb-fake_bot_token_0123456789abcdef"
START = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
INCIDENTS = channel_id("#incidents")
SERVICES = ("checkout-api", "search-api")

# Slack's published example ("Verifying requests from Slack")
DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TIMESTAMP = 1531420618
DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    b"collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F39770"
    b"0885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10"
    b"d2c447fce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


class Clock:
    """The bot's `now`: fixed until a test moves it."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.at

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self.at += timedelta(**delta)
            return self.at


def write_config(directory: Path, slack_base_url: str) -> Path:
    services = "".join(
        f'[[services]]\nname = "{name}"\nteam = "shop"\nrepository = "acme/x"\n'
        'deployment_source = "merged_pull_requests"\n\n' for name in SERVICES)
    path = directory / "fourkeys.toml"
    path.write_text(
        f'[warehouse]\npath = "{directory / "fourkeys.duckdb"}"\n\n'
        f'[slack]\napi_url = "{slack_base_url}/api/"\nbot_database = "bot/incidents.sqlite"\n'
        f'channel = "#incidents"\n\n{services}', encoding="utf-8")
    return path


@dataclass
class Bot:
    """The bot served on 127.0.0.1, the fake Slack it posts to, and ways to poke both."""

    server: RunningServer
    fake: FakeSlack
    clock: Clock
    app: Starlette
    db_path: Path
    config_path: Path
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def post(self, path: str, body: bytes, *, secret: str = SECRET, timestamp: int | None = None,
             headers: dict[str, str] | None = None) -> httpx.Response:
        stamp = int(self.clock().timestamp()) if timestamp is None else timestamp
        sent = {**signed_headers(secret, stamp, body), **(headers or {})}
        return self.client.post(f"{self.server.base_url}{path}", content=body, headers=sent)

    def command(self, text: str, *, user: str = "U0ALICE", channel: str = INCIDENTS,
                headers: dict[str, str] | None = None) -> httpx.Response:
        return self.post("/slack/commands", command_body(text, user_id=user, channel_id=channel),
                         headers=headers)

    def ok(self, text: str, *, user: str = "U0ALICE", channel: str = INCIDENTS) -> str:
        """Run a command that must succeed; its ephemeral reply text."""
        response = self.command(text, user=user, channel=channel)
        assert response.status_code == 200, response.text
        reply = response.json()
        assert reply["response_type"] == "ephemeral"
        return str(reply["text"])

    def click(self, action_id: str, incident_id: int, *, user: str = "U0BOB") -> httpx.Response:
        return self.post("/slack/interactions",
                         action_body(action_id, incident_id, user_id=user, channel_id=INCIDENTS))

    def rows(self, sql: str) -> list[tuple]:
        con = sqlite3.connect(self.db_path)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def snapshot(self) -> tuple[list[tuple], list[tuple]]:
        return (self.rows("select * from bot_incidents order by incident_id"),
                self.rows("select * from bot_incident_events order by event_id"))

    def drain(self) -> None:
        """Wait until the bot has made every Slack post it queued."""
        assert self.app.state.bot.outbox.join(60), "Slack posts still queued after 60 s"


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    with serve_fake_slack() as (slack_server, fake):
        config_path = write_config(tmp_path, slack_server.base_url)
        clock = Clock(START)
        app = create_app(load_config(str(config_path)), signing_secret=SECRET,
                         bot_token=BOT_TOKEN, now=clock)
        with serve_in_thread(app) as server:
            harness = Bot(server, fake, clock, app, tmp_path / "bot" / "incidents.sqlite",
                          config_path)
            try:
                yield harness
            finally:
                harness.client.close()
                app.state.bot.outbox.join(30)


def _ts(value: datetime) -> str:
    """How SQLite holds a UTC time written by SQLAlchemy."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


# --- signing --------------------------------------------------------------------------------


def test_slacks_published_example_is_a_known_answer() -> None:
    assert sign(DOC_SECRET, DOC_TIMESTAMP, DOC_BODY) == DOC_SIGNATURE
    assert compute_signature(DOC_SECRET, str(DOC_TIMESTAMP), DOC_BODY) == DOC_SIGNATURE
    headers = {"x-slack-request-timestamp": str(DOC_TIMESTAMP),
               "x-slack-signature": DOC_SIGNATURE}
    verify(DOC_SECRET, headers, DOC_BODY, now=DOC_TIMESTAMP + 60)
    with pytest.raises(SignatureError, match="5 minutes"):
        verify(DOC_SECRET, headers, DOC_BODY, now=DOC_TIMESTAMP + 301)
    with pytest.raises(SignatureError, match="does not match"):
        verify(DOC_SECRET, headers, DOC_BODY.replace(b"text=", b"text=x"), now=DOC_TIMESTAMP)


# --- the incident lifecycle -----------------------------------------------------------------


def test_declare_mitigate_resolve_is_one_incident_with_exact_times_and_one_thread(
        bot: Bot) -> None:
    reply = bot.ok("declare checkout-api SEV2 Checkout returns 502 for card payments")
    assert "#1" in reply and "sev2" in reply
    bot.drain()
    mitigated_at = bot.clock.advance(minutes=17)
    assert bot.click("incident_mitigated", 1).status_code == 200  # the button on the message
    bot.drain()
    resolved_at = bot.clock.advance(minutes=43)
    assert "resolved" in bot.ok("resolved")  # no id: the channel's only open incident
    bot.drain()

    assert bot.rows("select incident_id, service, severity, title, status, channel_id, "
                    "declared_by, started_at, mitigated_at, resolved_at, created_at, "
                    "updated_at from bot_incidents") == [
        (1, "checkout-api", "sev2", "Checkout returns 502 for card payments", "resolved",
         INCIDENTS, "U0ALICE", _ts(START), _ts(mitigated_at), _ts(resolved_at), _ts(START),
         _ts(resolved_at))]
    assert bot.rows("select kind, actor, occurred_at from bot_incident_events "
                    "order by event_id") == [
        ("declared", "U0ALICE", _ts(START)), ("mitigated", "U0BOB", _ts(mitigated_at)),
        ("resolved", "U0ALICE", _ts(resolved_at))]

    root, *replies = bot.fake.posts()
    assert root.args["channel"] == "#incidents" and "thread_ts" not in root.args
    root_ts = root.answer["ts"]
    assert bot.rows("select thread_ts from bot_incidents") == [(root_ts,)]
    assert [(r.args["channel"], r.args["thread_ts"]) for r in replies] == [
        (INCIDENTS, root_ts), (INCIDENTS, root_ts)]
    assert "Mitigated by <@U0BOB>" in replies[0].args["text"]
    assert "17 min" in replies[0].args["text"]
    assert "Resolved by <@U0ALICE>" in replies[1].args["text"]
    assert all(call.token == BOT_TOKEN for call in bot.fake.calls)
    # the root message now says resolved and has no buttons left
    final = bot.fake.message(INCIDENTS, root_ts)
    assert final is not None and "(resolved)" in final["text"]
    assert [b["type"] for b in final["blocks"]] == ["section"]


def test_status_cause_and_note_land_in_the_timeline(bot: Bot) -> None:
    bot.ok("declare search-api 3 Search is slow")
    bot.clock.advance(minutes=5)
    assert "commit `abc1234`" in bot.ok("cause ABC1234")
    bot.clock.advance(minutes=1)
    assert "deployment `search-api/merged_pull_requests/88`" in bot.ok(
        "cause search-api/merged_pull_requests/88 #1")
    assert "Noted on #1" in bot.ok("note the index rebuild is to blame")
    status = bot.ok("status 1")
    assert "status open" in status and "search-api/merged_pull_requests/88" in status
    assert "note <@U0ALICE>: the index rebuild is to blame" in status
    # the latest cause wins; naming a deployment clears the commit
    assert bot.rows("select cause_sha, cause_deployment_id, updated_at from bot_incidents") == [
        (None, "search-api/merged_pull_requests/88", _ts(START + timedelta(minutes=6)))]
    assert [r[0] for r in bot.rows("select kind from bot_incident_events order by event_id")] == [
        "declared", "cause", "cause", "note"]


def test_clicking_mitigated_twice_records_it_once(bot: Bot) -> None:
    bot.ok("declare checkout-api sev1 Everything is down")
    assert bot.click("incident_mitigated", 1).status_code == 200
    bot.clock.advance(minutes=1)
    assert bot.click("incident_mitigated", 1).status_code == 200
    assert "already mitigated" in bot.ok("mitigated 1")
    assert bot.rows("select count(*) from bot_incident_events where kind = 'mitigated'") == [(1,)]
    assert bot.rows("select mitigated_at from bot_incidents") == [(_ts(START),)]


def test_id_less_commands_with_two_open_incidents_ask_for_an_id(bot: Bot) -> None:
    bot.ok("declare checkout-api sev2 Payments failing")
    bot.ok("declare search-api sev3 Search slow")
    bot.drain()
    before = bot.snapshot()
    reply = bot.ok("mitigated")
    assert "#1 (checkout-api, sev2), #2 (search-api, sev3)" in reply
    assert "`/incident mitigated 2`" in reply
    elsewhere = bot.ok("resolved", channel="C0OTHER")
    assert "No open incident in this channel" in elsewhere and "#1" in elsewhere
    assert bot.snapshot() == before


# --- refused requests -----------------------------------------------------------------------


def _forged(bot: Bot, how: str) -> httpx.Response:
    body = command_body("declare checkout-api sev1 Forged")
    now = int(bot.clock().timestamp())
    if how == "wrong secret":
        return bot.post("/slack/commands", body, secret="not-the-secret")
    if how == "tampered body":
        headers = signed_headers(SECRET, now, body)
        return bot.client.post(f"{bot.server.base_url}/slack/commands",
                               content=body.replace(b"sev1", b"sev2"), headers=headers)
    if how in ("no signature", "no timestamp"):
        headers = signed_headers(SECRET, now, body)
        del headers["X-Slack-Signature" if how == "no signature" else
                    "X-Slack-Request-Timestamp"]
        return bot.client.post(f"{bot.server.base_url}/slack/commands", content=body,
                               headers=headers)
    if how == "stale":
        return bot.post("/slack/commands", body, timestamp=now - 301)
    if how == "from the future":
        return bot.post("/slack/commands", body, timestamp=now + 301)
    if how == "forged click":
        return bot.post("/slack/interactions", action_body("incident_resolved", 1),
                        secret="not-the-secret")
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["wrong secret", "tampered body", "no signature", "no timestamp",
                                 "stale", "from the future", "forged click"])
def test_forged_or_stale_requests_get_401_and_change_nothing(bot: Bot, how: str) -> None:
    bot.ok("declare checkout-api sev2 Real incident")
    bot.drain()
    before = bot.snapshot()
    response = _forged(bot, how)
    assert response.status_code == 401
    assert bot.snapshot() == before
    bot.drain()
    assert len(bot.fake.posts()) == 1  # the real declare only


def test_a_replayed_request_gets_401_and_changes_nothing(bot: Bot) -> None:
    body = command_body("declare checkout-api sev2 Once")
    headers = signed_headers(SECRET, int(bot.clock().timestamp()), body)
    url = f"{bot.server.base_url}/slack/commands"
    assert bot.client.post(url, content=body, headers=headers).status_code == 200
    bot.drain()
    before = bot.snapshot()
    bot.clock.advance(seconds=30)  # still inside the 5-minute window
    replay = bot.client.post(url, content=body, headers=headers)
    assert replay.status_code == 401
    assert bot.snapshot() == before
    assert bot.rows("select count(*) from bot_incidents") == [(1,)]


def test_a_slack_retry_is_acknowledged_without_acting_again(bot: Bot) -> None:
    before = bot.snapshot()
    response = bot.command("declare checkout-api sev2 Retried",
                           headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "timeout"})
    assert response.status_code == 200 and response.content == b""
    assert bot.snapshot() == before


def test_no_secret_appears_in_any_log_record(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bot.ok("declare checkout-api sev2 Logged")
    bot.drain()
    _forged(bot, "wrong secret")
    _forged(bot, "stale")
    bot.fake.tokens = frozenset({"xoxb-fake_some_other_token"})  # Slack now refuses the bot's token
    bot.ok("mitigated")
    bot.drain()
    messages = [r.getMessage() for r in caplog.records]
    assert any("invalid_auth" in m for m in messages), messages
    assert any("refused /slack/commands" in m for m in messages), messages
    for record in caplog.records:
        text = " ".join([record.getMessage(), record.exc_text or "", repr(record.args)])
        assert SECRET not in text and BOT_TOKEN not in text, record
        assert BOT_TOKEN.removeprefix("xoxb-") not in text, record


# --- mistakes get usage, never a 500 --------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("", "Usage"),
    ("help", "Usage"),
    ("declare", "needs a service, a severity and a title"),
    ("declare checkout-api sev2", "needs a service, a severity and a title"),
    ("declare checkout-api sev9 Broken", "'sev9' is not one of sev1"),
    ("declare billing sev2 Broken", "configured: checkout-api, search-api"),
    ("mitigated abc", "'abc' is not an incident id"),
    ("mitigated 1 2", "did not understand"),
    ("resolved 999", "No incident #999"),
    ("cause", "did not understand"),
    ("note", "did not understand"),
    ("note #1", "needs some text"),
    ("status", "No open incident in this channel"),
    ("frobnicate everything", "did not understand"),
    ("declare checkout-api sev2 '; drop table bot_incidents; --", "Declared incident #1"),
])
def test_malformed_commands_get_an_ephemeral_usage_reply(bot: Bot, text: str,
                                                         expected: str) -> None:
    response = bot.command(text)
    assert response.status_code == 200
    reply = response.json()
    assert reply["response_type"] == "ephemeral"
    assert expected in reply["text"], reply["text"]
    created = 1 if expected.startswith("Declared") else 0
    assert bot.rows("select count(*) from bot_incidents") == [(created,)]


def test_unreadable_payloads_are_not_a_500(bot: Bot) -> None:
    response = bot.post("/slack/commands", b"text=\xff\xfe&user_id=U1")
    assert response.status_code == 200 and "Usage" in response.json()["text"]
    response = bot.post("/slack/interactions", b"payload=%7Bnot-json")
    assert response.status_code == 400
    assert bot.rows("select count(*) from bot_incidents") == [(0,)]


# --- concurrency and a slow or failing Slack ------------------------------------------------


def test_fifty_concurrent_commands_on_ten_incidents_lose_no_event(bot: Bot) -> None:
    for n in range(10):
        bot.ok(f"declare {SERVICES[n % 2]} sev{n % 4 + 1} Incident number {n}")
    ids = [row[0] for row in bot.rows("select incident_id from bot_incidents order by 1")]
    commands = [f"mitigated {i}" for i in ids]
    commands += [f"cause {'%07x' % (0xabc0000 + n)} {ids[n % 10]}" for n in range(20)]
    commands += [f"note #{ids[n % 10]} update {n}" for n in range(20)]
    random.Random(6).shuffle(commands)

    with ThreadPoolExecutor(max_workers=25) as pool:
        replies = list(pool.map(lambda text: bot.command(text, user="U0CROWD"), commands))
    assert [r.status_code for r in replies] == [200] * 50
    assert not [r.json()["text"] for r in replies
                if "nothing changed" in r.json()["text"] or "wrong" in r.json()["text"]]

    assert bot.rows("select count(*) from bot_incident_events") == [(len(commands) + 10,)]
    assert bot.rows("select kind, count(*) from bot_incident_events group by kind "
                    "order by kind") == [("cause", 20), ("declared", 10), ("mitigated", 10),
                                         ("note", 20)]
    assert bot.rows("select count(*) from bot_incidents where status = 'mitigated' and "
                    "cause_sha is not null") == [(10,)]
    bot.drain()
    roots = {c.answer["ts"] for c in bot.fake.posts() if "thread_ts" not in c.args}
    replies_in_threads = [c for c in bot.fake.posts() if c.args.get("thread_ts") in roots]
    assert len(roots) == 10 and len(replies_in_threads) == 50


def test_concurrent_mitigations_of_one_incident_record_exactly_one(bot: Bot) -> None:
    bot.ok("declare checkout-api sev1 Everyone clicks at once")
    with ThreadPoolExecutor(max_workers=10) as pool:
        replies = list(pool.map(lambda n: bot.ok("mitigated 1", user=f"U{n}"), range(10)))
    assert sum("is mitigated" in r for r in replies) == 1
    assert sum("already mitigated" in r for r in replies) == 9
    assert bot.rows("select count(*) from bot_incident_events where kind = 'mitigated'") == [(1,)]


def test_a_slow_slack_does_not_delay_the_reply(bot: Bot) -> None:
    bot.fake.delay_seconds = 2.5
    started = time.monotonic()
    bot.ok("declare checkout-api sev2 Slack is slow today")
    assert time.monotonic() - started < 2.0  # answered before Slack did
    assert bot.fake.posts() == []
    bot.drain()
    assert len(bot.fake.posts()) == 1


def test_a_slack_failure_keeps_the_incident_and_the_thread_follows_later(
        bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    bot.fake.fail_with = "channel_not_found"
    bot.ok("declare checkout-api sev1 Slack is down too")
    bot.drain()
    assert bot.rows("select status, thread_ts from bot_incidents") == [("open", None)]
    assert any("channel_not_found" in r.getMessage() and "incident is saved" in r.getMessage()
               for r in caplog.records)
    bot.fake.fail_with = None
    bot.clock.advance(minutes=3)
    bot.ok("mitigated")
    bot.drain()
    root, reply = bot.fake.posts()  # the root message first, then the reply in its thread
    assert reply.args["thread_ts"] == root.answer["ts"]
    assert bot.rows("select status, thread_ts from bot_incidents") == [
        ("mitigated", root.answer["ts"])]


def test_healthz(bot: Bot) -> None:
    assert bot.client.get(f"{bot.server.base_url}/healthz").json() == {"status": "ok"}


# --- the CLI --------------------------------------------------------------------------------


def _cli(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["incident-bot", "--config", str(config), "--port", "0"])
    return code, capsys.readouterr().err.strip().splitlines()


def test_cli_without_the_signing_secret_is_a_one_line_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    code, lines = _cli(write_config(tmp_path, "http://127.0.0.1:9"), capsys)
    assert code == 1
    assert len(lines) == 1 and "SLACK_SIGNING_SECRET is not set" in lines[0], lines


def test_cli_without_the_bot_token_is_a_one_line_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    code, lines = _cli(write_config(tmp_path, "http://127.0.0.1:9"), capsys)
    assert code == 1
    assert len(lines) == 1 and "SLACK_BOT_TOKEN is not set" in lines[0], lines
    assert SECRET not in lines[0]


def test_cli_with_a_token_slack_refuses_is_a_one_line_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-fake_revoked_token_000000")
    with serve_fake_slack(FakeSlack(tokens=frozenset({BOT_TOKEN}))) as (server, fake):
        code, lines = _cli(write_config(tmp_path, server.base_url), capsys)
    assert code == 1
    assert len(lines) == 1 and "invalid_auth" in lines[0], lines
    assert "xoxb-fake_revoked_token_000000" not in lines[0]
    assert [c.method for c in fake.calls] == ["auth.test"]
