"""The fakes serve commits' changed files (scenario `commits[].files`) as GitHub does.

REST `GET /repos/{o}/{r}/commits/{sha}`: `files[]` validating against GitHub's OpenAPI
`diff-entry`, 300 a page with `Link` pages beyond. GraphQL `PullRequest.files`: the union of the
pull request's commits' files by path, paginated like any connection; `changedFiles` counts them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator

from extractors.github.client import parse_link_header
from fakes.graphql_api import GraphQLService
from fakes.ratelimit import RateLimits
from fakes.scenario import ScenarioError, load_scenario
from fakes.server import RunningServer, create_app, serve_in_thread
from tests.conftest import SHARED
from tests.scenario_builder import ScenarioBuilder

R = "/repos/acme/mono"


def scenario() -> tuple[dict[str, Any], dict[str, str]]:
    org = ScenarioBuilder(now="2026-02-01 00:00")
    mono = org.repo("acme/mono")
    root = mono.commit("root", authored="2026-01-02 09:00", files=["README.md"])
    big = mono.commit("big", authored="2026-01-02 10:00",
                      files=[f"data/part{i:03d}.json" for i in range(650)])
    a = mono.feature_commit("a", parent=big, authored="2026-01-03 09:00",
                            files=["services/b.py", "services/a.py"])
    b = mono.feature_commit("b", parent=a, authored="2026-01-03 10:00",
                            files=["services/a.py", "libs/c.py"])
    merged = mono.pull_request(1, "Two commits", commits=[a, b], opened="2026-01-03 11:00",
                               merged="2026-01-03 12:00", strategy="squash")
    bare = mono.commit("bare", authored="2026-01-04 09:00")  # no files drawn
    shas = {"root": root, "big": big, "squash": merged.mainline[0], "bare": bare}
    return org.build(), shas


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[RunningServer, dict[str, str]]]:
    doc, shas = scenario()
    with serve_in_thread(create_app(load_scenario(doc))) as server:
        yield server, shas


def test_rest_commit_files_validate_and_page(served: tuple[RunningServer, dict[str, str]]) -> None:
    server, shas = served
    spec = json.loads((SHARED / "github" / "rest-api.github.com.2022-07.json").read_text())
    schema = spec["paths"]["/repos/{owner}/{repo}/commits/{ref}"]["get"]["responses"]["200"][
        "content"]["application/json"]["schema"]
    validator = OAS30Validator(dict(schema, components=spec["components"]))
    with httpx.Client(base_url=server.base_url, headers={"Authorization": "token x"}) as client:
        first = client.get(f"{R}/commits/{shas['root']}")
        validator.validate(first.json())
        assert [f["filename"] for f in first.json()["files"]] == ["README.md"]
        assert "link" not in first.headers
        # a squash commit changes what its pull request's commits changed (the builder says so)
        squash = client.get(f"{R}/commits/{shas['squash']}").json()
        assert [f["filename"] for f in squash["files"]] == [
            "services/b.py", "services/a.py", "libs/c.py"]
        assert client.get(f"{R}/commits/{shas['bare']}").json()["files"] == []
        # 650 files: pages of 300, 300, 50, followed by `Link: rel="next"`
        url: str | None = f"{R}/commits/{shas['big']}"
        pages: list[int] = []
        names: list[str] = []
        while url:
            page = client.get(url)
            validator.validate(page.json())
            pages.append(len(page.json()["files"]))
            names += [f["filename"] for f in page.json()["files"]]
            url = parse_link_header(page.headers.get("link")).get("next")
        assert pages == [300, 300, 50]
        assert names == [f"data/part{i:03d}.json" for i in range(650)]


def test_graphql_pull_request_files_page_like_github() -> None:
    doc, _ = scenario()
    service = GraphQLService(load_scenario(doc), RateLimits(),
                             SHARED / "github" / "schema.graphql")
    query = """query($after: String) { repository(owner: "acme", name: "mono") {
      pullRequest(number: 1) { changedFiles
        files(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor }
                                         nodes { path additions changeType } } } } }"""
    first = service.execute({"query": query})
    pr = first.payload["data"]["repository"]["pullRequest"]
    assert "errors" not in first.payload
    assert pr["changedFiles"] == 3 and pr["files"]["totalCount"] == 3
    assert [n["path"] for n in pr["files"]["nodes"]] == ["libs/c.py", "services/a.py"]
    assert pr["files"]["pageInfo"]["hasNextPage"] is True
    after = pr["files"]["pageInfo"]["endCursor"]
    rest = service.execute({"query": query, "variables": {"after": after}})
    files = rest.payload["data"]["repository"]["pullRequest"]["files"]
    assert [n["path"] for n in files["nodes"]] == ["services/b.py"]
    assert files["pageInfo"]["hasNextPage"] is False


def test_a_bad_file_path_is_a_one_line_scenario_error() -> None:
    doc, _ = scenario()
    doc["repositories"][0]["commits"][0]["files"] = ["/etc/passwd"]
    with pytest.raises(ScenarioError, match=r"commits\.0\.files.*relative to the repository root"):
        load_scenario(doc)
