"""A refresh's pages of many repositories in one GraphQL query.

GitHub charges a query at least one point however little it asks, and a refresh asks little of
each repository: first pages sized to what is new (walks.first_page_size) cost well under a
point. So the incremental repositories' pages go out `queries.SNAPSHOT_BATCH` at a time, each
repository an aliased copy of the snapshot selection with its own variables
(queries.snapshot_query), round after round: the first pages of all, then the next pages (twice
as large) of those with more to read, and so on. Each round's rows and watermarks load in one
transaction (each repository's own batch is in it whole, so a stop leaves every repository at a
watermark).
"""

from __future__ import annotations

from collections.abc import Callable

from extractors.github import queries
from extractors.github.client import GitHubClient
from extractors.github.repository import RepositoryExtractor
from fourkeys.warehouse.base import LoadBatch


def pages_together(
    client: GitHubClient,
    extractors: list[RepositoryExtractor],
    load: Callable[[LoadBatch], None],
) -> None:
    """Every snapshot page of these (incremental) repositories, in shared queries."""
    while active := [e for e in extractors if e.has_pages]:
        first_pages_together(client, active, load)


def first_pages_together(
    client: GitHubClient,
    extractors: list[RepositoryExtractor],
    load: Callable[[LoadBatch], None],
) -> None:
    """One query for the next page of every extractor (all incremental, all with the same
    `files` flag: the fragments share `$withFiles`); each extractor then holds its cursors."""
    if not extractors:
        return
    files = {e.plan.files for e in extractors}
    if len(files) != 1:
        raise ValueError("a shared first page needs the same `files` flag for every repository")
    if len(extractors) == 1:  # the plain query: `repository`, unsuffixed variables
        (extractor,) = extractors
        data = client.graphql(queries.REPOSITORY_SNAPSHOT, extractor.variables(),
                              what=extractor.what())
        load(extractor.page(data.get("repository")))
        return
    variables: dict[str, object] = {"withFiles": files.pop()}
    aliases: dict[str, str] = {}
    for index, extractor in enumerate(extractors):
        for name, value in extractor.variables().items():
            if name != "withFiles":
                variables[f"{name}_{index}"] = value
        aliases[f"r{index}"] = extractor.plan.repository
    what = f"{extractors[0].plan.repository} and {len(extractors) - 1} more repositories"
    data = client.graphql(queries.snapshot_query(len(extractors)), variables, what=what,
                          aliases=aliases)
    together = LoadBatch()
    for index, extractor in enumerate(extractors):
        together.extend(extractor.page(data.get(f"r{index}")))
    load(together)
