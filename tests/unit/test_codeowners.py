"""CODEOWNERS → team (extractors/github/codeowners.py) and teams files (fourkeys/teams_file.py).

Every expectation is read off GitHub's documented CODEOWNERS rules: comments, last match wins,
`@org/team` / `@user` / e-mail owners, and `!` / `[ ]` lines skipped as unsupported.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.github.codeowners import LOCATIONS, Rule, owner_kind, parse, team_of
from fourkeys.teams_file import (
    TeamRule,
    TeamsFileError,
    glob_problem,
    read_teams_file,
    repository_matches,
    team_for,
)

# --- parsing -------------------------------------------------------------------------------


def test_comments_blank_lines_and_inline_comments_are_not_rules() -> None:
    text = ("# This is a comment.\n"
            "\n"
            "   # an indented comment\n"
            "*       @global-owner1 @global-owner2\n"
            "*.js    @js-owner #This is an inline comment.\n"
            "/apps/github   # owned by nobody: a comment, not an owner\n")
    assert parse(text) == [
        Rule(4, "*", ("@global-owner1", "@global-owner2")),
        Rule(5, "*.js", ("@js-owner",)),
        Rule(6, "/apps/github", ()),
    ]


def test_negation_and_character_ranges_are_skipped_as_github_does() -> None:
    text = "* @acme/a\n!/vendor/ @acme/b\n*.[ch] @acme/c\n/docs/ @acme/d\n"
    assert [r.pattern for r in parse(text)] == ["*", "/docs/"]
    # a negated "everything" line does not take the repository from @acme/a
    assert team_of("* @acme/a\n!* @acme/b\n", "acme").team == "a"


def test_escaped_spaces_stay_in_the_pattern() -> None:
    assert parse(r"/my\ dir/ @acme/x") == [Rule(1, r"/my\ dir/", ("@acme/x",))]


def test_lookup_order_is_githubs() -> None:
    assert LOCATIONS == (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


@pytest.mark.parametrize(("owner", "kind"), [
    ("@acme/payments", "team"), ("@Acme/Team.Name_2", "team"), ("@octocat", "user"),
    ("@my-user", "user"), ("docs@example.com", "email"), ("payments", "invalid"),
    ("@acme/", "invalid"), ("@acme/a/b", "invalid"),
])
def test_owner_kinds(owner: str, kind: str) -> None:
    assert owner_kind(owner) == kind


# --- the repository's team -----------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["*", "/", "**", "/*", "/**", "**/*"])
def test_whole_repository_patterns(pattern: str) -> None:
    assert team_of(f"{pattern} @acme/payments\n", "acme").team == "payments"


@pytest.mark.parametrize("pattern", ["*.js", "/docs/", "docs/*", "apps/", "**/logs", "/src/**"])
def test_path_patterns_do_not_own_the_repository(pattern: str) -> None:
    got = team_of(f"{pattern} @acme/payments\n", "acme")
    assert got.team is None and "no rule for the whole repository" in got.reason


def test_last_matching_rule_wins() -> None:
    text = "* @acme/payments\n/docs/ @acme/docs\n/ @acme/checkout\n*.sql @acme/data\n"
    assert team_of(text, "acme").team == "checkout"


def test_later_path_rules_do_not_override_the_root_rule() -> None:
    assert team_of("* @acme/core\n/docs/ @acme/docs\n*.js @acme/web\n", "acme").team == "core"


def test_the_first_team_of_the_rule_users_and_emails_skipped() -> None:
    text = "* @alice ops@example.com @acme/payments @acme/checkout\n"
    assert team_of(text, "acme").team == "payments"


def test_only_users_and_emails_is_no_team_with_the_reason() -> None:
    got = team_of("* @alice ops@example.com\n", "acme")
    assert got.team is None
    assert "line 1" in got.reason and "@alice ops@example.com" in got.reason


def test_a_later_root_rule_without_a_team_is_no_team() -> None:
    """Last match wins even when the winner names only people: no fallback to earlier rules."""
    assert team_of("* @acme/payments\n* @alice\n", "acme").team is None


def test_a_root_rule_without_owners_makes_the_repository_unowned() -> None:
    got = team_of("* @acme/payments\n*\n", "acme")
    assert got.team is None and "has no owners" in got.reason


def test_teams_of_other_organisations_are_not_the_owner() -> None:
    assert team_of("* @globex/payments @acme/checkout\n", "acme").team == "checkout"
    got = team_of("* @globex/payments\n", "acme")
    assert got.team is None and "@acme/" in got.reason


def test_organisation_and_slug_compare_case_insensitively() -> None:
    assert team_of("* @ACME/Payments\n", "acme").team == "payments"


def test_empty_file_has_no_team() -> None:
    assert team_of("", "acme").team is None
    assert team_of("# only comments\n", "acme").team is None


# --- teams files ---------------------------------------------------------------------------


def test_globs_match_the_name_or_the_full_name_case_insensitively() -> None:
    assert repository_matches("checkout*", "acme/Checkout-API")
    assert repository_matches("acme/check*", "ACME/checkout")
    assert not repository_matches("globex/*", "acme/checkout")
    assert not repository_matches("out", "acme/checkout")
    assert repository_matches("svc-?", "acme/svc-1")
    assert not repository_matches("svc-?", "acme/svc-12")


def test_first_matching_rule_wins() -> None:
    rules = (TeamRule("bill*", "finance"), TeamRule("billing", "payments"),
             TeamRule("*", "everyone"))
    assert team_for(rules, "acme/billing") == "finance"
    assert team_for(rules, "acme/search") == "everyone"
    assert team_for((), "acme/search") is None


def test_toml_teams_file_keeps_the_file_order(tmp_path: Path) -> None:
    path = tmp_path / "teams.toml"
    path.write_text('# glob = team\n"search-*" = "discovery"\n"acme/*" = "platform"\n'
                    '"checkout" = "payments"\n', encoding="utf-8")
    assert read_teams_file(path) == (TeamRule("search-*", "discovery"),
                                     TeamRule("acme/*", "platform"),
                                     TeamRule("checkout", "payments"))


def test_csv_teams_file_with_header_comments_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "teams.csv"
    path.write_text("repository,team\n# payments first\nchecker*, payments\n\n"
                    "acme/search-*,discovery\n", encoding="utf-8")
    assert read_teams_file(path) == (TeamRule("checker*", "payments"),
                                     TeamRule("acme/search-*", "discovery"))


@pytest.mark.parametrize(("name", "text", "expect"), [
    ("teams.toml", '"checkout" = ', "not valid TOML"),
    ("teams.toml", '"checkout" = 3\n', "must map a repository glob to a team name"),
    ("teams.toml", '[payments]\nrepos = ["a"]\n', "must map a repository glob"),
    ("teams.toml", '"checkout" = " "\n', "empty team"),
    ("teams.toml", '"a/b/c" = "x"\n', 'more than one "/"'),
    ("teams.toml", '"check out" = "x"\n', "can never match"),
    ("teams.csv", "repository,team\ncheckout,payments,extra\n", ":2: expected two columns"),
    ("teams.csv", "checkout\n", ":1: expected two columns"),
    ("teams.csv", "checkout,\n", "empty team"),
    ("teams.yaml", "checkout: payments\n", "must be .toml or .csv"),
])
def test_malformed_teams_files_are_one_line_errors(tmp_path: Path, name: str, text: str,
                                                   expect: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TeamsFileError) as caught:
        read_teams_file(path)
    message = str(caught.value)
    assert expect in message and str(path) in message and "\n" not in message


def test_missing_teams_file(tmp_path: Path) -> None:
    with pytest.raises(TeamsFileError, match="not found; create it"):
        read_teams_file(tmp_path / "teams.toml")


@pytest.mark.parametrize(("pattern", "with_owner", "ok"), [
    ("*", False, True), ("checkout-*", False, True), ("svc-[0-9]", False, True),
    ("acme/*", False, False), ("acme/*", True, True), ("", False, False),
    ("check out", False, False), ("@acme/x", True, False),
])
def test_glob_problems(pattern: str, with_owner: bool, ok: bool) -> None:
    assert (glob_problem(pattern, with_owner=with_owner) is None) is ok
