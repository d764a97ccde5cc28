"""The raw tables the extractors write: natural keys and typed columns, declared once.

Only `dbt_project/models/staging` reads these shapes. Every table also gets `_extracted_at`.
"""

from __future__ import annotations

from fourkeys.warehouse.base import Table

T, TS, INT, BOOL, JSON = "VARCHAR", "TIMESTAMPTZ", "BIGINT", "BOOLEAN", "JSON"

REPOSITORIES = Table(
    "raw_github_repositories",
    ("repository",),
    {"repository": T, "repository_id": INT, "default_branch": T, "created_at": TS,
     "pushed_at": TS, "is_archived": BOOL, "is_fork": BOOL},
)
PULL_REQUESTS = Table(
    "raw_github_pull_requests",
    ("repository", "number"),
    {"repository": T, "number": INT, "pull_request_node_id": T, "title": T, "body": T, "url": T,
     "state": T, "is_draft": BOOL, "author": T, "base_ref": T, "head_ref": T, "labels": JSON,
     "created_at": TS, "updated_at": TS, "closed_at": TS, "merged_at": TS,
     "merge_commit_sha": T, "commit_count": INT, "first_review_at": TS,
     "first_comment_at": TS},
)
PULL_REQUEST_COMMITS = Table(
    "raw_github_pull_request_commits",
    ("repository", "pull_request_number", "sha"),
    {"repository": T, "pull_request_number": INT, "sha": T, "position": INT, "message": T,
     "author_login": T, "author_name": T, "author_email": T, "authored_at": TS,
     "committed_at": TS},
    replace_by=("repository", "pull_request_number"),
)
PULL_REQUEST_REVIEWS = Table(
    "raw_github_pull_request_reviews",
    ("repository", "review_id"),
    {"repository": T, "review_id": INT, "pull_request_number": INT, "author": T, "state": T,
     "submitted_at": TS},
)
PULL_REQUEST_COMMENTS = Table(
    "raw_github_pull_request_comments",
    ("repository", "comment_id"),
    {"repository": T, "comment_id": INT, "pull_request_number": INT, "author": T,
     "created_at": TS},
)
COMMITS = Table(
    "raw_github_commits",
    ("repository", "sha"),
    {"repository": T, "sha": T, "branch": T, "parents": JSON, "message": T, "author_login": T,
     "author_name": T, "author_email": T, "authored_at": TS, "committed_at": TS,
     "pull_request_numbers": JSON},
)
# Monorepos only (a repository with a path-filtered service, docs/monorepos.md): the paths a
# pull request changes (replaced whole each time the PR is re-read) and the paths
# a direct commit changes (read once per commit, from REST)
PULL_REQUEST_FILES = Table(
    "raw_github_pull_request_files",
    ("repository", "pull_request_number", "path"),
    {"repository": T, "pull_request_number": INT, "path": T},
    replace_by=("repository", "pull_request_number"),
)
COMMIT_FILES = Table(
    "raw_github_commit_files",
    ("repository", "sha", "path"),
    {"repository": T, "sha": T, "path": T},
)
RELEASES = Table(
    "raw_github_releases",
    ("repository", "release_id"),
    {"repository": T, "release_id": INT, "tag_name": T, "name": T, "is_draft": BOOL,
     "is_prerelease": BOOL, "created_at": TS, "published_at": TS, "target_sha": T,
     "author": T, "url": T},
)
TAGS = Table(
    "raw_github_tags",
    ("repository", "tag_name"),
    {"repository": T, "tag_name": T, "target_sha": T, "committed_at": TS},
)
DEPLOYMENTS = Table(
    "raw_github_deployments",
    ("repository", "deployment_id"),
    {"repository": T, "deployment_id": INT, "deployment_node_id": T, "environment": T,
     "original_environment": T, "sha": T, "ref": T, "task": T, "description": T,
     "creator": T, "created_at": TS, "updated_at": TS},
)
DEPLOYMENT_STATUSES = Table(
    "raw_github_deployment_statuses",
    ("repository", "deployment_id", "status_id"),
    {"repository": T, "deployment_id": INT, "status_id": T, "state": T, "description": T,
     "created_at": TS},
    replace_by=("repository", "deployment_id"),
)
ISSUES = Table(
    "raw_github_issues",
    ("repository", "number"),
    {"repository": T, "number": INT, "issue_id": INT, "title": T, "body": T, "url": T,
     "author": T, "labels": JSON, "state": T, "created_at": TS, "updated_at": TS,
     "closed_at": TS},
)
WORKFLOW_RUNS = Table(
    "raw_github_workflow_runs",
    ("repository", "run_id"),
    {"repository": T, "run_id": INT, "workflow_id": INT, "workflow_path": T, "name": T,
     "head_sha": T, "head_branch": T, "event": T, "status": T, "conclusion": T,
     "run_attempt": INT, "run_number": INT, "created_at": TS, "run_started_at": TS,
     "updated_at": TS, "url": T},
)
HEROKU_RELEASES = Table(
    "raw_heroku_releases",
    ("app", "release_id"),
    {"app": T, "release_id": T, "version": INT, "status": T, "description": T,
     "commit_sha": T, "slug_id": T, "user_email": T, "is_current": BOOL, "created_at": TS,
     "updated_at": TS},
)

# [[organizations]] discovery: the organisation's repositories as GitHub lists them (every one,
# whatever the filters), replaced whole per organisation by each discovery. Created only when
# an organisation is configured (no dbt model reads it: extractors/services.py does)
ORG_REPOSITORIES = Table(
    "raw_github_org_repositories",
    ("repository",),
    {"organization": T, "repository": T, "name_with_owner": T, "repository_id": INT,
     "default_branch": T, "is_archived": BOOL, "is_fork": BOOL, "created_at": TS,
     "pushed_at": TS, "codeowners_read": BOOL, "codeowners_path": T, "codeowners": T},
    replace_by=("organization",),
)

GITHUB_TABLES = (
    REPOSITORIES, PULL_REQUESTS, PULL_REQUEST_COMMITS, PULL_REQUEST_REVIEWS,
    PULL_REQUEST_COMMENTS, COMMITS, RELEASES, TAGS, DEPLOYMENTS, DEPLOYMENT_STATUSES, ISSUES,
    WORKFLOW_RUNS, PULL_REQUEST_FILES, COMMIT_FILES,
)
ALL_TABLES = (*GITHUB_TABLES, HEROKU_RELEASES)
