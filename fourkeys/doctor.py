"""`fourkeys doctor`: is this machine ready to run? One line per check, ✔ / ✖ with the fix.

Checks, in the order a first run would meet them: the config; the GitHub token (valid, scopes)
and its rate limit; every repository; Heroku apps and PagerDuty when configured; incident files;
the Slack secrets the bot and notices read; the warehouse folder (writable, the file a DuckDB
database, no run holding it); `dbt parse` of the project; the last published run. Nothing is
written (not even the warehouse), no secret is printed, and a failing check never stops the
others. Exit 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from fourkeys.config import Config, load_config
from fourkeys.errors import FourKeysError
from fourkeys.logs import redact

OK, FAIL, WARN, INFO = "✔", "✖", "!", "·"
TIMEOUT = httpx.Timeout(10.0)


@dataclass(frozen=True)
class Check:
    mark: str
    subject: str
    text: str

    def line(self) -> str:
        return f"{self.mark} {self.subject}: {redact(self.text)}"


def doctor_command(config_path: str | None) -> int:
    failed = 0
    for check in run_checks(config_path):
        print(check.line(), flush=True)
        failed += check.mark == FAIL
    print(f"{'✖' if failed else '✔'} doctor: "
          f"{f'{failed} check(s) failed; fix them and re-run' if failed else 'ready to run'}",
          flush=True)
    return 1 if failed else 0


def run_checks(config_path: str | None) -> Iterator[Check]:
    try:
        config = load_config(config_path)
    except FourKeysError as exc:
        yield Check(FAIL, "config", exc.message)
        return
    teams = {s.team for s in config.services}
    yield Check(OK, "config", f"{config.source_path}: {len(config.services)} services of "
                f"{len(teams)} teams, {len(config.repositories)} repositories")
    if config.warehouse.type == "bigquery":
        yield _bigquery(config)
    yield from _github(config)
    yield from _heroku(config)
    yield from _pagerduty(config)
    yield from _incident_files(config)
    yield from _slack(config)
    if config.warehouse.type == "duckdb":
        yield from _warehouse(config)
    yield _dbt_parse(config)


# --- GitHub ---------------------------------------------------------------------------------

def _github(config: Config) -> Iterator[Check]:
    env = config.github.token_env
    token = os.environ.get(env, "").strip()
    if not token:
        yield Check(FAIL, "github token", f"${env} is not set; export {env}=<a token with "
                    "repo scope (read-only is enough)>")
        return
    api = config.github.api_url
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
               "User-Agent": "fourkeys-doctor"}
    with httpx.Client(headers=headers, timeout=TIMEOUT) as client:
        try:
            user = client.get(f"{api}/user")
        except httpx.HTTPError as exc:
            yield Check(FAIL, "github", f"{api} unreachable ({type(exc).__name__}); check "
                        "[github] api_url and the network (GHES: https://HOST/api/v3)")
            return
        if user.status_code == 401:
            yield Check(FAIL, "github token", f"${env} was rejected (401 Bad credentials); "
                        "create a new token and export it")
            return
        if user.status_code >= 400:
            yield Check(FAIL, "github token", f"GET /user answered {user.status_code}; check "
                        "[github] api_url and the token")
            return
        yield _scopes(env, user)
        yield _rate_limit(client, api)
        yield from _organizations(client, config)
        yield from _repositories(client, api, config)


def _scopes(env: str, user: httpx.Response) -> Check:
    login = _json(user).get("login", "?")
    scopes = user.headers.get("x-oauth-scopes")
    if scopes is None:
        return Check(OK, "github token", f"${env} valid (user {login}; fine-grained or app "
                     "token: access is checked per repository below)")
    granted = {s.strip() for s in scopes.split(",") if s.strip()}
    if not granted & {"repo", "public_repo"}:
        return Check(FAIL, "github token", f"${env} (user {login}) has scopes "
                     f"[{', '.join(sorted(granted)) or 'none'}] but needs repo (private "
                     "repositories) or public_repo; regenerate it with repo scope")
    return Check(OK, "github token", f"${env} valid (user {login}; scopes "
                 f"{', '.join(sorted(granted))})")


def _rate_limit(client: httpx.Client, api: str) -> Check:
    try:
        body = _json(client.get(f"{api}/rate_limit"))
    except httpx.HTTPError as exc:
        return Check(WARN, "rate limit", f"could not read /rate_limit ({type(exc).__name__})")
    resources = body.get("resources") or {}
    if not resources:  # GHES with rate limiting off answers 404
        return Check(OK, "rate limit", "not enforced by this server")
    parts, low = [], False
    for name in ("core", "graphql"):
        res = resources.get(name) or {}
        remaining, limit = res.get("remaining", 0), res.get("limit", 0) or 1
        reset = datetime.fromtimestamp(res.get("reset", 0), UTC).strftime("%H:%M UTC")
        parts.append(f"{name} {remaining}/{limit} (resets {reset})")
        low = low or remaining < limit * 0.1
    text = ", ".join(parts)
    if low:
        return Check(WARN, "rate limit", f"{text}; under 10% left: a run now may stop at the "
                     "budget and resume on the next run (exit 2)")
    return Check(OK, "rate limit", text)


_ORGANIZATION = """
query($login: String!) {
  organization(login: $login) { login repositories(first: 1) { totalCount } }
}
"""


def _organizations(client: httpx.Client, config: Config) -> Iterator[Check]:
    """Each [[organizations]] entry can be listed: one GraphQL request, one point."""
    for organization in config.organizations:
        subject = f"organisation {organization.name}"
        try:
            answer = client.post(config.github.graphql_url, json={
                "query": _ORGANIZATION, "variables": {"login": organization.name}})
        except httpx.HTTPError as exc:
            yield Check(FAIL, subject, f"unreachable ({type(exc).__name__})")
            continue
        body = _json(answer)
        found = (body.get("data") or {}).get("organization")
        if answer.status_code >= 400 or not found:
            yield Check(FAIL, subject, "not found, or the token cannot list it; check name in "
                        "[[organizations]] and grant the token read:org")
            continue
        total = (found.get("repositories") or {}).get("totalCount", "?")
        yield Check(OK, subject, f"{total} repositories to filter (include/exclude, archived, "
                    "forks); listed by the next extract")


def _repositories(client: httpx.Client, api: str, config: Config) -> Iterator[Check]:
    branches = {s.repository.lower(): s.branch for s in config.services if s.branch}

    def one(repository: str) -> Check:
        try:
            answer = client.get(f"{api}/repos/{repository}")
        except httpx.HTTPError as exc:
            return Check(FAIL, repository, f"unreachable ({type(exc).__name__})")
        if answer.status_code == 404:
            return Check(FAIL, repository, "not found, or the token cannot see it; check the "
                         "name in fourkeys.toml and grant the token access to it")
        if answer.status_code >= 400:
            return Check(FAIL, repository, f"GET answered {answer.status_code}")
        body = _json(answer)
        branch = branches.get(repository) or body.get("default_branch", "?")
        note = " (archived)" if body.get("archived") else ""
        return Check(OK, repository, f"reachable{note}; deploy branch {branch}")

    with ThreadPoolExecutor(max_workers=config.github.concurrency) as pool:
        yield from pool.map(one, config.repositories)


# --- other sources --------------------------------------------------------------------------

def _heroku(config: Config) -> Iterator[Check]:
    apps = sorted({s.heroku_app for s in config.services
                   if s.deployment_source == "heroku_releases" and s.heroku_app})
    if not apps or config.heroku is None:
        return
    env = config.heroku.token_env
    token = os.environ.get(env, "").strip()
    if not token:
        yield Check(FAIL, "heroku token", f"${env} is not set; export {env}=<heroku api key>")
        return
    headers = {"Authorization": f"Bearer {token}",
               "Accept": "application/vnd.heroku+json; version=3"}
    with httpx.Client(headers=headers, timeout=TIMEOUT) as client:
        for app in apps:
            yield _get_check(client, f"{config.heroku.api_url}/apps/{app}", f"heroku {app}",
                             env, "check heroku_app in fourkeys.toml and the key's access")


def _pagerduty(config: Config) -> Iterator[Check]:
    if config.pagerduty is None or not any(
            s.type == "pagerduty" for s in config.incident_sources):
        return
    env = config.pagerduty.token_env
    token = os.environ.get(env, "").strip()
    if not token:
        yield Check(FAIL, "pagerduty token", f"${env} is not set; export {env}=<a read-only "
                    "REST API key>")
        return
    headers = {"Authorization": f"Token token={token}",
               "Accept": "application/vnd.pagerduty+json;version=2"}
    with httpx.Client(headers=headers, timeout=TIMEOUT) as client:
        yield _get_check(client, f"{config.pagerduty.api_url}/incidents?limit=1", "pagerduty",
                         env, "check [pagerduty] api_url")


def _get_check(client: httpx.Client, url: str, subject: str, env: str, fix: str) -> Check:
    try:
        answer = client.get(url)
    except httpx.HTTPError as exc:
        return Check(FAIL, subject, f"unreachable ({type(exc).__name__}); {fix}")
    if answer.status_code in (401, 403):
        return Check(FAIL, subject, f"${env} was rejected ({answer.status_code}); export a "
                     "valid key")
    if answer.status_code >= 400:
        return Check(FAIL, subject, f"answered {answer.status_code}; {fix}")
    return Check(OK, subject, "reachable")


def _incident_files(config: Config) -> Iterator[Check]:
    for source in config.incident_sources:
        if source.type == "csv" and source.path:
            path = config.resolve_path(source.path)
            if path.is_file() and os.access(path, os.R_OK):
                yield Check(OK, f"incidents {source.path}", "readable")
            else:
                yield Check(FAIL, f"incidents {source.path}", f"{path} is missing or "
                            "unreadable; fix [[incident_sources]] path")
        if source.type == "slack_bot":
            url = config.bot_database_url()
            if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
                yield Check(WARN, "incident bot database", f"{url[len('sqlite:///'):]} does "
                            "not exist yet (created by `fourkeys incident-bot`); nothing to "
                            "import until then")


def _slack(config: Config) -> Iterator[Check]:
    uses_bot = any(s.type == "slack_bot" for s in config.incident_sources)
    if uses_bot:
        missing = [v for v in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN")
                   if not os.environ.get(v)]
        if missing:
            yield Check(WARN, "incident bot", f"${' and $'.join(missing)} not set here; the "
                        "machine that serves `fourkeys incident-bot` needs them")
    url = config.notices.webhook_url()
    if url is None:
        yield Check(INFO, "notices", f"off (${config.notices.webhook_env} not set)")
    elif not url.startswith(("https://", "http://")):
        yield Check(FAIL, "notices", f"${config.notices.webhook_env} is not a URL; set it to "
                    "the Slack incoming-webhook URL")
    else:
        events = ["failure"] * config.notices.on_failure + ["success"] * config.notices.on_success
        yield Check(OK, "notices", f"Slack webhook from ${config.notices.webhook_env} on "
                    f"{' and '.join(events) or 'nothing (both off)'}")


# --- warehouse and dbt ----------------------------------------------------------------------

def _bigquery(config: Config) -> Check:
    """Its libraries, the Google credentials and the project; BigQuery itself is not called."""
    from fourkeys.warehouse.connect import check_warehouse

    settings = config.warehouse
    try:
        check_warehouse(config)
    except FourKeysError as exc:
        return Check(FAIL, "warehouse", exc.message)
    project = settings.project or "the credentials' project"
    return Check(OK, "warehouse", f"BigQuery {project}, dataset {settings.dataset} in "
                 f"{settings.location}; Google credentials found")


def _warehouse(config: Config) -> Iterator[Check]:
    from fourkeys.lock import lock_path
    from fourkeys.publish import published_path

    path = config.warehouse_path()
    folder = _existing_parent(path.parent)
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".fourkeys-doctor-"):
            pass
    except OSError as exc:
        yield Check(FAIL, "warehouse", f"{folder} is not writable ({exc.strerror}); fix its "
                    "permissions or [warehouse] path")
        return
    if _locked(lock_path(path)):
        yield Check(INFO, "warehouse", f"{path}: a run is in progress right now")
        return
    if path.exists():
        yield _duckdb_file(path, "warehouse", "move it aside; the next run rebuilds it")
    else:
        yield Check(OK, "warehouse", f"{path} will be created by the first run")
    published = published_path(path)
    if published.exists():
        yield _last_run(published)


def _existing_parent(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _locked(path: Path) -> bool:
    import fcntl

    if not path.exists():
        return False
    with open(path, "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def _duckdb_file(path: Path, subject: str, fix: str) -> Check:
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        return Check(FAIL, subject, f"{path} is not a usable DuckDB file ({first[:120]}); {fix}")
    con.close()
    return Check(OK, subject, f"{path} ({path.stat().st_size / 1e6:.1f} MB) opens")


def _last_run(published: Path) -> Check:
    import duckdb

    try:
        con = duckdb.connect(str(published), read_only=True)
        try:
            row = con.execute("select command, status, ended_at, message from _runs "
                              "order by started_at desc limit 1").fetchone()
        finally:
            con.close()
    except duckdb.Error as exc:
        return Check(FAIL, "published marts", f"{published} unreadable "
                     f"({str(exc).splitlines()[0][:100]}); the next green run replaces it")
    if row is None:
        return Check(OK, "published marts", f"{published}")
    command, status, ended_at, message = row
    when = f"{ended_at:%Y-%m-%d %H:%M} UTC" if ended_at else "?"
    mark = OK if status == "success" else WARN
    tail = f": {message}" if message and status != "success" else ""
    return Check(mark, "last run", f"{command} {status} at {when}{tail}")


def _dbt_parse(config: Config) -> Check:
    from fourkeys.transform import dbt_args, run_dbt

    with tempfile.TemporaryDirectory(prefix="fourkeys-doctor-") as tmp:
        # parse against a scratch warehouse path: doctor writes nothing next to the real one
        scratch = Path(tmp) / "doctor.duckdb"
        scratch_config = config.model_copy(
            update={"warehouse": config.warehouse.model_copy(update={"path": str(scratch)})})
        result = run_dbt(dbt_args("parse", scratch_config), scratch)
        if not result.success:
            reason = str(result.exception or "see the dbt log").splitlines()[0]
            return Check(FAIL, "dbt", f"project does not parse ({reason[:160]}); re-install "
                         "fourkeys or restore dbt_project/")
        manifest = result.result
        models = sum(1 for n in getattr(manifest, "nodes", {}).values()
                     if getattr(n, "resource_type", "") == "model")
    return Check(OK, "dbt", f"project parses ({models} models)")


def _json(response: httpx.Response) -> dict:  # type: ignore[type-arg]
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}

