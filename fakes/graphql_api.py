"""The fake GitHub GraphQL endpoint (`POST /graphql`), minus HTTP.

`GraphQLService.execute(body)` does what api.github.com does with a request body: parse and
validate the query against GitHub's *published* schema (so a query GitHub would refuse is
refused here, with graphql-ruby's messages), check GitHub's node limits, compute the point cost
(`fakes.graphql_cost`), refuse the query when the budget cannot pay for it, charge the budget,
then execute it over the scenario (`fakes.graphql_resolvers`). `rateLimit { … }` inside the
query reports the budget *after* this query's charge, as GitHub's does. The HTTP server turns
the `GraphQLResult` into a response and must not charge the budget again.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeGuard

from graphql import (
    DocumentNode,
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    execute,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

from fakes.graphql_cost import LimitError, analyze
from fakes.graphql_errors import (
    GRAPHQL_DOCS,
    execution_error,
    parse_error,
    validation_errors,
    variable_errors,
)
from fakes.graphql_objects import ObjectStore
from fakes.graphql_paging import RequestContext, field_resolver
from fakes.graphql_resolvers import install_resolvers
from fakes.ratelimit import RateLimits
from fakes.scenario import Scenario

log = logging.getLogger(__name__)

SCHEMA_ENV = "FOURKEYS_GITHUB_SCHEMA"
_DOCUMENT_CACHE_SIZE = 256
RATE_LIMITED_MESSAGE = "API rate limit exceeded for user ID 1."


class SchemaNotFoundError(ValueError):
    """GitHub's schema file is missing; the message is one line and says where it looked."""


@dataclass
class GraphQLResult:
    status: int  # HTTP status GitHub would answer: 200 even for query errors, 400 for a non-query
    payload: dict[str, Any]  # {"data": …} and/or {"errors": […]}, shaped like GitHub's
    cost: int  # points charged; 0 when the query was refused before execution


def default_schema_path() -> Path:
    """$FOURKEYS_GITHUB_SCHEMA, else <repo root>/../shared/github/schema.graphql."""
    configured = os.environ.get(SCHEMA_ENV)
    path = (
        Path(configured)
        if configured
        else Path(__file__).resolve().parent.parent.parent / "shared" / "github" / "schema.graphql"
    )
    if not path.is_file():
        source = f"${SCHEMA_ENV}" if configured else "the default location"
        raise SchemaNotFoundError(
            f"GitHub's GraphQL schema not found at {path} (from {source}); "
            f"set {SCHEMA_ENV} to the path of schema.graphql"
        )
    return path


_schemas: dict[Path, GraphQLSchema] = {}
_schemas_lock = threading.Lock()


def load_github_schema(path: Path | None = None) -> GraphQLSchema:
    """GitHub's published schema, built once per path.

    `assume_valid_sdl` because the SDL defines one field twice; `assume_valid` because the
    published schema breaks a rule graphql-core 3.3 enforces (deprecated implementations of
    non-deprecated interface fields) which GitHub's own server does not.
    """
    resolved = (path or default_schema_path()).resolve()
    with _schemas_lock:
        schema = _schemas.get(resolved)
        if schema is None:
            if not resolved.is_file():
                raise SchemaNotFoundError(f"GitHub's GraphQL schema not found at {resolved}")
            text = resolved.read_text(encoding="utf-8")
            schema = build_schema(text, assume_valid_sdl=True, assume_valid=True)
            _schemas[resolved] = schema
        return schema


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A query text after parsing and validation: the document, or the errors to answer."""

    document: DocumentNode | None
    errors: list[dict[str, Any]]


def _bad_request() -> GraphQLResult:
    return GraphQLResult(
        400,
        {
            "message": "A query attribute must be specified and must be a string.",
            "documentation_url": GRAPHQL_DOCS,
        },
        0,
    )


def _refused(errors: list[dict[str, Any]]) -> GraphQLResult:
    return GraphQLResult(200, {"errors": errors}, 0)


class GraphQLService:
    """Executes GitHub GraphQL requests over one scenario, charging `rate_limits` ("graphql")."""

    def __init__(
        self, scenario: Scenario, rate_limits: RateLimits, schema_path: Path | None = None
    ) -> None:
        self.scenario = scenario
        self.rate_limits = rate_limits
        self.schema = load_github_schema(schema_path)
        with _schemas_lock:
            install_resolvers(self.schema)
        self.store = ObjectStore(scenario)
        self._documents: OrderedDict[str, _Prepared] = OrderedDict()
        self._documents_lock = threading.Lock()

    # --- request handling ---------------------------------------------------------------------
    def execute(self, body: dict[str, Any]) -> GraphQLResult:
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return _bad_request()
        query: str = body["query"]
        variables = body.get("variables")
        if isinstance(variables, str):  # some clients send the variables JSON-encoded
            try:
                variables = json.loads(variables) if variables.strip() else None
            except json.JSONDecodeError:
                return _refused([{"message": "Variables are invalid JSON."}])
        if variables is not None and not isinstance(variables, dict):
            return _refused([{"message": "Variables are invalid JSON."}])
        variables = variables or {}
        operation_name = body.get("operationName") or None

        prepared = self._prepare(query)
        if prepared.document is None:
            return _refused(prepared.errors)
        document = prepared.document
        operation = _select_operation(document, operation_name)
        if isinstance(operation, dict):
            return _refused([operation])

        coerced = get_variable_values(self.schema, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return _refused(variable_errors(operation, variables, coerced))
        # graphql-core 3.3 wraps the coerced values; 3.2 returns the dict itself
        coerced_values: dict[str, Any] = getattr(coerced, "coerced", coerced)  # type: ignore[arg-type]

        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        try:
            cost = analyze(self.schema, operation, fragments, coerced_values)
        except LimitError as exc:
            return _refused(exc.errors)

        budget = self.rate_limits.peek("graphql")
        if budget.remaining < cost.cost:
            return _refused([{"type": "RATE_LIMITED", "message": RATE_LIMITED_MESSAGE}])
        charged = 0 if cost.dry_run else cost.cost
        budget = self.rate_limits.spend("graphql", charged)
        rate = {
            "cost": cost.cost,
            "limit": budget.limit,
            "remaining": budget.remaining,
            "used": budget.used,
            "resetAt": datetime.fromtimestamp(budget.reset_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "nodeCount": cost.node_count,
        }
        context = RequestContext(store=self.store, rate=rate, dry_run=cost.dry_run)
        log.debug("graphql: cost %d (%d requests, %d nodes)", cost.cost, cost.requests,
                  cost.node_count)  # fmt: skip
        result = execute(
            self.schema,
            document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            field_resolver=field_resolver,
            is_awaitable=_never_awaitable,  # every resolver is sync: skip graphql-core's checks
        )
        # no resolver is async, so graphql-core answers synchronously
        assert isinstance(result, ExecutionResult)
        return GraphQLResult(200, self._payload(result.data, result.errors), charged)

    def _payload(self, data: Any, errors: list[GraphQLError] | None) -> dict[str, Any]:
        payload: dict[str, Any] = {"data": data}
        if errors:
            formatted = []
            for error in errors:
                item, internal = execution_error(error)
                if internal:
                    log.error(
                        "graphql: resolver failed at %s: %s",
                        error.path,
                        error.message,
                        exc_info=error.original_error,
                    )
                formatted.append(item)
            payload["errors"] = formatted
        return payload

    def _prepare(self, query: str) -> _Prepared:
        with self._documents_lock:
            prepared = self._documents.get(query)
            if prepared is not None:
                self._documents.move_to_end(query)
                return prepared
        try:
            document = parse(query)
        except GraphQLError as exc:
            prepared = _Prepared(None, [parse_error(exc)])
        else:
            errors = validate(self.schema, document)
            prepared = (
                _Prepared(None, validation_errors(document, errors))
                if errors
                else _Prepared(document, [])
            )
        with self._documents_lock:
            self._documents[query] = prepared
            if len(self._documents) > _DOCUMENT_CACHE_SIZE:
                self._documents.popitem(last=False)
        return prepared


def _never_awaitable(_value: Any) -> TypeGuard[Awaitable[Any]]:
    return False


def _select_operation(
    document: DocumentNode, name: str | None
) -> OperationDefinitionNode | dict[str, Any]:
    """The operation to run, or graphql-ruby's error when the request does not pick one."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        if len(operations) == 1:
            return operations[0]
        return {"message": "An operation name is required"}
    for operation in operations:
        if operation.name is not None and operation.name.value == name:
            return operation
    return {"message": f'No operation named "{name}"'}
