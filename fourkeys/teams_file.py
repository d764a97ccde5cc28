"""Team ownership files for `[[organizations]]`: repository glob → team, first match wins.

Two forms, chosen by the file's extension:

    # teams.toml: one `"glob" = "team"` per line, in order
    "checkout*" = "payments"
    "acme/search-*" = "discovery"

    # teams.csv: two columns, an optional `repository,team` header, `#` comment lines
    repository,team
    checkout*,payments

A glob without "/" matches the repository's name, one with "/" its full name `owner/name`; both
case-insensitively, as GitHub compares names. Read once when the config loads, so a missing or
malformed file is a one-line error before anything runs.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

# GitHub names hold letters, digits, ".", "-" and "_"; a glob may add * ? [ ] !
_NAME_GLOB_RE = re.compile(r"^[A-Za-z0-9_.\-*?\[\]!]+$")
EXAMPLE = '"checkout-*" = "payments"'


class TeamsFileError(ValueError):
    """A teams file that cannot be used; the message is one line naming the file."""


@dataclass(frozen=True)
class TeamRule:
    pattern: str
    team: str


def repository_matches(pattern: str, repository: str) -> bool:
    """`pattern` against "owner/name": the name unless the pattern names an owner too."""
    subject = repository if "/" in pattern else repository.rsplit("/", 1)[-1]
    return fnmatch.fnmatchcase(subject.lower(), pattern.lower())


def glob_problem(pattern: str, *, with_owner: bool) -> str | None:
    """Why `pattern` can never match a repository (None when it can)."""
    if not pattern.strip():
        return "an empty pattern matches nothing"
    parts = pattern.split("/")
    if len(parts) > (2 if with_owner else 1):
        if with_owner:
            return f'"{pattern}" has more than one "/"; use "name-glob" or "owner/name-glob"'
        return (f'"{pattern}" is matched against repository names within the organisation; '
                'drop the owner, e.g. "checkout-*"')
    if not all(_NAME_GLOB_RE.match(part) for part in parts):
        return (f'"{pattern}" can never match a repository name (letters, digits, ".", "-", "_" '
                "and the glob characters * ? [ ] only)")
    return None


def team_for(rules: tuple[TeamRule, ...], repository: str) -> str | None:
    for rule in rules:
        if repository_matches(rule.pattern, repository):
            return rule.team
    return None


def read_teams_file(path: Path) -> tuple[TeamRule, ...]:
    """The rules of a .toml or .csv teams file, in order; TeamsFileError on any mistake."""
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".csv"):
        raise TeamsFileError(f"{path}: a teams file must be .toml or .csv")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TeamsFileError(
            f"{path} not found; create it (repository glob → team, e.g. {EXAMPLE}) or fix the "
            "path (relative to the config file)"
        ) from None
    except IsADirectoryError:
        raise TeamsFileError(f"{path} is a directory; give the teams file's path") from None
    except UnicodeDecodeError as exc:
        raise TeamsFileError(
            f"{path}: is not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise TeamsFileError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    rules = _toml_rules(path, text) if suffix == ".toml" else _csv_rules(path, text)
    return tuple(rules)


def _rule(where: str, pattern: str, team: str) -> TeamRule:
    problem = glob_problem(pattern, with_owner=True)
    if problem:
        raise TeamsFileError(f"{where}: {problem}")
    if not team.strip():
        raise TeamsFileError(f'{where}: "{pattern}" maps to an empty team; name the team')
    return TeamRule(pattern.strip(), team.strip())


def _toml_rules(path: Path, text: str) -> list[TeamRule]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TeamsFileError(f"{path}: not valid TOML ({exc}); fix the syntax there") from None
    rules = []
    for pattern, team in doc.items():  # tomllib keeps the file's order: first match wins
        if not isinstance(team, str):
            raise TeamsFileError(
                f'{path}: "{pattern}" must map a repository glob to a team name, e.g. {EXAMPLE}'
            )
        rules.append(_rule(str(path), pattern, team))
    return rules


def _csv_rules(path: Path, text: str) -> list[TeamRule]:
    reader = csv.reader(io.StringIO(text))
    rules: list[TeamRule] = []
    header_allowed = True
    try:
        for row in reader:
            cells = [c.strip() for c in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if header_allowed and [c.lower() for c in cells] == ["repository", "team"]:
                header_allowed = False
                continue
            header_allowed = False
            where = f"{path}:{reader.line_num}"
            if len(cells) != 2:
                raise TeamsFileError(
                    f'{where}: expected two columns "repository glob,team", got {len(cells)}'
                )
            rules.append(_rule(where, cells[0], cells[1]))
    except csv.Error as exc:
        raise TeamsFileError(f"{path}:{reader.line_num}: not valid CSV ({exc})") from None
    return rules
