"""The bad-config corpus: every mistake is one line, exit 1, no traceback, no token, no writes.

Each case starts from a valid config generated for `small_org` and pointing at a served fake API
(so an unmutated copy would extract successfully), makes one mistake in it, and runs the real
`fourkeys extract` in a subprocess. The single stderr line must name the config file, the
offending key and (for almost every case) the fix.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fakes.generator import GeneratedOrg
from fakes.scenario import load_scenario
from fakes.server import create_app, serve_in_thread
from fourkeys.config import load_config
from tests.conftest import HEROKU_TOKEN, TOKEN, Served, run_cli

Doc = dict[str, Any]


# --- a tiny TOML writer (the venv has no tomli-w); enough for fourkeys.toml's shape -----------
def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a TOML value")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def to_toml(doc: Doc) -> str:
    lines = [f"{k} = {_value(v)}" for k, v in doc.items()
             if not isinstance(v, dict) and not _is_table_array(v)]
    for key, value in doc.items():
        tables = [value] if isinstance(value, dict) else value if _is_table_array(value) else []
        header = f"[{key}]" if isinstance(value, dict) else f"[[{key}]]"
        for table in tables:
            lines += ["", header, *(f"{k} = {_value(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n"


# --- the corpus --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    id: str
    expect: tuple[str, ...]                      # each must appear in the error line
    edit: Callable[[Doc], None] | None = None    # mutate the parsed valid config in place
    text: Callable[[str], str] | None = None     # or rewrite the valid TOML text
    raw: bytes | None = None                     # or write these bytes as the file
    place: str = "file"  # file | missing | directory | under_file | env | no_value
    env: dict[str, str] = field(default_factory=dict)
    argv: tuple[str, ...] = ()                   # extra CLI arguments
    names_path: bool = True                      # the line names the config file


def _service(doc: Doc, name: str) -> Doc:
    return next(s for s in doc["services"] if s["name"] == name)


def _set(section: str, key: str, value: Any) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        doc.setdefault(section, {})[key] = value
    return edit


def _apply(table: Doc, changes: dict[str, Any]) -> None:
    """Set each key; None removes it."""
    for key, value in changes.items():
        if value is None:
            del table[key]
        else:
            table[key] = value


def _set_service(service_name: str, /, **changes: Any) -> Callable[[Doc], None]:
    return lambda doc: _apply(_service(doc, service_name), changes)


def _set_incident(index: int, **changes: Any) -> Callable[[Doc], None]:
    return lambda doc: _apply(doc["incident_sources"][index], changes)


def _add_incident(**source: Any) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        doc["incident_sources"].append(source)
    return edit


def _drop(*keys: str) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        for key in keys:
            del doc[key]
    return edit


def _duplicate_name(doc: Doc) -> None:
    doc["services"][5]["name"] = doc["services"][0]["name"]
    doc["incident_sources"][5]["service"] = doc["services"][0]["name"]


def _services_as_table(doc: Doc) -> None:
    doc["services"] = doc["services"][0]  # [services] where [[services]] was meant
    del doc["incident_sources"]


CASES = [
    # --- the file itself
    Case("missing_file", ("config file not found", "--config"), place="missing"),
    Case("missing_file_from_env_var", ("config file not found", "from $FOURKEYS_CONFIG"),
         place="env"),
    Case("directory_not_file", ("is a directory", "fourkeys.toml"), place="directory"),
    Case("path_under_a_regular_file", ("cannot read", "Not a directory", "--config"),
         place="under_file"),
    Case("not_utf8", ("not UTF-8", "save it as UTF-8"), raw=b'[github]\napi_url = "\xff\xfe"\n'),
    Case("toml_syntax_error", ("not valid TOML", "line", "fix the syntax"),
         text=lambda t: t.replace('token_env = "GITHUB_TOKEN"', 'token_env "GITHUB_TOKEN"')),
    Case("toml_table_twice", ("not valid TOML", "github"),
         text=lambda t: t + '\n[github]\napi_url = "https://api.github.com"\n'),
    # --- keys that do not exist
    Case("unknown_top_level_key", ("unknown key 'colour'", "spelling"),
         edit=lambda d: d.__setitem__("colour", "blue")),
    Case("unknown_top_level_section", ("unknown key 'gitlab'", "spelling"),
         edit=_set("gitlab", "api_url", "https://gitlab.com")),
    Case("unknown_key_in_github", ("github.tokn_env", "unknown key", "spelling"),
         edit=_set("github", "tokn_env", "GITHUB_TOKEN")),
    Case("unknown_key_in_service", ('"cart-worker").enviroment', "unknown key", "spelling"),
         edit=_set_service("cart-worker", enviroment="production")),
    Case("unknown_key_in_incident_source", ("incident_sources[2]", "labels", "unknown key"),
         edit=_set_incident(2, labels=["incident"])),
    # --- services
    Case("unknown_deployment_source", ("deployment_source", "github_deployments", "heroku"),
         edit=_set_service("orders-worker", deployment_source="argo_rollouts")),
    Case("bad_environment_regex", ("environment", "re:", "does not compile"),
         edit=_set_service("webhooks-service", environment="re:prod(uction")),
    Case("workflow_runs_without_workflow", ('"cart-worker"', "workflow_runs", "workflow ="),
         edit=_set_service("cart-worker", workflow=None)),
    Case("heroku_releases_without_app", ('"index-service"', "heroku_app ="),
         edit=_set_service("index-service", heroku_app=None)),
    Case("heroku_releases_without_heroku_section", ('"index-service"', "[heroku]", "token_env"),
         edit=_drop("heroku")),
    Case("repository_without_owner", ("repository", "owner/name"),
         edit=_set_service("wallet-svc", repository="acme")),
    Case("repository_with_three_parts", ("repository", "owner/name"),
         edit=_set_service("wallet-svc", repository="acme/checkout/x")),
    Case("duplicate_service_name", ('"webhooks-service"', "used twice", "unique"),
         edit=_duplicate_name),
    Case("service_without_name", ("services[3].name", "missing key", "add it"),
         edit=_set_service("payouts-service", name=None)),
    Case("service_without_team", ('"orders-worker").team', "missing key", "add it"),
         edit=_set_service("orders-worker", team=None)),
    Case("service_with_empty_team", ('"orders-worker").team', "empty"),
         edit=_set_service("orders-worker", team="  ")),
    Case("no_services", ("[[services]]", "at least one"), edit=_drop("services")),
    Case("services_written_as_one_table", ("services", "list of tables", "[[services]]"),
         edit=_services_as_table),
    Case("service_entry_not_a_table", ("services[0]", "must be a table", "[[services]]"),
         edit=lambda d: d.__setitem__("services", ["checkout-api"])),
    # --- tokens and API sections
    Case("github_token_not_set", ("[github]", "$GITHUB_TOKEN", "not set", "export"),
         env={"GITHUB_TOKEN": ""}),
    Case("github_token_blank", ("$GITHUB_TOKEN", "not set"), env={"GITHUB_TOKEN": "  \t"}),
    Case("custom_token_env_not_set", ("$FOURKEYS_NO_SUCH_TOKEN", "not set", "export"),
         edit=_set("github", "token_env", "FOURKEYS_NO_SUCH_TOKEN")),
    Case("heroku_token_not_set", ("[heroku]", "$HEROKU_API_KEY", "not set", "export"),
         env={"HEROKU_API_KEY": ""}),
    Case("token_env_not_a_variable_name", ("github.token_env", "NAME of an environment"),
         edit=_set("github", "token_env", "GITHUB-TOKEN")),
    Case("token_pasted_into_token_env", ("github.token_env", "looks like a token"),
         edit=_set("github", "token_env", TOKEN)),
    Case("api_url_not_a_url", ("github.api_url", "http(s) URL"),
         edit=_set("github", "api_url", "api.github.com")),
    Case("heroku_api_url_not_a_url", ("heroku.api_url", "http(s) URL"),
         edit=_set("heroku", "api_url", "ftp://api.heroku.com")),
    Case("concurrency_not_a_number", ("github.concurrency", "integer"),
         edit=_set("github", "concurrency", "four")),
    Case("section_not_a_table", ("github", "must be a table", "[github]"),
         edit=lambda d: d.__setitem__("github", "https://api.github.com")),
    # --- metrics
    Case("dora_year_2022", ("metrics.dora_year", "2022", "2023"),
         edit=_set("metrics", "dora_year", 2022)),
    Case("unknown_failure_signal", ("metrics.failure_signals", "'deploys'", "request_errors"),
         edit=_set("metrics", "failure_signals", ["incidents", "deploys"])),
    Case("attribution_window_zero", ("metrics.attribution_window_days", "greater than"),
         edit=_set("metrics", "attribution_window_days", 0)),
    # --- incident sources
    Case("incident_source_unknown_type", ('("jira").type', "github_issues", "pagerduty"),
         edit=_set_incident(0, type="jira")),
    Case("github_issues_without_repository", ("incident_sources[1]", 'repository = "owner/name"'),
         edit=_set_incident(1, repository=None)),
    Case("incident_source_unknown_service", ('"no-such-svc"', "[[services]] names"),
         edit=_set_incident(3, service="no-such-svc")),
    Case("pagerduty_source_without_section", ("incident_sources[6]", "[pagerduty]", "token_env"),
         edit=_add_incident(type="pagerduty", pagerduty_service="PXYZ123",
                            service="wallet-svc")),
    # --- warehouse
    # BigQuery with no Google credentials anywhere; the metadata-server probe of
    # google.auth.default() is switched off and pointed at a closed local port, so the case
    # never reaches outside this machine
    Case("warehouse_bigquery_without_credentials",
         ("BigQuery", "no Google credentials", "gcloud auth application-default login",
          "GOOGLE_APPLICATION_CREDENTIALS"),
         edit=_set("warehouse", "type", "bigquery"),
         env={"GOOGLE_APPLICATION_CREDENTIALS": "", "CLOUDSDK_CONFIG": "/nonexistent-gcloud",
              "NO_GCE_CHECK": "True", "GCE_METADATA_HOST": "127.0.0.1:9",
              "GCE_METADATA_IP": "127.0.0.1:9", "FOURKEYS_BQ_API_ENDPOINT": ""}),
    Case("warehouse_unknown_type", ("warehouse.type", "'postgres'", "duckdb"),
         edit=_set("warehouse", "type", "postgres")),
    # --- the command line
    Case("since_not_a_date", ("--since", "2026-13-01", "2026-01-31"),
         argv=("--since", "2026-13-01"), names_path=False),
    Case("unknown_cli_flag", ("unrecognized arguments", "--bogus", "-h"),
         argv=("--bogus",), names_path=False),
    Case("config_flag_without_value", ("--config", "expected one argument", "extract -h"),
         place="no_value", names_path=False),
]


# --- fixtures and helpers ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def api_url(small_org: GeneratedOrg) -> Iterator[str]:
    """One fake API for the module: an unmutated config would really extract from it."""
    with serve_in_thread(create_app(load_scenario(small_org.scenario))) as server:
        yield server.base_url


def valid_toml(org: GeneratedOrg, base_url: str, warehouse: Path) -> str:
    return org.config_toml(github_api_url=base_url, heroku_api_url=f"{base_url}/heroku",
                           warehouse_path=str(warehouse))


def listing(directory: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(directory)): p.read_bytes() if p.is_file() else None
            for p in sorted(directory.rglob("*"))}


def assert_one_line_error(done: Any, expect: tuple[str, ...],
                          config: Path | None = None) -> str:
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output, output
    assert TOKEN not in output and HEROKU_TOKEN not in output, "a token leaked into the output"
    assert done.stdout == "", output
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), f"want exactly one line, got:\n{done.stderr}"
    line = lines[0]
    assert line.startswith("fourkeys: error: "), line
    if config is not None:
        assert str(config) in line, f"the line does not name {config}: {line}"
    for word in expect:
        assert word in line, f"{word!r} missing from: {line}"
    return line


def write_case(case: Case, case_dir: Path, text: str) -> tuple[Path, dict[str, str]]:
    """Write the broken config for `case`; return the path the CLI is given and env overrides."""
    case_dir.mkdir()
    config = case_dir / "fourkeys.toml"
    env = dict(case.env)
    if case.place == "missing":
        return config, env
    if case.place == "env":
        return config, {**env, "FOURKEYS_CONFIG": str(config)}
    if case.place == "no_value":  # `--config` as the last argument, no path after it
        config.write_text(text, encoding="utf-8")
        return config, env
    if case.place == "directory":
        config.mkdir()
        return config, env
    if case.place == "under_file":
        config.write_text(text, encoding="utf-8")
        return config / "fourkeys.toml", env
    if case.raw is not None:
        config.write_bytes(case.raw)
    elif case.text is not None:
        config.write_text(case.text(text), encoding="utf-8")
    else:
        doc = tomllib.loads(text)
        if case.edit is not None:
            case.edit(doc)
        config.write_text(to_toml(doc), encoding="utf-8")
    return config, env


# --- tests -------------------------------------------------------------------------------------
def test_the_unmutated_config_is_valid(small_org: GeneratedOrg, tmp_path: Path) -> None:
    """Control: the starting point parses, through the same writer, so each case's error is
    caused by its one mistake."""
    text = valid_toml(small_org, "http://127.0.0.1:9", tmp_path / "w.duckdb")
    doc = tomllib.loads(text)
    assert tomllib.loads(to_toml(doc)) == doc
    path = tmp_path / "fourkeys.toml"
    path.write_text(to_toml(doc), encoding="utf-8")
    config = load_config(str(path))
    assert len(config.services) == 6 and config.heroku is not None
    assert [s.name for s in config.services] == [
        "webhooks-service", "cart-worker", "orders-worker", "payouts-service", "index-service",
        "wallet-svc"]


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 20
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_bad_config_is_one_line_and_writes_nothing(case: Case, small_org: GeneratedOrg,
                                                   api_url: str, tmp_path: Path) -> None:
    case_dir = tmp_path / "case"
    warehouse = case_dir / "data" / "fourkeys.duckdb"
    config, env = write_case(case, case_dir, valid_toml(small_org, api_url, warehouse))
    before = listing(tmp_path)
    argv = {"env": ("extract",), "no_value": ("extract", "--config")}.get(
        case.place, ("extract", "--config", str(config)))
    done = run_cli(*argv, *case.argv, env=env, timeout=60)
    assert_one_line_error(done, case.expect, config if case.names_path else None)
    assert not warehouse.exists()
    assert listing(tmp_path) == before, "the failed run wrote something"


def test_a_broken_config_leaves_an_existing_warehouse_byte_identical(served: Served) -> None:
    ok = run_cli("extract", "--config", str(served.config_path), timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert TOKEN not in ok.stdout + ok.stderr
    assert served.warehouse_path.is_file()
    before = listing(served.warehouse_path.parent)
    snapshot = served.warehouse_path.read_bytes()

    valid = served.config_path.read_text(encoding="utf-8")
    doc = tomllib.loads(valid)
    _set_service("cart-worker", workflow=None)(doc)
    served.config_path.write_text(to_toml(doc), encoding="utf-8")
    bad = run_cli("extract", "--config", str(served.config_path), timeout=60)
    assert_one_line_error(bad, ('"cart-worker"', "workflow ="), served.config_path)

    served.config_path.write_text(valid, encoding="utf-8")  # valid again, but no token
    no_token = run_cli("extract", "--config", str(served.config_path),
                       env={"GITHUB_TOKEN": ""}, timeout=60)
    assert_one_line_error(no_token, ("$GITHUB_TOKEN", "not set"), served.config_path)

    assert served.warehouse_path.read_bytes() == snapshot
    assert listing(served.warehouse_path.parent) == before
