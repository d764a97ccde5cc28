"""Every GraphQL document the extractor sends (a test validates each against GitHub's schema).

One multiplexed query reads a repository's streams side by side: each connection has its own
cursor and an `@include` switch, so a page of the query advances every stream that still has
pages, and a finished stream costs nothing. Page sizes keep a page far inside GitHub's limits
(≤ 500,000 nodes, ~10 s): 50 pull requests × (50 commits + 3 × 20 reviews/comments/labels)
is ~5,600 nodes and ~2 points; nested connections that overflow are followed with the small
`*_MORE` queries only for the pull requests or deployments that need them.

Monorepos (a repository with a path-filtered service) also read each pull request's changed
files, behind `$withFiles`: 50 × 100 more nodes and ~0.5 point a page, no extra request unless a
pull request changes more than 100 files. Other repositories send `withFiles: false`, which
costs nothing (GitHub, like the fake, prices the selection that executes).
"""

from __future__ import annotations

PULLS_PAGE = 50
PR_COMMITS_PAGE = 50
PR_REVIEWS_PAGE = 20
PR_COMMENTS_PAGE = 20
PR_LABELS_PAGE = 20
PR_FILES_PAGE = 100
HISTORY_PAGE = 100
ASSOCIATED_PULLS_PAGE = 5
RELEASES_PAGE = 50
TAGS_PAGE = 100
DEPLOYMENTS_PAGE = 50
DEPLOYMENT_STATUSES_PAGE = 10
ISSUES_PAGE = 100

PAGE_INFO = "pageInfo { hasNextPage endCursor }"

COMMIT_FIELDS = f"""
fragment CommitFields on Commit {{
  oid message authoredDate committedDate
  author {{ name email user {{ login }} }}
  parents(first: 5) {{ nodes {{ oid }} }}
  associatedPullRequests(first: {ASSOCIATED_PULLS_PAGE}) {{ nodes {{ number baseRefName }} }}
}}
"""

PR_COMMIT_NODES = (
    "nodes { commit { oid authoredDate committedDate message "
    "author { name email user { login } } } }"
)
PR_REVIEW_NODES = "nodes { databaseId author { login } state submittedAt createdAt }"
PR_COMMENT_NODES = "nodes { databaseId author { login } createdAt }"
PR_FILE_NODES = "nodes { path }"

PULL_FIELDS = f"""
fragment PullFields on PullRequest {{
  id number title body url state isDraft createdAt updatedAt closedAt mergedAt
  baseRefName headRefName author {{ login }} mergeCommit {{ oid }}
  labels(first: {PR_LABELS_PAGE}) {{ totalCount nodes {{ name }} }}
  commits(first: {PR_COMMITS_PAGE}) {{ totalCount {PAGE_INFO} {PR_COMMIT_NODES} }}
  reviews(first: {PR_REVIEWS_PAGE}) {{ totalCount {PAGE_INFO} {PR_REVIEW_NODES} }}
  comments(first: {PR_COMMENTS_PAGE}) {{ totalCount {PAGE_INFO} {PR_COMMENT_NODES} }}
  files(first: {PR_FILES_PAGE}) @include(if: $withFiles) {{
    totalCount {PAGE_INFO} {PR_FILE_NODES}
  }}
}}
"""

DEPLOYMENT_FIELDS = f"""
fragment DeploymentFields on Deployment {{
  id databaseId environment originalEnvironment createdAt updatedAt task description commitOid
  ref {{ name }} creator {{ login }}
  statuses(first: {DEPLOYMENT_STATUSES_PAGE}) {{
    totalCount {PAGE_INFO} nodes {{ id state createdAt description }}
  }}
}}
"""

REPOSITORY_SNAPSHOT = (
    """
query RepositorySnapshot(
  $owner: String!, $name: String!,
  $useDefaultBranch: Boolean!, $branch: String!,
  $withHistory: Boolean!, $historyAfter: String, $historySince: GitTimestamp,
  $withPulls: Boolean!, $pullsAfter: String, $withFiles: Boolean!,
  $withReleases: Boolean!, $releasesAfter: String,
  $withTags: Boolean!, $tagsAfter: String,
  $withDeployments: Boolean!, $deploymentsAfter: String, $environments: [String!],
  $withIssues: Boolean!, $issuesAfter: String, $issueLabels: [String!], $issuesSince: DateTime
) {
  rateLimit { cost remaining resetAt limit }
  repository(owner: $owner, name: $name) {
    nameWithOwner databaseId createdAt pushedAt isArchived isFork
    defaultBranchRef {
      name
      target {
        ... on Commit @include(if: $useDefaultBranch) {
          history(first: %(history)d, after: $historyAfter, since: $historySince)
            @include(if: $withHistory) { %(page)s nodes { ...CommitFields } }
        }
      }
    }
    branchRef: ref(qualifiedName: $branch) @skip(if: $useDefaultBranch) {
      name
      target {
        ... on Commit {
          history(first: %(history)d, after: $historyAfter, since: $historySince)
            @include(if: $withHistory) { %(page)s nodes { ...CommitFields } }
        }
      }
    }
    pullRequests(first: %(pulls)d, after: $pullsAfter,
                 orderBy: {field: UPDATED_AT, direction: DESC}) @include(if: $withPulls) {
      %(page)s nodes { ...PullFields }
    }
    releases(first: %(releases)d, after: $releasesAfter,
             orderBy: {field: CREATED_AT, direction: DESC}) @include(if: $withReleases) {
      %(page)s
      nodes {
        databaseId name tagName isDraft isPrerelease createdAt publishedAt url
        tagCommit { oid } author { login }
      }
    }
    refs(refPrefix: "refs/tags/", first: %(tags)d, after: $tagsAfter,
         orderBy: {field: TAG_COMMIT_DATE, direction: DESC}) @include(if: $withTags) {
      %(page)s
      nodes {
        name
        target {
          __typename oid
          ... on Commit { committedDate }
          ... on Tag { target { oid ... on Commit { committedDate } } }
        }
      }
    }
    deployments(first: %(deployments)d, after: $deploymentsAfter, environments: $environments,
                orderBy: {field: CREATED_AT, direction: DESC}) @include(if: $withDeployments) {
      %(page)s nodes { ...DeploymentFields }
    }
    issues(first: %(issues)d, after: $issuesAfter,
           filterBy: {since: $issuesSince, labels: $issueLabels},
           orderBy: {field: UPDATED_AT, direction: DESC}) @include(if: $withIssues) {
      %(page)s
      nodes {
        databaseId number title body url state createdAt updatedAt closedAt
        author { login } labels(first: 20) { nodes { name } }
      }
    }
  }
}
"""
    % {  # %-format keeps the GraphQL braces literal
        "history": HISTORY_PAGE,
        "pulls": PULLS_PAGE,
        "releases": RELEASES_PAGE,
        "tags": TAGS_PAGE,
        "deployments": DEPLOYMENTS_PAGE,
        "issues": ISSUES_PAGE,
        "page": PAGE_INFO,
    }
    + COMMIT_FIELDS
    + PULL_FIELDS
    + DEPLOYMENT_FIELDS
)

# Overflow: one pull request's commits / reviews / comments / files beyond the first page.
PULL_MORE = f"""
query PullRequestMore(
  $owner: String!, $name: String!, $number: Int!,
  $withCommits: Boolean!, $commitsAfter: String,
  $withReviews: Boolean!, $reviewsAfter: String,
  $withComments: Boolean!, $commentsAfter: String,
  $withFiles: Boolean!, $filesAfter: String
) {{
  rateLimit {{ cost remaining resetAt limit }}
  repository(owner: $owner, name: $name) {{
    pullRequest(number: $number) {{
      commits(first: 100, after: $commitsAfter) @include(if: $withCommits) {{
        {PAGE_INFO} {PR_COMMIT_NODES}
      }}
      reviews(first: 100, after: $reviewsAfter) @include(if: $withReviews) {{
        {PAGE_INFO} {PR_REVIEW_NODES}
      }}
      comments(first: 100, after: $commentsAfter) @include(if: $withComments) {{
        {PAGE_INFO} {PR_COMMENT_NODES}
      }}
      files(first: 100, after: $filesAfter) @include(if: $withFiles) {{
        {PAGE_INFO} {PR_FILE_NODES}
      }}
    }}
  }}
}}
"""

DEPLOYMENT_STATUSES_MORE = f"""
query DeploymentStatusesMore($id: ID!, $after: String) {{
  rateLimit {{ cost remaining resetAt limit }}
  node(id: $id) {{
    ... on Deployment {{
      statuses(first: 100, after: $after) {{
        {PAGE_INFO} nodes {{ id state createdAt description }}
      }}
    }}
  }}
}}
"""

# Discovery ([[organizations]]): one page lists 100 repositories with their flags and, when
# asked, their CODEOWNERS files from GitHub's three locations (object lookups, no connections:
# the page costs 1 point). No server-side filters: the archived/fork/glob rules apply in
# extractors/services.py, so the raw table lists the whole organisation.
ORG_REPOSITORIES_PAGE = 100
_CODEOWNERS_BLOB = "@include(if: $withCodeowners) { ... on Blob { text } }"
ORGANIZATION_REPOSITORIES = """
query OrganizationRepositories($login: String!, $after: String, $withCodeowners: Boolean!) {
  rateLimit { cost remaining resetAt limit }
  organization(login: $login) {
    login
    repositories(first: %(page)d, after: $after, ownerAffiliations: [OWNER],
                 orderBy: {field: NAME, direction: ASC}) {
      totalCount %(page_info)s
      nodes {
        nameWithOwner databaseId createdAt pushedAt isArchived isFork
        defaultBranchRef { name }
        githubCodeowners: object(expression: "HEAD:.github/CODEOWNERS") %(blob)s
        rootCodeowners: object(expression: "HEAD:CODEOWNERS") %(blob)s
        docsCodeowners: object(expression: "HEAD:docs/CODEOWNERS") %(blob)s
      }
    }
  }
}
""" % {"page": ORG_REPOSITORIES_PAGE, "page_info": PAGE_INFO, "blob": _CODEOWNERS_BLOB}

ALL_QUERIES = {
    "OrganizationRepositories": ORGANIZATION_REPOSITORIES,
    "RepositorySnapshot": REPOSITORY_SNAPSHOT,
    "PullRequestMore": PULL_MORE,
    "DeploymentStatusesMore": DEPLOYMENT_STATUSES_MORE,
}
