"""GitHub-shaped GraphQL errors.

GitHub's GraphQL API runs on graphql-ruby, whose validation messages differ from graphql-core's
("Field 'foo' doesn't exist on type 'Repository'" vs "Cannot query field 'foo' on type
'Repository'."). Clients match on these texts and on `extensions.code`, so the fake rewrites the
common graphql-core messages into graphql-ruby's, with graphql-ruby's `path` (the position in
the *document*: `["query Name", "repository", "foo"]`) and no "Did you mean" suggestions.
Execution errors carry GitHub's top-level `type` (NOT_FOUND, …) instead of `extensions`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    VariableDefinitionNode,
    print_ast,
)

GRAPHQL_DOCS = "https://docs.github.com/graphql"
INTERNAL_MESSAGE = (
    "Something went wrong while executing your query. This may be the result of a timeout, "
    "or it could be a GitHub bug. Please include `0000:0000:0000000:0000000:00000000` when "
    "reporting this issue."
)


class GitHubError(Exception):
    """Raised by a resolver: becomes `{"type", "path", "locations", "message"}` like GitHub's."""

    def __init__(self, kind: str | None, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def locations(nodes: list[Node] | None) -> list[dict[str, int]]:
    out = []
    for node in nodes or ():
        if node.loc is not None:
            out.append({"line": node.loc.start_token.line, "column": node.loc.start_token.column})
    return out


# --- parse errors -----------------------------------------------------------------------------

_TOKENS = {
    "{": "LCURLY",
    "}": "RCURLY",
    "(": "LPAREN",
    ")": "RPAREN",
    "[": "LBRACKET",
    "]": "RBRACKET",
    ":": "COLON",
    "$": "VAR_SIGN",
    "!": "BANG",
    "=": "EQUALS",
    "@": "DIR_SIGN",
    "...": "ELLIPSIS",
    "|": "PIPE",
    "&": "AMP",
}
_FOUND_RE = re.compile(r"(?:found|Unexpected) (<EOF>|(Name|Int|Float|String) (.+?)|'([^']*)')\.?$")


def parse_error(error: GraphQLError) -> dict[str, Any]:
    """graphql-ruby's parse error: `Parse error on "}" (RCURLY) at [1, 12]`."""
    locs = [{"line": loc.line, "column": loc.column} for loc in error.locations or ()]
    where = f" at [{locs[0]['line']}, {locs[0]['column']}]" if locs else ""
    match = _FOUND_RE.search(error.message)
    if match is None:
        message = error.message.removeprefix("Syntax Error: ").rstrip(".") + where
    elif match.group(1) == "<EOF>":
        message = "Unexpected end of document"
    elif match.group(2):
        kind = {"Name": "IDENTIFIER"}.get(match.group(2), match.group(2).upper())
        text = match.group(3).strip("'\"")
        message = f'Parse error on "{text}" ({kind}){where}'
    else:
        text = match.group(4)
        message = f'Parse error on "{text}" ({_TOKENS.get(text, "UNKNOWN_CHAR")}){where}'
    return {"message": message, "locations": locs}


# --- validation errors ------------------------------------------------------------------------


def _walk(document: DocumentNode) -> Iterator[tuple[Node, list[str], list[Node]]]:
    """Every AST node with its graphql-ruby path and its ancestors."""

    def visit(node: Node, path: list[str], ancestors: list[Node]) -> Iterator[Any]:
        yield node, path, ancestors
        inner = [*ancestors, node]
        for key in node.keys:
            value = getattr(node, key, None)
            children = value if isinstance(value, tuple | list) else [value]
            for child in children:
                if not isinstance(child, Node) or key == "loc":
                    continue
                child_path = path
                if isinstance(child, FieldNode | ArgumentNode):
                    child_path = [*path, child.name.value]
                elif isinstance(child, InlineFragmentNode):
                    cond = child.type_condition
                    child_path = [*path, f"... on {cond.name.value}" if cond else "..."]
                yield from visit(child, child_path, inner)

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            label = definition.operation.value
            if definition.name:
                label = f"{label} {definition.name.value}"
        elif isinstance(definition, FragmentDefinitionNode):
            label = f"fragment {definition.name.value}"
        else:
            label = "document"
        yield from visit(definition, [label], [])


def _operation_label(ancestors: list[Node], node: Node) -> str:
    for candidate in [*ancestors, node]:
        if isinstance(candidate, OperationDefinitionNode):
            if candidate.name:
                return candidate.name.value
            return f"anonymous {candidate.operation.value}"
    return "anonymous query"


def _nearest(ancestors: list[Node], kind: type) -> Any:
    for candidate in reversed(ancestors):
        if isinstance(candidate, kind):
            return candidate
    return None


_Found = list[tuple[Node, list[Node]]]  # each error node with its ancestors
_Rewrite = Callable[[re.Match[str], _Found], tuple[str, dict[str, Any]]]


def _undefined_field(m: re.Match[str], _f: _Found) -> tuple[str, dict]:
    name, type_name = m.group(1), m.group(2)
    return f"Field '{name}' doesn't exist on type '{type_name}'", {
        "code": "undefinedField",
        "typeName": type_name,
        "fieldName": name,
    }


def _unknown_argument(m: re.Match[str], _f: _Found) -> tuple[str, dict]:
    arg, field = m.group(1), m.group(3)
    return f"Field '{field}' doesn't accept argument '{arg}'", {
        "code": "argumentNotAccepted",
        "name": field,
        "typeName": "Field",
        "argumentName": arg,
    }


def _missing_argument(m: re.Match[str], _f: _Found) -> tuple[str, dict]:
    field, arg = m.group("field"), m.group("arg")
    return f"Field '{field}' is missing required arguments: {arg}", {
        "code": "missingRequiredArguments",
        "className": "Field",
        "name": field,
        "arguments": arg,
    }


def _needs_selections(m: re.Match[str], _f: _Found) -> tuple[str, dict]:
    field, type_name = m.group(1), m.group(2)
    return (
        f"Field must have selections (field '{field}' returns {type_name} but has no "
        f"selections. Did you mean '{field} {{ ... }}'?)",
        {"code": "selectionMismatch", "nodeName": f"field '{field}'", "typeName": type_name},
    )


def _no_selections(m: re.Match[str], found: _Found) -> tuple[str, dict]:
    field, type_name = m.group(1), m.group(2)
    names = []
    node = found[0][0] if found else None
    if isinstance(node, FieldNode) and node.selection_set:
        names = [getattr(s, "name", None) for s in node.selection_set.selections]
    shown = ", ".join(n.value for n in names if n is not None)
    return (
        f"Selections can't be made on scalars (field '{field}' returns {type_name} but has "
        f"selections [{shown}])",
        {"code": "selectionMismatch", "nodeName": f"field '{field}'", "typeName": type_name},
    )


def _unused_variable(m: re.Match[str], found: _Found) -> tuple[str, dict]:
    name = m.group(1)
    op = _operation_label(found[0][1], found[0][0]) if found else "anonymous query"
    return f"Variable ${name} is declared by {op} but not used", {
        "code": "variableNotUsed",
        "variableName": name,
    }


def _undefined_variable(m: re.Match[str], found: _Found) -> tuple[str, dict]:
    name = m.group(1)
    # graphql-core lists the use first and the operation last
    op = _operation_label(found[-1][1], found[-1][0]) if found else "anonymous query"
    return f"Variable ${name} is used by {op} but not declared", {
        "code": "variableNotDefined",
        "variableName": name,
    }


def _unknown_type(m: re.Match[str], found: _Found) -> tuple[str, dict]:
    name = m.group(1)
    var_def = _nearest(found[0][1], VariableDefinitionNode) if found else None
    if var_def is not None:
        return f"{name} isn't a defined input type (on ${var_def.variable.name.value})", {
            "code": "variableRequiresValidType",
            "typeName": name,
            "variableName": var_def.variable.name.value,
        }
    return f"No such type {name}, so it can't be a fragment condition", {
        "code": "undefinedType",
        "typeName": name,
    }


def _bad_literal(m: re.Match[str], found: _Found) -> tuple[str, dict]:
    ancestors = found[0][1] if found else []
    arg = _nearest(ancestors, ArgumentNode)
    field = _nearest(ancestors, FieldNode)
    if arg is None or field is None:
        raise LookupError("not an argument literal")
    shown = print_ast(arg.value)
    return (
        f"Argument '{arg.name.value}' on Field '{field.name.value}' has an invalid value "
        f"({shown}). Expected type '{m.group('type')}'.",
        {
            "code": "argumentLiteralsIncompatible",
            "typeName": "Field",
            "argumentName": arg.name.value,
        },
    )


def _variable_mismatch(m: re.Match[str], found: _Found) -> tuple[str, dict]:
    name, have, want = m.group(1), m.group(2), m.group(3)
    kind = "Nullability" if have.rstrip("!") == want.rstrip("!") else "Type"
    arg = _nearest(found[-1][1], ArgumentNode) if found else None
    arg_name = arg.name.value if arg is not None else "?"
    return f"{kind} mismatch on variable ${name} and argument {arg_name} ({have} / {want})", {
        "code": "variableMismatch",
        "variableName": name,
        "typeName": have,
        "argumentName": arg_name,
        "errorMessage": f"{kind} mismatch",
    }


def _fixed(code: str, text: str) -> _Rewrite:
    def rewrite(m: re.Match[str], _f: _Found) -> tuple[str, dict]:
        return text.format(*m.groups()), {"code": code}

    return rewrite


_REWRITES: list[tuple[re.Pattern[str], _Rewrite]] = [
    (re.compile(r"^Cannot query field '(\w+)' on type '(\w+)'\."), _undefined_field),
    (re.compile(r"^Unknown argument '(\w+)' on field '(\w+)\.(\w+)'\."), _unknown_argument),
    (
        re.compile(r"^Argument '\w+\.(?P<field>\w+)\((?P<arg>\w+):\)' of type '.+' is required"),
        _missing_argument,
    ),
    (
        re.compile(r"^Field '(?P<field>\w+)' argument '(?P<arg>\w+)' of type '.+' is required"),
        _missing_argument,
    ),
    (re.compile(r"^Field '(\w+)' of type '(.+)' must have a selection"), _needs_selections),
    (re.compile(r"^Field '(\w+)' must not have a selection since type '(.+)' has"), _no_selections),
    (re.compile(r"^Variable '\$(\w+)' is never used"), _unused_variable),
    (re.compile(r"^Variable '\$(\w+)' is not defined"), _undefined_variable),
    (re.compile(r"^Unknown type '(\w+)'\."), _unknown_type),
    (re.compile(r"^(?P<type>\w+) cannot represent"), _bad_literal),
    (re.compile(r"^Value '\w+' does not exist in '(?P<type>\w+)' enum"), _bad_literal),
    (re.compile(r"^Expected value of type '(?P<type>.+?)'"), _bad_literal),
    (
        re.compile(r"^Variable '\$(\w+)' of type '(.+)' used in position expecting type '(.+)'"),
        _variable_mismatch,
    ),
    (
        re.compile(r"^Unknown fragment '(\w+)'"),
        _fixed("useAndDefineFragment", "Fragment {0} was used, but not defined"),
    ),
    (
        re.compile(r"^Fragment '(\w+)' is never used"),
        _fixed("useAndDefineFragment", "Fragment {0} was defined, but not used"),
    ),
    (
        re.compile(
            r"^Fragment (?:'\w+' )?cannot be spread here as objects of type '(\w+)' can "
            r"never be of type '(\w+)'"
        ),
        _fixed("cannotSpreadFragment", "Fragment on {1} can't be spread inside {0}"),
    ),
    (
        re.compile(r"^There can be only one operation named '(\w+)'"),
        _fixed("uniquelyNamedOperations", 'Operation name "{0}" must be unique'),
    ),
    (
        re.compile(r"^This anonymous operation must be the only defined operation"),
        _fixed(
            "anonymousOperation", "Operation name is required when multiple operations are present"
        ),
    ),
    (
        re.compile(r"^Fields '(\w+)' conflict because"),
        _fixed("fieldConflict", "Field '{0}' has a field conflict"),
    ),
]
_SUGGESTION_RE = re.compile(r" Did you mean .*$")


def validation_errors(document: DocumentNode, errors: list[GraphQLError]) -> list[dict[str, Any]]:
    """graphql-core validation errors → graphql-ruby's messages, paths and extension codes."""
    where: dict[int, tuple[list[str], list[Node]]] = {}
    wanted = {id(n) for e in errors for n in (e.nodes or ())}
    if wanted:
        for node, path, ancestors in _walk(document):
            if id(node) in wanted:
                where[id(node)] = (path, ancestors)
    out: list[dict[str, Any]] = []
    for error in errors:
        found = [(n, where[id(n)][1]) for n in error.nodes or () if id(n) in where]
        path = where[id(error.nodes[0])][0] if error.nodes and id(error.nodes[0]) in where else []
        message = _SUGGESTION_RE.sub("", error.message)
        extensions: dict[str, Any] = {"code": "validationError"}
        for pattern, rewrite in _REWRITES:
            match = pattern.search(error.message)
            if match is None:
                continue
            with contextlib.suppress(LookupError):  # keep graphql-core's text if unmappable
                message, extensions = rewrite(match, found)
            break
        item: dict[str, Any] = {"path": path, "extensions": extensions}
        item["locations"] = locations(list(error.nodes or ()))
        item["message"] = message
        out.append(item)
    return out


_VARIABLE_RE = re.compile(r"^Variable '\$(\w+)' has invalid value(?: at (\S+))?: (.*)$")


def variable_errors(
    operation: OperationDefinitionNode, inputs: dict[str, Any], errors: list[GraphQLError]
) -> list[dict[str, Any]]:
    """graphql-ruby's "Variable $x of type T was provided invalid value" with its problems."""
    types = {d.variable.name.value: print_ast(d.type) for d in operation.variable_definitions or ()}
    out: list[dict[str, Any]] = []
    for error in errors:
        match = _VARIABLE_RE.match(error.message)
        if match is None:
            out.append(
                {
                    "message": _SUGGESTION_RE.sub("", error.message),
                    "locations": locations(list(error.nodes or ())),
                }
            )
            continue
        name, at, explanation = match.groups()
        problem_path = [int(p) if p.isdigit() else p for p in re.findall(r"\w+", at or "")]
        if explanation.startswith("Expected a value of non-null type"):
            explanation = "Expected value to not be null"
        out.append(
            {
                "extensions": {
                    "value": inputs.get(name),
                    "problems": [
                        {
                            "path": problem_path,
                            "explanation": _SUGGESTION_RE.sub("", explanation).rstrip("."),
                        }
                    ],
                },
                "locations": locations(list(error.nodes or ())),
                "message": f"Variable ${name} of type {types.get(name, '?')} was provided "
                f"invalid value",
            }
        )
    return out


def execution_error(error: GraphQLError) -> tuple[dict[str, Any], bool]:
    """One execution error in GitHub's shape; the flag says whether it was our own bug."""
    original = error.original_error
    item: dict[str, Any] = {}
    if isinstance(original, GitHubError):
        if original.kind:
            item["type"] = original.kind
        item["path"] = list(error.path or [])
        item["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations or ()
        ]
        item["message"] = original.message
        return item, False
    if original is None:  # graphql-core's own (e.g. an enum value it cannot serialize)
        formatted = dict(error.formatted)
        return formatted, True
    return {"message": INTERNAL_MESSAGE}, True
