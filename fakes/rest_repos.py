"""REST handlers for a repository's code and review history: repository, pulls, commits, compare.

A handler takes a `Ctx` (the resolved repository, its index, a URL-aware builder and the query)
and returns an `Answer`; `fakes.rest` turns that into an HTTP response with GitHub's headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fakes.rest_builders import Builder
from fakes.rest_common import (
    ApiError,
    Paging,
    choice,
    no_commit,
    not_found,
    paging,
    parse_timestamp,
    take,
    window,
)
from fakes.rest_index import RepoIndex
from fakes.scenario import PullRequest, Repository


@dataclass(slots=True)
class Ctx:
    builder: Builder
    repo: Repository
    index: RepoIndex
    path_params: dict[str, str]
    query: Any  # starlette QueryParams (a multi-dict with .get)
    url: str  # absolute request URL without the query string (for Link)
    query_items: list[tuple[str, str]]

    def page(self, total: int) -> tuple[int, int, str | None]:
        w = window(total, paging(self.query), self.url, self.query_items)
        return w.start, w.end, w.link


@dataclass(slots=True)
class Answer:
    body: Any
    link: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def _number(ctx: Ctx, name: str) -> int:
    raw = ctx.path_params[name]
    if not raw.isdigit():
        raise not_found()
    return int(raw)


def _pull(ctx: Ctx) -> PullRequest:
    pr = ctx.repo.pull_by_number.get(_number(ctx, "pull_number"))
    if pr is None:
        raise not_found()
    return pr


# --- repository -----------------------------------------------------------------------------


def get_repository(ctx: Ctx) -> Answer:
    return Answer(ctx.builder.full_repository(ctx.repo))


# --- pulls ----------------------------------------------------------------------------------


def list_pulls(ctx: Ctx) -> Answer:
    q = ctx.query
    state = choice(q, "state", ("open", "closed", "all"), "open", "PullRequest")
    sort = choice(
        q, "sort", ("created", "updated", "popularity", "long-running"), "created", "PullRequest"
    )
    # GitHub: desc by default when sorting by created, asc otherwise
    default_direction = "desc" if sort == "created" else "asc"
    direction = choice(q, "direction", ("asc", "desc"), default_direction, "PullRequest")
    # popularity / long-running need comment counts and activity the scenario lacks
    key = "updated" if sort == "updated" else "created"
    pulls = ctx.index.pulls[(state, key)]
    base = q.get("base")
    head = q.get("head")
    if base or head:
        head_owner, _, head_ref = (head or "").rpartition(":")
        pulls = [
            p
            for p in pulls
            if (not base or p.base == base)
            and (
                not head
                or (p.head == head_ref and (not head_owner or head_owner == ctx.repo.owner))
            )
        ]
    start, end, link = ctx.page(len(pulls))
    items = take(pulls, start, end, direction == "desc")
    return Answer([ctx.builder.pull_request_simple(ctx.repo, p) for p in items], link)


def get_pull(ctx: Ctx) -> Answer:
    return Answer(ctx.builder.pull_request(ctx.repo, _pull(ctx)))


def list_pull_commits(ctx: Ctx) -> Answer:
    pr = _pull(ctx)
    by_sha = ctx.repo.commit_by_sha
    commits = [by_sha[s] for s in pr.commits if s in by_sha]
    start, end, link = ctx.page(len(commits))
    return Answer([ctx.builder.commit(ctx.repo, c) for c in commits[start:end]], link)


def list_pull_reviews(ctx: Ctx) -> Answer:
    pr = _pull(ctx)
    reviews = sorted(pr.reviews, key=lambda r: (r.submitted_at, r.id))
    start, end, link = ctx.page(len(reviews))
    return Answer([ctx.builder.review(ctx.repo, pr, r) for r in reviews[start:end]], link)


def list_issue_comments(ctx: Ctx) -> Answer:
    number = _number(ctx, "issue_number")
    pr = ctx.repo.pull_by_number.get(number)
    if pr is None:
        if number in ctx.index.issue_by_number:
            # scenario issues carry no comments
            start, end, link = ctx.page(0)
            return Answer([], link)
        raise not_found()
    comments = sorted(pr.comments, key=lambda c: (c.created_at, c.id))
    since = ctx.query.get("since")
    if since:
        after = parse_timestamp(since, "IssueComment", "since")
        comments = [c for c in comments if c.created_at >= after]
    start, end, link = ctx.page(len(comments))
    return Answer(
        [ctx.builder.issue_comment(ctx.repo, number, c, True) for c in comments[start:end]], link
    )


# --- commits --------------------------------------------------------------------------------


def list_commits(ctx: Ctx) -> Answer:
    q = ctx.query
    ref = q.get("sha") or ctx.repo.default_branch
    sha = ctx.repo.resolve_ref(ref)
    if sha is None:
        if ref == ctx.repo.default_branch:
            # an empty repository: GitHub answers 409 "Git Repository is empty."
            raise ApiError(
                409, {"message": "Git Repository is empty.", "documentation_url": _COMMITS_DOCS}
            )
        raise not_found()
    since = parse_timestamp(q["since"], "Commit", "since") if q.get("since") else None
    until = parse_timestamp(q["until"], "Commit", "until") if q.get("until") else None
    history = ctx.index.history(sha)
    lo, hi = history.window(since, until)
    author = q.get("author")
    if author:
        # rare filter; a linear pass over the window is fine
        chosen = [
            c
            for c in history.commits[lo:hi]
            if author in (c.author.login, c.author.email, c.author.name)
        ]
        start, end, link = ctx.page(len(chosen))
        page = chosen[start:end]
    else:
        start, end, link = ctx.page(hi - lo)
        page = history.commits[lo + start : lo + end]
    return Answer([ctx.builder.commit(ctx.repo, c) for c in page], link)


_COMMITS_DOCS = "https://docs.github.com/rest/commits/commits#list-commits"


# GitHub: a commit's files come 300 a page (`Link` headers beyond), at most 3,000 in all
_COMMIT_FILES_PAGE = 300
_COMMIT_FILES_MAX = 3000


def get_commit(ctx: Ctx) -> Answer:
    ref = ctx.path_params["ref"]
    sha = ctx.repo.resolve_ref(ref)
    if sha is None:
        raise no_commit(ref)
    commit = ctx.repo.commit_by_sha[sha]
    files = commit.files[:_COMMIT_FILES_MAX]
    asked = paging(ctx.query)
    per_page = _COMMIT_FILES_PAGE
    if "per_page" in ctx.query:
        per_page = min(max(asked.per_page, 1), _COMMIT_FILES_PAGE)
    w = window(len(files), Paging(per_page, asked.page, asked.explicit), ctx.url,
               ctx.query_items)
    body = ctx.builder.commit(ctx.repo, commit, detail=True, files=files[w.start:w.end])
    return Answer(body, w.link)


def list_commit_pulls(ctx: Ctx) -> Answer:
    ref = ctx.path_params["commit_sha"]
    sha = ctx.repo.resolve_ref(ref)
    if sha is None:
        raise no_commit(ref)
    numbers = ctx.repo.pulls_by_commit.get(sha, [])
    pulls = [ctx.repo.pull_by_number[n] for n in numbers]
    start, end, link = ctx.page(len(pulls))
    return Answer([ctx.builder.pull_request_simple(ctx.repo, p) for p in pulls[start:end]], link)


# --- compare --------------------------------------------------------------------------------

_COMPARE_UNPAGED_LIMIT = 250


def compare(ctx: Ctx) -> Answer:
    basehead = ctx.path_params["basehead"]
    if "..." not in basehead:
        raise not_found()
    base_ref, head_ref = basehead.split("...", 1)
    # a `user:ref` form names a fork's branch; the scenario has no forks, so drop the owner
    base_ref = base_ref.rpartition(":")[2]
    head_ref = head_ref.rpartition(":")[2]
    base_sha = ctx.repo.resolve_ref(base_ref)
    head_sha = ctx.repo.resolve_ref(head_ref)
    if base_sha is None or head_sha is None:
        raise not_found()
    result = ctx.index.compare(base_sha, head_sha)
    if result.merge_base is None:
        raise ApiError(
            404,
            {
                "message": f"No common ancestor between {base_ref} and {head_ref}.",
                "documentation_url": "https://docs.github.com/rest/commits/commits#compare-two-commits",
            },
        )
    ahead = result.ahead
    behind = result.behind_by
    if ahead and behind:
        status = "diverged"
    elif ahead:
        status = "ahead"
    elif behind:
        status = "behind"
    else:
        status = "identical"
    pg = paging(ctx.query)
    link = None
    if pg.explicit:
        start, end, link = ctx.page(len(ahead))
        shown = ahead[start:end]
    else:
        # GitHub: without paging parameters, at most 250 commits, ending with the newest
        shown = ahead[-_COMPARE_UNPAGED_LIMIT:]
    b = ctx.builder
    u = f"{b.api}/repos/{ctx.repo.full_name}"
    html = f"{b.web}/{ctx.repo.full_name}"
    owner = ctx.repo.owner
    body = {
        "url": f"{u}/compare/{basehead}",
        "html_url": f"{html}/compare/{basehead}",
        "permalink_url": f"{html}/compare/{owner}:{base_sha[:7]}...{owner}:{head_sha[:7]}",
        "diff_url": f"{html}/compare/{basehead}.diff",
        "patch_url": f"{html}/compare/{basehead}.patch",
        "base_commit": b.commit(ctx.repo, ctx.repo.commit_by_sha[base_sha]),
        "merge_base_commit": b.commit(ctx.repo, result.merge_base),
        "status": status,
        "ahead_by": len(ahead),
        "behind_by": behind,
        "total_commits": len(ahead),
        "commits": [b.commit(ctx.repo, c) for c in shown],
        "files": [],
    }
    return Answer(body, link)
