"""Bad [[organizations]] settings and teams files: one line, exit 1, no traceback, nothing written.

Each case starts from the valid config of tests/org_scenario.py (an unmutated copy extracts
successfully from the served fake: tests/integration/test_org_discovery.py), makes one mistake
in the config or its teams file, and runs the real `fourkeys extract` in a subprocess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from fakes.scenario import load_scenario
from fakes.server import create_app, serve_in_thread
from tests.bad_inputs.test_bad_config import assert_one_line_error, listing
from tests.conftest import run_cli
from tests.org_scenario import build_scenario, write_config

ORG_HEADER = '[[organizations]]\nname = "acme"\n'


@dataclass(frozen=True)
class Case:
    id: str
    expect: tuple[str, ...]
    config: Callable[[str], str] = lambda text: text       # rewrite the config text
    teams: tuple[str, str] | None = None                   # (file name, content) to write


def _org(line: str) -> Callable[[str], str]:
    """Add a line to the [[organizations]] entry."""
    return lambda text: text.replace(ORG_HEADER, ORG_HEADER + line + "\n")


def _replace(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text
        return text.replace(old, new)
    return edit


CASES = [
    # --- the teams file
    Case("teams_file_missing", ("organizations[0]", "teams_file", "missing.toml not found",
                                "create it"),
         config=_replace('teams_file = "teams.toml"', 'teams_file = "missing.toml"')),
    Case("teams_file_is_a_directory", ("teams_file", "is a directory"),
         config=_replace('teams_file = "teams.toml"', 'teams_file = "folder.toml"'),
         teams=("folder.toml/", "")),
    Case("teams_file_wrong_extension", ("teams_file", "must be a .toml or .csv"),
         config=_replace('teams_file = "teams.toml"', 'teams_file = "teams.yaml"')),
    Case("teams_toml_syntax_error", ("teams.toml", "not valid TOML", "fix the syntax"),
         teams=("teams.toml", '"checkout" = \n')),
    Case("teams_toml_value_not_a_team", ("teams.toml", '"checkout"', "must map a repository glob"),
         teams=("teams.toml", '"checkout" = ["payments"]\n')),
    Case("teams_toml_empty_team", ("teams.toml", "empty team"),
         teams=("teams.toml", '"checkout" = ""\n')),
    Case("teams_toml_glob_never_matches", ("teams.toml", '"check out"', "can never match"),
         teams=("teams.toml", '"check out" = "payments"\n')),
    Case("teams_csv_three_columns", ("teams.csv:2", "expected two columns", "got 3"),
         config=_replace('teams_file = "teams.toml"', 'teams_file = "teams.csv"'),
         teams=("teams.csv", "repository,team\ncheckout,payments,extra\n")),
    Case("teams_file_not_utf8", ("teams.toml", "not UTF-8"),
         teams=("teams.toml", "\udcff")),
    # --- the [[organizations]] entry
    Case("include_names_the_owner", ("organizations[0]", ".include", "drop the owner"),
         config=_org('include = ["acme/*"]')),
    Case("exclude_can_never_match", (".exclude", '"sandbox tools"', "can never match"),
         config=_replace('exclude = ["sandbox-*"]', 'exclude = ["sandbox tools"]')),
    Case("include_empty", (".include", "selects nothing", '["*"]'), config=_org("include = []")),
    Case("organisation_name_is_a_url", (".name", "login"),
         config=_replace('name = "acme"', 'name = "https://github.com/acme"')),
    Case("heroku_releases", (".deployment_source", "heroku_app", "[[services]]"),
         config=_replace('deployment_source = "github_deployments"\nenvironment',
                         'deployment_source = "heroku_releases"\nenvironment')),
    Case("workflow_runs_without_workflow", ("organizations[0]", "workflow ="),
         config=_replace('deployment_source = "github_deployments"\nenvironment',
                         'deployment_source = "workflow_runs"\nenvironment')),
    Case("bad_environment_regex", ("organizations[0]", ".environment", "does not compile"),
         config=_replace('environment = "production"', 'environment = "re:prod(uction"')),
    Case("empty_default_team", (".default_team", "empty"),
         config=_replace('default_team = "platform"', 'default_team = " "')),
    Case("codeowners_not_a_boolean", (".codeowners", "boolean"),
         config=_replace("codeowners = true", 'codeowners = "maybe"')),
    Case("unknown_key", ("organizations[0]", "includes", "unknown key"),
         config=_org('includes = ["*"]')),
    Case("organisation_listed_twice", ("organizations[1]", "listed twice"),
         config=lambda t: t + '\n[[organizations]]\nname = "ACME"\n'
                              'deployment_source = "releases"\n'),
    Case("organizations_as_one_table", ("organizations", "list of tables",
                                        "[[organizations]]"),
         config=_replace("[[organizations]]", "[organizations]")),
    Case("missing_deployment_source", ("organizations[0]", "deployment_source", "missing key"),
         config=_replace('deployment_source = "github_deployments"\nenvironment',
                         "environment")),
]


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    with serve_in_thread(create_app(load_scenario(build_scenario()))) as server:
        yield server.base_url


def test_the_corpus_is_distinct() -> None:
    assert len({c.id for c in CASES}) == len(CASES) >= 20


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_bad_discovery_setting_is_one_line_and_writes_nothing(case: Case, api_url: str,
                                                              tmp_path: Path) -> None:
    case_dir = tmp_path / "case"
    config = write_config(case_dir, api_url)
    config.write_text(case.config(config.read_text(encoding="utf-8")), encoding="utf-8")
    if case.teams is not None:
        name, content = case.teams
        if name.endswith("/"):
            (case_dir / name).mkdir()
        else:
            (case_dir / name).write_bytes(content.encode("utf-8", "surrogateescape"))
    before = listing(tmp_path)
    done = run_cli("extract", "--config", str(config), timeout=60)
    assert_one_line_error(done, case.expect, config)
    assert not (case_dir / "fourkeys.duckdb").exists()
    assert listing(tmp_path) == before, "the failed run wrote something"


def test_an_organisation_github_does_not_know_is_one_line(api_url: str, tmp_path: Path) -> None:
    """Found only by asking GitHub: one line naming the organisation, and no repository read."""
    config = write_config(tmp_path, api_url)
    config.write_text(config.read_text(encoding="utf-8").replace('name = "acme"',
                                                                 'name = "acme-corp"'))
    done = run_cli("extract", "--config", str(config), timeout=60)
    line = assert_one_line_error(done, ("organization acme-corp", "not found on GitHub",
                                        "[[organizations]] name"))
    assert "Could not resolve to an Organization with the login of 'acme-corp'" in line
    con = duckdb.connect(str(tmp_path / "fourkeys.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from raw_github_org_repositories").fetchone() == (0,)
        assert con.execute("select count(*) from raw_github_repositories").fetchone() == (0,)
    finally:
        con.close()
