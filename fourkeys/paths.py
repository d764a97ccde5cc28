"""Monorepo path globs (`[[services]] paths`) → regular expressions over repository paths.

A service in a monorepo is `repository + paths`: a change belongs to it when one of the files
the change touches matches one of its globs. The globs read like `.gitignore` lines and
GitHub Actions' `on.push.paths` (people copy them from their deploy workflow):

    services/checkout/**      everything below services/checkout
    services/checkout         the same: a glob that names a directory covers what is inside
    libs/pay/*.py             .py files directly in libs/pay (and anything below a match)
    **/openapi.yaml           openapi.yaml at any depth, the root included

- globs are relative to the repository root (a leading `/` is allowed and changes nothing);
- `*` is any run of characters within one path segment, `?` one character (never `/`);
- `**` as a whole segment is any number of directories, none included;
- a glob matches a file when it matches the file's path or one of its parent directories;
- matching is case-sensitive, as git paths are.

Character classes, braces, escapes and `!` negation are refused (one line saying so), so that
every glob means the same thing here, in DuckDB and in BigQuery. The regex uses only RE2 syntax
that Python's `re`, DuckDB and BigQuery agree on; dbt matches it whole
(`regex_full_match_expr`).
"""

from __future__ import annotations

import re

# regex metacharacters that may appear in a path and must be matched literally
_LITERAL_ESCAPES = {c: "\\" + c for c in ".^$+()|"}
_REFUSED = {
    "[": "character classes [ ]",
    "]": "character classes [ ]",
    "{": "braces { }",
    "}": "braces { }",
    "\\": "backslash escapes",
}
EXAMPLE = '"services/checkout/**"'


def path_glob_problem(glob: str) -> str | None:
    """Why `glob` cannot be a service path (None when it can): one line with the fix."""
    if not glob.strip():
        return f"an empty path glob matches nothing; write one like {EXAMPLE}"
    if glob != glob.strip():
        return f'"{glob}" starts or ends with a space; remove it'
    if glob.startswith("!"):
        return (f'"{glob}": negation with "!" is not supported; list only the paths that '
                "belong to the service")
    for char, what in _REFUSED.items():
        if char in glob:
            return (f'"{glob}": {what} are not supported in paths; use *, ? and ** '
                    f"(e.g. {EXAMPLE})")
    for segment in _segments(glob):
        if segment in ("", ".", ".."):
            return (f'"{glob}" has an empty, "." or ".." segment; write the path from the '
                    f"repository root, e.g. {EXAMPLE}")
        if "**" in segment and segment != "**":
            return (f'"{glob}": ** must be a whole path segment, e.g. "**/*.js" or '
                    '"services/**"')
    return None


def path_glob_regex(glob: str) -> str:
    """The regular expression (to be matched against a whole path) equivalent to `glob`.
    `glob` must be valid (`path_glob_problem` is None)."""
    segments = _segments(glob)
    out: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            # trailing: anything below; elsewhere: zero or more directories
            out.append(".*" if last else "(?:[^/]+/)*")
            continue
        out.append(_segment_regex(segment) + ("" if last else "/"))
    regex = "".join(out)
    if segments[-1] != "**":
        regex += "(?:/.*)?"  # a match may be a directory: everything inside it matches too
    return regex


def path_matches(glob: str, path: str) -> bool:
    """Whether a repository file `path` matches `glob` (the Python twin of the SQL match)."""
    return re.fullmatch(path_glob_regex(glob), path) is not None


def _segments(glob: str) -> list[str]:
    text = glob.removeprefix("/")
    if text.endswith("/"):  # "services/checkout/" names a directory: the same as without "/"
        text = text[:-1]
    return text.split("/")


def _segment_regex(segment: str) -> str:
    parts: list[str] = []
    for char in segment:
        if char == "*":
            parts.append("[^/]*")
        elif char == "?":
            parts.append("[^/]")
        else:
            parts.append(_LITERAL_ESCAPES.get(char, char))
    return "".join(parts)
