"""The fake GraphQL API's organisations and files: `organization(login) { repositories }` with
GitHub's filters and order, and `object(expression: "REV:path")` as a Blob from `files`."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from fakes.graphql_api import GraphQLService
from fakes.ratelimit import RateLimits
from fakes.scenario import ScenarioError, load_scenario

SHA = "a" * 40
CODEOWNERS = "* @acme/payments\n"


def _repo(full_name: str, created: str, **extra: Any) -> dict[str, Any]:
    return {"full_name": full_name, "created_at": f"{created}T00:00:00Z", **extra}


@pytest.fixture(scope="module")
def service() -> GraphQLService:
    scenario = {"format": 1, "now": "2026-02-01T00:00:00Z", "repositories": [
        _repo("acme/zeta", "2025-01-01"),
        _repo("acme/alpha", "2025-03-01", archived=True),
        _repo("Acme/Mid", "2025-02-01", fork=True, branches={"main": SHA},
              commits=[{"sha": SHA, "authored_at": "2026-01-01T00:00:00Z",
                        "committed_at": "2026-01-01T00:00:00Z"}],
              files={"docs/CODEOWNERS": CODEOWNERS}),
        _repo("globex/other", "2025-01-01"),
    ]}
    return GraphQLService(load_scenario(scenario), RateLimits())


def names(service: GraphQLService, arguments: str = "") -> list[str]:
    query = ('{ organization(login: "ACME") { login repositories(first: 10' + arguments
             + ") { totalCount nodes { nameWithOwner } } } }")
    result = service.execute({"query": query})
    assert "errors" not in result.payload, result.payload
    repos = result.payload["data"]["organization"]["repositories"]
    assert repos["totalCount"] == len(repos["nodes"])
    return [n["nameWithOwner"] for n in repos["nodes"]]


def test_an_organisation_owns_its_repositories_in_githubs_orders(service: GraphQLService) -> None:
    assert names(service) == ["acme/zeta", "Acme/Mid", "acme/alpha"]  # CREATED_AT by default
    assert names(service, ", orderBy: {field: NAME, direction: ASC}") == [
        "acme/alpha", "Acme/Mid", "acme/zeta"]
    assert names(service, ", orderBy: {field: NAME, direction: DESC}") == [
        "acme/zeta", "Acme/Mid", "acme/alpha"]


def test_archived_fork_and_affiliation_filters(service: GraphQLService) -> None:
    assert names(service, ", isArchived: false") == ["acme/zeta", "Acme/Mid"]
    assert names(service, ", isArchived: true") == ["acme/alpha"]
    assert names(service, ", isFork: false, isArchived: false") == ["acme/zeta"]
    assert names(service, ", ownerAffiliations: [OWNER]") == ["acme/zeta", "Acme/Mid",
                                                              "acme/alpha"]
    assert names(service, ", ownerAffiliations: [COLLABORATOR]") == []


def test_an_unknown_organisation_is_githubs_not_found(service: GraphQLService) -> None:
    result = service.execute({"query": '{ organization(login: "nope") { login } }'})
    assert result.payload["data"] == {"organization": None}
    (error,) = result.payload["errors"]
    assert error["type"] == "NOT_FOUND"
    assert error["message"] == "Could not resolve to an Organization with the login of 'nope'."


def test_a_file_is_a_blob_at_a_revision_that_resolves(service: GraphQLService) -> None:
    query = """{ repository(owner: "acme", name: "mid") {
      docs: object(expression: "HEAD:docs/CODEOWNERS") {
        __typename ... on Blob { text oid byteSize isBinary isTruncated } }
      byBranch: object(expression: "main:docs/CODEOWNERS") { ... on Blob { text } }
      missing: object(expression: "HEAD:CODEOWNERS") { id }
      badRevision: object(expression: "nope:docs/CODEOWNERS") { id }
      commit: object(expression: "HEAD") { __typename }
    } }"""
    data = service.execute({"query": query}).payload["data"]["repository"]
    raw = CODEOWNERS.encode()
    assert data["docs"] == {
        "__typename": "Blob", "text": CODEOWNERS, "byteSize": len(raw), "isBinary": False,
        "isTruncated": False,
        # git's blob id: sha1 of "blob <size>\0" and the bytes
        "oid": hashlib.sha1(b"blob %d\x00" % len(raw) + raw).hexdigest()}
    assert data["byBranch"] == {"text": CODEOWNERS}
    assert data["missing"] is None and data["badRevision"] is None
    assert data["commit"] == {"__typename": "Commit"}


def test_an_empty_repository_has_no_files(service: GraphQLService) -> None:
    query = '{ repository(owner: "acme", name: "zeta") { object(expression: "HEAD:x") { id } } }'
    assert service.execute({"query": query}).payload["data"]["repository"]["object"] is None


def test_file_paths_are_relative_to_the_root() -> None:
    with pytest.raises(ScenarioError, match="not a file path relative"):
        load_scenario({"format": 1, "now": "2026-02-01T00:00:00Z", "repositories": [
            _repo("acme/a", "2025-01-01", files={"/CODEOWNERS": "x"})]})
