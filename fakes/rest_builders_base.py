"""Base objects of GitHub REST bodies: users, repositories, labels.

They are embedded in almost every other body (a pull request holds its repository twice), so they
are memoised per builder; `fakes.rest_builders.Builder` adds the per-endpoint objects.
Ids match the GraphQL fake's `databaseId`s (fakes.graphql_objects) so REST and GraphQL rows join.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fakes.rest_common import iso, node_id, stable_id
from fakes.scenario import Repository


def user_id(login: str) -> int:
    """The same id GraphQL gives as databaseId (fakes.graphql_objects): REST and GraphQL rows join.

    An app's bot is `name[bot]` in REST and `name` in GraphQL; both derive from `name`.
    """
    if login.endswith("[bot]"):
        return stable_id("bot", login.removesuffix("[bot]"))
    return stable_id("user", login)


class BaseBuilder:
    """Users, repositories and labels for one base URL (`api` ends in /api/v3 for GHES)."""

    def __init__(self, api: str, web: str) -> None:
        self.api = api.rstrip("/")
        self.web = web.rstrip("/")
        self._users: dict[str, dict[str, Any]] = {}
        self._repos: dict[str, dict[str, Any]] = {}
        self._labels: dict[tuple[str, str], dict[str, Any]] = {}

    # --- people ---------------------------------------------------------------------------

    def simple_user(self, login: str, kind: str | None = None) -> dict[str, Any]:
        cached = self._users.get(login)
        if cached is not None:
            return cached
        uid = user_id(login)
        u = f"{self.api}/users/{login}"
        user = {
            "login": login,
            "id": uid,
            "node_id": node_id("User", uid),
            "avatar_url": f"{self.web}/avatars/u/{uid}?v=4",
            "gravatar_id": "",
            "url": u,
            "html_url": f"{self.web}/{login}",
            "followers_url": f"{u}/followers",
            "following_url": f"{u}/following{{/other_user}}",
            "gists_url": f"{u}/gists{{/gist_id}}",
            "starred_url": f"{u}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{u}/subscriptions",
            "organizations_url": f"{u}/orgs",
            "repos_url": f"{u}/repos",
            "events_url": f"{u}/events{{/privacy}}",
            "received_events_url": f"{u}/received_events",
            "type": kind or ("Bot" if login.endswith("[bot]") else "User"),
            "site_admin": False,
        }
        self._users[login] = user
        return user

    def maybe_user(self, login: str | None) -> dict[str, Any] | None:
        return self.simple_user(login) if login else None

    def private_user(
        self, login: str, created_at: datetime, user_id: int | None = None
    ) -> dict[str, Any]:
        stamp = iso(created_at)
        user = dict(self.simple_user(login))
        if user_id is not None:
            user["id"], user["node_id"] = user_id, node_id("User", user_id)
        return {
            **user,
            "name": login,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": 0,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": stamp,
            "updated_at": stamp,
            "private_gists": 0,
            "total_private_repos": 0,
            "owned_private_repos": 0,
            "disk_usage": 0,
            "collaborators": 0,
            "two_factor_authentication": True,
            "plan": {"collaborators": 0, "name": "pro", "space": 976562499, "private_repos": 9999},
        }

    # --- repositories ---------------------------------------------------------------------

    def repository(self, repo: Repository) -> dict[str, Any]:
        """Satisfies `repository`, `minimal-repository` and the PR's inline base/head repo."""
        cached = self._repos.get(repo.full_name)
        if cached is not None:
            return cached
        rid = stable_id("repository", repo.full_name)
        u = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.web}/{repo.full_name}"
        host = self.web.split("://", 1)[-1]
        stamp = iso(repo.created_at)
        open_issues = sum(1 for i in repo.issues if i.state == "open")
        body: dict[str, Any] = {
            "id": rid,
            "node_id": node_id("Repository", rid),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "owner": self.simple_user(repo.owner, kind="Organization"),
            "html_url": html,
            "description": None,
            "fork": repo.fork,
            "url": u,
            "archive_url": f"{u}/{{archive_format}}{{/ref}}",
            "assignees_url": f"{u}/assignees{{/user}}",
            "blobs_url": f"{u}/git/blobs{{/sha}}",
            "branches_url": f"{u}/branches{{/branch}}",
            "collaborators_url": f"{u}/collaborators{{/collaborator}}",
            "comments_url": f"{u}/comments{{/number}}",
            "commits_url": f"{u}/commits{{/sha}}",
            "compare_url": f"{u}/compare/{{base}}...{{head}}",
            "contents_url": f"{u}/contents/{{+path}}",
            "contributors_url": f"{u}/contributors",
            "deployments_url": f"{u}/deployments",
            "downloads_url": f"{u}/downloads",
            "events_url": f"{u}/events",
            "forks_url": f"{u}/forks",
            "git_commits_url": f"{u}/git/commits{{/sha}}",
            "git_refs_url": f"{u}/git/refs{{/sha}}",
            "git_tags_url": f"{u}/git/tags{{/sha}}",
            "git_url": f"git://{host}/{repo.full_name}.git",
            "issue_comment_url": f"{u}/issues/comments{{/number}}",
            "issue_events_url": f"{u}/issues/events{{/number}}",
            "issues_url": f"{u}/issues{{/number}}",
            "keys_url": f"{u}/keys{{/key_id}}",
            "labels_url": f"{u}/labels{{/name}}",
            "languages_url": f"{u}/languages",
            "merges_url": f"{u}/merges",
            "milestones_url": f"{u}/milestones{{/number}}",
            "notifications_url": f"{u}/notifications{{?since,all,participating}}",
            "pulls_url": f"{u}/pulls{{/number}}",
            "releases_url": f"{u}/releases{{/id}}",
            "ssh_url": f"git@{host}:{repo.full_name}.git",
            "stargazers_url": f"{u}/stargazers",
            "statuses_url": f"{u}/statuses/{{sha}}",
            "subscribers_url": f"{u}/subscribers",
            "subscription_url": f"{u}/subscription",
            "tags_url": f"{u}/tags",
            "teams_url": f"{u}/teams",
            "trees_url": f"{u}/git/trees{{/sha}}",
            "clone_url": f"{html}.git",
            "mirror_url": None,
            "hooks_url": f"{u}/hooks",
            "svn_url": html,
            "homepage": None,
            "language": None,
            "forks_count": 0,
            "forks": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "watchers": 0,
            "size": 0,
            "default_branch": repo.default_branch,
            "open_issues_count": open_issues,
            "open_issues": open_issues,
            "is_template": False,
            "topics": [],
            "has_issues": True,
            "has_projects": True,
            "has_wiki": True,
            "has_pages": False,
            "has_downloads": True,
            "archived": repo.archived,
            "disabled": False,
            "visibility": "private" if repo.private else "public",
            "pushed_at": stamp,
            "created_at": stamp,
            "updated_at": stamp,
            "license": None,
            "allow_forking": True,
            "web_commit_signoff_required": False,
            "permissions": {
                "admin": False,
                "maintain": False,
                "push": True,
                "triage": True,
                "pull": True,
            },
        }
        self._repos[repo.full_name] = body
        return body

    def full_repository(self, repo: Repository) -> dict[str, Any]:
        return {**self.repository(repo), "network_count": 0, "subscribers_count": 0}

    # --- labels ---------------------------------------------------------------------------

    def label(self, repo: Repository, name: str) -> dict[str, Any]:
        key = (repo.full_name, name)
        cached = self._labels.get(key)
        if cached is None:
            lid = stable_id("label", repo.full_name, name)
            cached = {
                "id": lid,
                "node_id": node_id("Label", lid),
                "url": f"{self.api}/repos/{repo.full_name}/labels/{name}",
                "name": name,
                "description": "",
                "color": f"{stable_id('color', name) & 0xFFFFFF:06x}",  # as GraphQL's
                "default": False,
            }
            self._labels[key] = cached
        return cached
