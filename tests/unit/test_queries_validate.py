"""Every GraphQL document the extractor can send validates against GitHub's published schema."""

from __future__ import annotations

import pytest
from graphql import GraphQLSchema, parse, validate

from extractors.github import queries
from fakes.graphql_api import load_github_schema
from tests.conftest import SHARED


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return load_github_schema(SHARED / "github" / "schema.graphql")


def _collected() -> dict[str, str]:
    """All module-level documents that start with `query`, and ALL_QUERIES (which also holds
    built ones: several repositories' snapshot in one query)."""
    found = {name: value for name, value in vars(queries).items()
             if isinstance(value, str) and value.lstrip().startswith("query ")}
    return {**found, **queries.ALL_QUERIES}


@pytest.mark.parametrize("name", sorted(_collected()))
def test_query_is_valid_against_github_schema(schema: GraphQLSchema, name: str) -> None:
    errors = validate(schema, parse(_collected()[name]))
    assert errors == [], [e.message for e in errors]


def test_validation_catches_a_wrong_field(schema: GraphQLSchema) -> None:
    broken = queries.REPOSITORY_SNAPSHOT.replace("mergedAt", "mergedOn", 1)
    assert validate(schema, parse(broken)) != []
