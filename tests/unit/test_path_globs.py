"""Monorepo path globs → regexes (fourkeys/paths.py), and the config and vars built on them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from extractors.run import plan_repositories
from fourkeys.config import parse_config
from fourkeys.errors import FourKeysError
from fourkeys.paths import path_glob_problem, path_glob_regex, path_matches
from fourkeys.transform import config_fingerprint, dbt_vars

# (glob, paths it matches, paths it does not)
CASES = [
    ("services/checkout/**",
     ["services/checkout/app.py", "services/checkout/a/b/c.txt"],
     ["services/checkout", "services/checkout-v2/app.py", "services/search/app.py",
      "x/services/checkout/app.py"]),
    # a glob naming a directory covers what is inside it, with or without a trailing "/"
    ("services/checkout",
     ["services/checkout/app.py", "services/checkout", "services/checkout/a/b.py"],
     ["services/checkout-v2/app.py", "services/checkouts"]),
    ("services/checkout/", ["services/checkout/app.py"], ["services/checkoutx/app.py"]),
    ("/libs/pay", ["libs/pay/client.py"], ["x/libs/pay/client.py"]),
    # * stays within a segment; ? is one character; both never cross "/"
    ("libs/*/client.py", ["libs/pay/client.py"], ["libs/pay/v2/client.py", "libs/client.py"]),
    ("*.md", ["README.md", "docs.md/x"], ["docs/guide.md"]),
    ("services/s?", ["services/s1/app.py"], ["services/s12/app.py", "services/s/x"]),
    # ** as a whole segment: zero or more directories
    ("**/*.md", ["README.md", "docs/guide.md", "a/b/c/d.md"], ["README.txt"]),
    ("services/**/openapi.yaml",
     ["services/openapi.yaml", "services/a/openapi.yaml", "services/a/b/openapi.yaml"],
     ["services/a/openapi.yml", "openapi.yaml"]),
    ("**", ["README.md", "a/b/c"], []),
    # regex metacharacters in a path are literal; matching is case-sensitive
    ("apps/web+api (v1)/$x^.py", ["apps/web+api (v1)/$x^.py"], ["apps/webbapi (v1)/$x^.py"]),
    ("a.b", ["a.b", "a.b/c"], ["aXb"]),
    ("Services/Checkout/**", ["Services/Checkout/x"], ["services/checkout/x"]),
    ("a|b", ["a|b"], ["a", "b"]),
]


@pytest.mark.parametrize(("glob", "yes", "no"), CASES, ids=[c[0] for c in CASES])
def test_glob_semantics(glob: str, yes: list[str], no: list[str]) -> None:
    assert path_glob_problem(glob) is None
    assert [p for p in yes if not path_matches(glob, p)] == []
    assert [p for p in no if path_matches(glob, p)] == []


def test_translation_is_plain_re2() -> None:
    assert path_glob_regex("services/checkout/**") == "services/checkout/.*"
    assert path_glob_regex("services/checkout") == "services/checkout(?:/.*)?"
    assert path_glob_regex("**/*.md") == "(?:[^/]+/)*[^/]*\\.md(?:/.*)?"
    assert path_glob_regex("a/?.py") == "a/[^/]\\.py(?:/.*)?"


def test_duckdb_agrees_with_python() -> None:
    """The regex is matched in DuckDB (and BigQuery, RE2 too) by `regex_full_match_expr`:
    every case gives the same answer there."""
    con = duckdb.connect()
    try:
        for glob, yes, no in CASES:
            for path in [*yes, *no]:
                row = con.execute("select regexp_full_match(?, ?)",
                                  [path, path_glob_regex(glob)]).fetchone()
                assert row is not None and row[0] == path_matches(glob, path), (glob, path)
    finally:
        con.close()


@pytest.mark.parametrize(("glob", "words"), [
    ("", ("empty",)),
    ("  ", ("empty",)),
    (" services/a", ("space",)),
    ("!docs/**", ("negation",)),
    ("services/[ab]/**", ("character classes", "*, ? and **")),
    ("services/{a,b}/**", ("braces",)),
    ("services\\a", ("backslash",)),
    ("**.js", ("whole path segment", '"**/*.js"')),
    ("services/a**", ("whole path segment",)),
    ("services/***", ("whole path segment",)),
    ("../services/a", ('".."', "repository root")),
    ("./services/a", ('"."',)),
    ("services//a", ("empty",)),
    ("/", ("empty",)),
])
def test_bad_globs_say_why(glob: str, words: tuple[str, ...]) -> None:
    problem = path_glob_problem(glob)
    assert problem is not None
    assert "\n" not in problem
    for word in words:
        assert word in problem, problem


# ---- config, extraction plan and dbt vars -----------------------------------------------------

def _config(**checkout: Any) -> dict[str, Any]:
    return {"services": [
        {"name": "checkout", "team": "payments", "repository": "acme/Mono",
         "deployment_source": "workflow_runs", "workflow": "deploy-checkout.yml", **checkout},
        {"name": "search", "team": "discovery", "repository": "acme/mono",
         "deployment_source": "workflow_runs", "workflow": "deploy-search.yml"},
        {"name": "web", "team": "web", "repository": "acme/web",
         "deployment_source": "releases"},
    ]}


def test_paths_make_only_their_repository_read_files() -> None:
    config = parse_config(_config(paths=["services/checkout/**"]), Path("f.toml"))
    plans = {p.repository: p for p in plan_repositories(config)}
    assert plans["acme/mono"].files is True
    assert plans["acme/web"].files is False
    assert plan_repositories(parse_config(_config(), Path("f.toml")))[0].files is False


def test_dbt_vars_carry_the_regexes_only_when_set() -> None:
    plain = parse_config(_config(), Path("f.toml"))
    assert all("path_patterns" not in s and "tag_prefix" not in s
               for s in dbt_vars(plain)["services"])
    mono = parse_config(_config(paths=["services/checkout", "libs/pay/**"]), Path("f.toml"))
    assert dbt_vars(mono)["services"][0]["path_patterns"] == [
        "services/checkout(?:/.*)?", "libs/pay/.*"]
    # adding paths changes the fingerprint (the incremental marts rebuild whole) …
    assert config_fingerprint(mono) != config_fingerprint(plain)


def test_tag_prefix_is_for_releases() -> None:
    doc = _config()
    doc["services"][2]["tag_prefix"] = "web-v"
    config = parse_config(doc, Path("f.toml"))
    assert dbt_vars(config)["services"][2]["tag_prefix"] == "web-v"
    with pytest.raises(FourKeysError, match='tag_prefix only applies to deployment_source '
                                            '"releases"'):
        parse_config(_config(tag_prefix="checkout-v"), Path("f.toml"))


@pytest.mark.parametrize(("paths", "words"), [
    ([], ("paths = [] matches nothing",)),
    ("services/checkout/**", ("must be a list of globs",)),
    (["services/checkout/**", "libs/[a-z]*"], ("character classes",)),
])
def test_bad_paths_are_one_line_naming_the_service(paths: Any, words: tuple[str, ...]) -> None:
    with pytest.raises(FourKeysError) as caught:
        parse_config(_config(paths=paths), Path("f.toml"))
    line = str(caught.value)
    assert "\n" not in line and 'services[0] (name "checkout").paths' in line
    for word in words:
        assert word in line, line
