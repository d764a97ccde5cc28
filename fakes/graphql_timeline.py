"""`PullRequest.timelineItems` in the fake GitHub GraphQL API, built from scenario facts.

A pull request's timeline holds what the scenario records about it: a `PullRequestCommit` per
commit (at its committed date), a `PullRequestReview` per review (at its submission), an
`IssueComment` per comment and a `LabeledEvent` per current label (the scenario keeps no label
history, so each was added when the PR was opened and none was removed: `UNLABELED_EVENT`, like
every kind the scenario cannot produce, filters to nothing). Items are in chronological order;
a tie keeps the order of `_KINDS`, then the scenario's order.

Counts as GitHub's reference documents them: `totalCount` is "the total count of items in the
connection", here the items `itemTypes` and `since` (at or after it) choose (the docs do not say
whether `since` narrows it: we read the connection as the field's arguments define it, as the
fake's `history(since:)` and `issues(filterBy: {since})` counts do); `filteredCount` counts what
the `after`/`before` cursors leave of them; `pageCount` counts the page that `skip`, then
`first`/`last`, slice from that.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

from graphql import GraphQLResolveInfo

from fakes.graphql_objects import Obj, ObjectStore, iso, utc
from fakes.graphql_paging import paginate, parse_time, store_of
from fakes.scenario import PullRequest, Repository

# PullRequestTimelineItemsItemType names of the kinds the scenario yields, in tie-break order
_KINDS = ("PULL_REQUEST_COMMIT", "PULL_REQUEST_REVIEW", "ISSUE_COMMENT", "LABELED_EVENT")
_COMMIT, _REVIEW, _COMMENT, _LABELED = range(len(_KINDS))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # what the fake serves for a commit it cannot describe


class _Item(NamedTuple):
    at: datetime
    kind: int  # index into _KINDS
    index: int  # position in the pull request's list of that kind


def _timeline(repo: Repository, pr: PullRequest) -> list[_Item]:
    """Every item of the pull request's timeline, oldest first (tuples sort by time, kind,
    index)."""
    items = []
    for i, sha in enumerate(pr.commits):
        commit = repo.commit_by_sha.get(sha)
        items.append(_Item(utc(commit.committed_at) if commit else _EPOCH, _COMMIT, i))
    # a pending review is not submitted: GitHub orders it by its creation, which the scenario
    # records in the same field
    items.extend(_Item(utc(r.submitted_at), _REVIEW, i) for i, r in enumerate(pr.reviews))
    items.extend(_Item(utc(c.created_at), _COMMENT, i) for i, c in enumerate(pr.comments))
    opened = utc(pr.created_at)
    items.extend(_Item(opened, _LABELED, i) for i in range(len(pr.labels)))
    items.sort()
    return items


def _build(store: ObjectStore, repo: Repository, pr: PullRequest, item: _Item) -> Obj:
    if item.kind == _COMMIT:
        return store.pull_commit(repo, pr, pr.commits[item.index])
    if item.kind == _REVIEW:
        return store.review(repo, pr, item.index)
    if item.kind == _COMMENT:
        return store.comment(repo, pr, item.index)
    return store.labeled_event(repo, pr, pr.labels[item.index])


def pull_timeline_items(source: Obj, info: GraphQLResolveInfo, **args: Any) -> Obj:
    repo: Repository = source["_repo"]
    pr: PullRequest = source["_pr"]
    store = store_of(info)
    items = _timeline(repo, pr)
    # omitted (or empty): every kind; a kind the scenario never produces matches nothing
    wanted = {_KINDS.index(k) for k in args.get("itemTypes") or _KINDS if k in _KINDS}
    since_text = args.get("since")
    since = parse_time(since_text, "since", "timelineItems", "DateTime") if since_text else None
    picked = [i for i in items if i.kind in wanted and (since is None or i.at >= since)]
    connection = paginate(picked, args, lambda item: _build(store, repo, pr, item))
    # the timeline changes when the pull request does or when an item is added to it
    updated = max(utc(pr.updated_at), items[-1].at) if items else utc(pr.updated_at)
    connection["updatedAt"] = iso(updated)
    return connection
