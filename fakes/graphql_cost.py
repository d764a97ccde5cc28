"""GitHub's GraphQL resource limits: pagination bounds, the node limit and the point cost.

Source: docs.github.com, "Rate limits and node limits for the GraphQL API"
(https://docs.github.com/en/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api).

Node limit (checked before execution; a query that breaks it is not run and costs nothing):
  * every connection must be given `first` or `last`;
  * `first` / `last` must be within 1-100;
  * a call may request at most 500,000 nodes. The node count is the sum, over every connection,
    of the product of `first`/`last` down the chain of connections that leads to it:
    `repository { issues(first: 100) { nodes { labels(first: 50) { … } } } }` is
    100 + 100 × 50 = 5,100 nodes.

Point cost ("rate limit score"):
  1. add up the number of requests needed to fulfil each connection, assuming every
     connection returns its full `first`/`last`: a connection costs one request per object of
     its parent connection, i.e. the product of the sizes of the connections above it (1 at the
     top); for the example above: issues 1 + labels 100 = 101 requests;
  2. divide by 100 and round to the nearest whole number (half up); the minimum is 1.
     101 / 100 = 1.01 → 1 point. The docs' own example — viewer → repositories(first: 100)
     → issues(first: 50) → labels(first: 60) — is 1 + 100 + 5,000 = 5,101 requests → 51 points.

Everything is computed on the selection that will execute: `@skip`/`@include` are evaluated
with the request's variables, fragments and inline fragments are expanded, and fields that
share a response key are merged (as execution merges them). GitHub only insists on
`first`/`last` where the connection's items (`nodes` / `edges`) are selected: the common
`issues(states: OPEN) { totalCount }` is accepted, as on github.com, and counts as one request
and no nodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

MAX_PAGE_SIZE = 100
MAX_NODES = 500_000

_ParentType = GraphQLObjectType | GraphQLInterfaceType


@dataclass(frozen=True, slots=True)
class QueryCost:
    """What the analysis found: the points to charge, the requests and nodes behind them."""

    cost: int
    requests: int
    node_count: int
    dry_run: bool = False


class LimitError(Exception):
    """The query breaks a node limit; `errors` are GitHub-shaped and the query must not run."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "limit exceeded")
        self.errors = errors


def points(requests: int) -> int:
    """GitHub's rounding: requests / 100 to the nearest whole number (half up), at least 1."""
    return max(1, (requests + 50) // 100)


def analyze(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> QueryCost:
    """Cost and node count of `operation`; raises LimitError for a query GitHub would refuse."""
    root = schema.get_root_type(operation.operation)
    if root is None:  # validation rejects this before we get here
        return QueryCost(cost=1, requests=0, node_count=0)
    walker = _Walker(schema, fragments, variables)
    walker.walk(root, [operation.selection_set], 1, [])
    if walker.errors:
        raise LimitError(walker.errors)
    return QueryCost(
        cost=points(walker.requests),
        requests=walker.requests,
        node_count=walker.nodes,
        dry_run=walker.dry_run,
    )


def _literal(node: FieldNode | Any, name: str, variables: Mapping[str, Any]) -> Any:
    """The value of argument `name` (validation has already checked its type)."""
    for arg in node.arguments or ():
        if arg.name.value != name:
            continue
        value = arg.value
        if isinstance(value, VariableNode):
            return variables.get(value.name.value)
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, BooleanValueNode):
            return value.value
        return None
    return None


def _included(node: Any, variables: Mapping[str, Any]) -> bool:
    for directive in node.directives or ():
        name = directive.name.value
        if name == "skip" and _literal(directive, "if", variables) is True:
            return False
        if name == "include" and _literal(directive, "if", variables) is not True:
            return False
    return True


def _location(node: Any) -> list[dict[str, int]]:
    if node.loc is None:
        return []
    return [{"line": node.loc.start_token.line, "column": node.loc.start_token.column}]


@dataclass
class _Walker:
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    requests: int = 0
    nodes: int = 0
    dry_run: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)
    _node_limit_hit: bool = False

    def _collect(
        self,
        parent: _ParentType,
        selection_set: SelectionSetNode,
        out: dict[str, list[tuple[_ParentType, FieldNode]]],
        seen_fragments: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if not _included(selection, self.variables):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                out.setdefault(key, []).append((parent, selection))
            elif isinstance(selection, InlineFragmentNode):
                cond = selection.type_condition
                target = self.schema.get_type(cond.name.value) if cond else parent
                if isinstance(target, GraphQLObjectType | GraphQLInterfaceType):
                    self._collect(target, selection.selection_set, out, seen_fragments)
                else:  # a union: its fields come from nested fragments
                    self._collect(parent, selection.selection_set, out, seen_fragments)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen_fragments:
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value)
                if not isinstance(target, GraphQLObjectType | GraphQLInterfaceType):
                    target = parent
                self._collect(target, fragment.selection_set, out, {*seen_fragments, name})

    def walk(
        self,
        parent: _ParentType,
        selection_sets: list[SelectionSetNode],
        multiplier: int,
        path: list[str],
    ) -> None:
        groups: dict[str, list[tuple[_ParentType, FieldNode]]] = {}
        for selection_set in selection_sets:
            self._collect(parent, selection_set, groups, set())
        for key, entries in groups.items():
            owner, node = entries[0]
            name = node.name.value
            field_def = owner.fields.get(name) if not name.startswith("__") else None
            if field_def is None:
                continue
            child = get_named_type(field_def.type)
            children = [n.selection_set for _, n in entries if n.selection_set is not None]
            if not path and name == "rateLimit" and _literal(node, "dryRun", self.variables):
                self.dry_run = True
            if not isinstance(child, GraphQLObjectType | GraphQLInterfaceType):
                members = getattr(child, "types", ())
                if children and members:
                    # a union selects only through type conditions, which name their own
                    # type; walking once (as any member) counts each fragment once
                    self.walk(members[0], children, multiplier, [*path, key])
                continue
            if child.name.endswith("Connection") and "first" in field_def.args:
                size = self._connection(child, node, children, multiplier, [*path, key])
                self.walk(child, children, multiplier * size, [*path, key])
            elif children:
                self.walk(child, children, multiplier, [*path, key])

    def _connection(
        self,
        connection: _ParentType,
        node: FieldNode,
        children: list[SelectionSetNode],
        multiplier: int,
        path: list[str],
    ) -> int:
        """Checks one connection's bounds, counts its requests and nodes; returns its size."""
        name = node.name.value
        first = _literal(node, "first", self.variables)
        last = _literal(node, "last", self.variables)
        for arg_name, value in (("first", first), ("last", last)):
            if value is None:
                continue
            if value > MAX_PAGE_SIZE:
                self._error(
                    "EXCESSIVE_PAGINATION",
                    f"Requesting {value} records on the `{name}` connection exceeds the "
                    f"`{arg_name}` limit of {MAX_PAGE_SIZE} records.",
                    node,
                    path,
                )
            elif value < 0:
                self._error(
                    "INVALID_PAGINATION",
                    f"`{arg_name}` on the `{name}` connection cannot be less than zero.",
                    node,
                    path,
                )
        if first is None and last is None:
            items: dict[str, list[tuple[_ParentType, FieldNode]]] = {}
            for selection_set in children:
                self._collect(connection, selection_set, items, set())
            if any(n.name.value in ("nodes", "edges") for e in items.values() for _, n in e):
                self._error(
                    "MISSING_PAGINATION_BOUNDARIES",
                    f"You must provide a `first` or `last` value to properly paginate the "
                    f"`{name}` connection.",
                    node,
                    path,
                )
        size = max(min(max(first or 0, last or 0), MAX_PAGE_SIZE), 0)
        self.requests += multiplier
        self.nodes += multiplier * size
        if self.nodes > MAX_NODES and not self._node_limit_hit:
            self._node_limit_hit = True
            self.errors.append(
                {
                    "type": "MAX_NODE_LIMIT_EXCEEDED",
                    "message": f"By the time this query traverses to the {name} connection, "
                    f"it is requesting up to {self.nodes:,} possible nodes which exceeds the "
                    f"maximum limit of {MAX_NODES:,}.",
                    "locations": _location(node),
                }
            )
        return size

    def _error(self, kind: str, message: str, node: FieldNode, path: list[str]) -> None:
        self.errors.append(
            {"type": kind, "path": path, "locations": _location(node), "message": message}
        )
