"""CODEOWNERS → the team that owns a repository. Pure functions.

GitHub's rules (docs.github.com, "About code owners"): the file is read from `.github/`, the
repository root, then `docs/`, the first one found wins; each line is a pattern and its owners
(`@user`, `@org/team-slug` or an e-mail address); `#` starts a comment (a whole line, or after
whitespace); the last matching pattern takes precedence; a pattern with no owners makes its files
unowned. Negation (`!`) and character ranges (`[ ]`) are not supported by GitHub, which skips
such lines: so do we.

The repository's owner is read from the last rule for the whole repository (`*`, `/`, `**`,
`/*`, `/**`, `**/*`): its first `@<org>/<team>` owner of the repository's own organisation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# GitHub's documented lookup order: the first file found is the one GitHub uses
LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
# patterns that mean "everything in the repository" (`/` as most hand-written files mean it)
ROOT_PATTERNS = frozenset({"*", "**", "/", "/*", "/**", "**/*", "/**/*"})

_TEAM_RE = re.compile(r"^@([A-Za-z0-9](?:[A-Za-z0-9-]*)?)/([A-Za-z0-9_.-]+)$")
_USER_RE = re.compile(r"^@[A-Za-z0-9](?:[A-Za-z0-9-]*)?$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TOKEN_RE = re.compile(r"(?:\\.|\S)+")  # whitespace splits, except an escaped one (`\ `)


@dataclass(frozen=True)
class Rule:
    line: int
    pattern: str
    owners: tuple[str, ...]


@dataclass(frozen=True)
class Ownership:
    """The team read from a CODEOWNERS file, or why there is none."""

    team: str | None
    reason: str


def owner_kind(owner: str) -> str:
    """'team' | 'user' | 'email' | 'invalid'"""
    if _TEAM_RE.match(owner):
        return "team"
    if _USER_RE.match(owner):
        return "user"
    if _EMAIL_RE.match(owner):
        return "email"
    return "invalid"


def parse(text: str) -> list[Rule]:
    """The valid rules of a CODEOWNERS file, in file order."""
    rules: list[Rule] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tokens = _TOKEN_RE.findall(line)
        for index, token in enumerate(tokens):
            if token.startswith("#"):  # an inline comment
                tokens = tokens[:index]
                break
        pattern, owners = tokens[0], tokens[1:]
        if pattern.startswith("!") or "[" in pattern or "]" in pattern:
            continue  # unsupported by GitHub: the line is skipped
        rules.append(Rule(number, pattern, tuple(owners)))
    return rules


def team_of(text: str, organization: str) -> Ownership:
    """The team owning the whole repository per this CODEOWNERS text (last match wins)."""
    root = [r for r in parse(text) if r.pattern in ROOT_PATTERNS]
    if not root:
        return Ownership(None, "CODEOWNERS has no rule for the whole repository (`*`)")
    rule = root[-1]
    if not rule.owners:
        return Ownership(None, f"CODEOWNERS line {rule.line} (`{rule.pattern}`) has no owners")
    for owner in rule.owners:
        match = _TEAM_RE.match(owner)
        if match and match.group(1).lower() == organization.lower():
            return Ownership(match.group(2).lower(), f"CODEOWNERS line {rule.line}")
    return Ownership(
        None,
        f"CODEOWNERS line {rule.line} (`{rule.pattern}`) names no @{organization}/… team "
        f"(owners: {' '.join(rule.owners)})",
    )
