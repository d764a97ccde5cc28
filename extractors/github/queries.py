"""Every GraphQL document the extractor sends (a test validates each against GitHub's schema).

One multiplexed query reads a repository's streams side by side: each connection has its own
cursor, page size and `@include` switch, so a page of the query advances every stream that still
has pages, and a finished stream costs nothing.

GitHub charges a query by its connections (fakes/graphql_cost.py has the rule): a nested
connection costs one request per object of its parent page, so the query is shaped to have one
nested connection per object at most:
- a pull request reads its commits, reviews, comments and label events through ONE connection,
  `timelineItems(itemTypes: [...])`, not four: 100 pull requests = 101 requests = 1 point;
- a commit reads `parents` (the mainline walk needs them) and, for monorepos only,
  `associatedPullRequests` (to tell direct commits, whose files are read by REST); other
  repositories link rebased commits to their pull request in dbt (int_changes);
- the history stream may come by REST instead (extractors/github/history.py), which spends the
  separate core budget: the extractor sends each repository's history where less was spent.
Items that overflow a first page are followed with the small `*_MORE` queries only for the pull
requests or deployments that need them. An incremental run's first pages are small (the page
sizes are variables): a refresh reads what changed, not a full page of each stream. A refresh's
pull requests, history and deployments are listed first by key and time alone (`pullKeys`,
`historyKeys`, `deploymentKeys`: no nested connection, a few fields a row; a deployment lists
its latest status, which changes when a status is added), and the full rows are read only as
far down as the last key the warehouse does not hold as listed (extractors/github/walks.py:
LISTED_STREAMS).

Monorepos (a repository with a path-filtered service) also read each pull request's changed
files, behind `$withFiles`; other repositories send `withFiles: false`, which costs nothing
(GitHub, like the fake, prices the selection that executes).
"""

from __future__ import annotations

import re

PULLS_PAGE = 100
PR_TIMELINE_PAGE = 100
PR_FILES_PAGE = 100
HISTORY_PAGE = 100
ASSOCIATED_PULLS_PAGE = 5
RELEASES_PAGE = 50
TAGS_PAGE = 100
DEPLOYMENTS_PAGE = 40
DEPLOYMENT_STATUSES_PAGE = 10
ISSUES_PAGE = 100
# an incremental walk's first page when the warehouse cannot size it (walks.first_page_size
# sizes it from the stored rows: a refresh finds a few new items per repository)
INCREMENTAL_FIRST_PAGE = 10
# the timeline item kinds a pull request row is built from (rows.pull_rows)
PR_TIMELINE_TYPES = (
    "[PULL_REQUEST_COMMIT, PULL_REQUEST_REVIEW, ISSUE_COMMENT, LABELED_EVENT, UNLABELED_EVENT]"
)

PAGE_INFO = "pageInfo { hasNextPage endCursor }"

COMMIT_FIELDS = f"""
fragment CommitFields on Commit {{
  oid message authoredDate committedDate
  author {{ name email user {{ login }} }}
  parents(first: 5) {{ nodes {{ oid }} }}
  associatedPullRequests(first: {ASSOCIATED_PULLS_PAGE}) @include(if: $withFiles) {{
    nodes {{ number baseRefName }}
  }}
}}
"""

PR_TIMELINE_NODES = """nodes {
      __typename
      ... on PullRequestCommit {
        commit { oid authoredDate committedDate message author { name email user { login } } }
      }
      ... on PullRequestReview { databaseId author { login } state submittedAt createdAt }
      ... on IssueComment { databaseId author { login } createdAt }
      ... on LabeledEvent { createdAt label { name } }
      ... on UnlabeledEvent { createdAt label { name } }
    }"""
PR_FILE_NODES = "nodes { path }"

PULL_FIELDS = f"""
fragment PullFields on PullRequest {{
  id number title body url state isDraft createdAt updatedAt closedAt mergedAt
  baseRefName headRefName author {{ login }} mergeCommit {{ oid }}
  timelineItems(first: {PR_TIMELINE_PAGE}, itemTypes: {PR_TIMELINE_TYPES}) {{
    {PAGE_INFO} {PR_TIMELINE_NODES}
  }}
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

# The per-repository variables of the snapshot query (`$withFiles` is shared by the whole query:
# its fragments use it), and one repository's selection; `snapshot_query` aliases the selection
# for several repositories at once.
_REPOSITORY_VARIABLES = """
    $owner: String!,
    $name: String!,
    $useDefaultBranch: Boolean!,
    $branch: String!,
    $withHistory: Boolean!,
    $historyAfter: String,
    $historySince: GitTimestamp,
    $historyFirst: Int!,
    $withHistoryKeys: Boolean!,
    $historyKeysAfter: String,
    $historyKeysFirst: Int!,
    $withPulls: Boolean!,
    $pullsAfter: String,
    $pullsFirst: Int!,
    $withPullKeys: Boolean!,
    $pullKeysAfter: String,
    $pullKeysFirst: Int!,
    $withReleases: Boolean!,
    $releasesAfter: String,
    $releasesFirst: Int!,
    $withTags: Boolean!,
    $tagsAfter: String,
    $tagsFirst: Int!,
    $withDeployments: Boolean!,
    $deploymentsAfter: String,
    $deploymentsFirst: Int!,
    $withDeploymentKeys: Boolean!,
    $deploymentKeysAfter: String,
    $deploymentKeysFirst: Int!,
    $environments: [String!],
    $withIssues: Boolean!,
    $issuesAfter: String,
    $issuesFirst: Int!,
    $issueLabels: [String!],
    $issuesSince: DateTime
"""
_REPOSITORY_SELECTION = """{
    nameWithOwner databaseId createdAt pushedAt isArchived isFork
    defaultBranchRef {
      name
      target {
        ... on Commit @include(if: $useDefaultBranch) {
          history(first: $historyFirst, after: $historyAfter, since: $historySince)
            @include(if: $withHistory) { %(page)s nodes { ...CommitFields } }
          historyKeys: history(first: $historyKeysFirst, after: $historyKeysAfter,
                               since: $historySince)
            @include(if: $withHistoryKeys) { %(page)s nodes { oid committedDate } }
        }
      }
    }
    branchRef: ref(qualifiedName: $branch) @skip(if: $useDefaultBranch) {
      name
      target {
        ... on Commit {
          history(first: $historyFirst, after: $historyAfter, since: $historySince)
            @include(if: $withHistory) { %(page)s nodes { ...CommitFields } }
          historyKeys: history(first: $historyKeysFirst, after: $historyKeysAfter,
                               since: $historySince)
            @include(if: $withHistoryKeys) { %(page)s nodes { oid committedDate } }
        }
      }
    }
    pullRequests(first: $pullsFirst, after: $pullsAfter,
                 orderBy: {field: UPDATED_AT, direction: DESC}) @include(if: $withPulls) {
      %(page)s nodes { ...PullFields }
    }
    pullKeys: pullRequests(first: $pullKeysFirst, after: $pullKeysAfter,
                           orderBy: {field: UPDATED_AT, direction: DESC})
      @include(if: $withPullKeys) { %(page)s nodes { number updatedAt } }
    releases(first: $releasesFirst, after: $releasesAfter,
             orderBy: {field: CREATED_AT, direction: DESC}) @include(if: $withReleases) {
      %(page)s
      nodes {
        databaseId name tagName isDraft isPrerelease createdAt publishedAt url
        tagCommit { oid } author { login }
      }
    }
    refs(refPrefix: "refs/tags/", first: $tagsFirst, after: $tagsAfter,
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
    deployments(first: $deploymentsFirst, after: $deploymentsAfter, environments: $environments,
                orderBy: {field: CREATED_AT, direction: DESC}) @include(if: $withDeployments) {
      %(page)s nodes { ...DeploymentFields }
    }
    deploymentKeys: deployments(first: $deploymentKeysFirst, after: $deploymentKeysAfter,
                                environments: $environments,
                                orderBy: {field: CREATED_AT, direction: DESC})
      @include(if: $withDeploymentKeys) {
      %(page)s nodes { databaseId createdAt environment latestStatus { id } }
    }
    issues(first: $issuesFirst, after: $issuesAfter,
           filterBy: {since: $issuesSince, labels: $issueLabels},
           orderBy: {field: UPDATED_AT, direction: DESC}) @include(if: $withIssues) {
      %(page)s
      nodes {
        databaseId number title body url state createdAt updatedAt closedAt
        author { login } labels(first: 20) { nodes { name } }
      }
    }
  }
"""


def snapshot_query(repositories: int = 1) -> str:
    """The snapshot query for `repositories` repositories. With one, the field is `repository`
    and the variables are plain (`$owner`, `$pullsFirst`, ...); with several, repository `i` is
    aliased `r<i>` with its own variables (`$owner_<i>`, ...). An incremental run asks the first
    pages of many repositories in one query this way: GitHub charges each query at least one
    point, and a refresh's small pages cost far less than that each."""
    selection = _REPOSITORY_SELECTION.replace("%(page)s", PAGE_INFO)
    variables = [tuple(part.strip().lstrip("$") for part in definition.split(":", 1))
                 for definition in _REPOSITORY_VARIABLES.split(",")]
    names = {name for name, _ in variables}
    definitions: list[str] = []
    fields: list[str] = []
    for i in range(repositories):
        suffix = "" if repositories == 1 else f"_{i}"
        alias = "" if repositories == 1 else f"r{i}: "
        definitions += [f"${name}{suffix}: {kind}" for name, kind in variables]
        renamed = re.sub(r"\$(\w+)", lambda m, s=suffix: (
            f"${m.group(1)}{s}" if m.group(1) in names else m.group(0)), selection)
        fields.append(f"  {alias}repository(owner: $owner{suffix}, name: $name{suffix}) "
                      + renamed)
    name = "RepositorySnapshot" if repositories == 1 else "RepositoriesSnapshot"
    return (f"query {name}(\n  " + ",\n  ".join([*definitions, "$withFiles: Boolean!"])
            + "\n) {\n  rateLimit { cost remaining resetAt limit }\n" + "".join(fields)
            + "}\n" + COMMIT_FIELDS + PULL_FIELDS + DEPLOYMENT_FIELDS)


REPOSITORY_SNAPSHOT = snapshot_query(1)
# repositories per incremental query: well under a point each (first pages sized to what is new),
# ~1,500 nodes each at most
SNAPSHOT_BATCH = 20

# Overflow: one pull request's timeline items / files beyond the first page.
PULL_MORE = f"""
query PullRequestMore(
  $owner: String!, $name: String!, $number: Int!,
  $withTimeline: Boolean!, $timelineAfter: String,
  $withFiles: Boolean!, $filesAfter: String
) {{
  rateLimit {{ cost remaining resetAt limit }}
  repository(owner: $owner, name: $name) {{
    pullRequest(number: $number) {{
      timelineItems(first: 100, after: $timelineAfter, itemTypes: {PR_TIMELINE_TYPES})
        @include(if: $withTimeline) {{
        {PAGE_INFO} {PR_TIMELINE_NODES}
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
    "RepositoriesSnapshot": snapshot_query(3),
    "PullRequestMore": PULL_MORE,
    "DeploymentStatusesMore": DEPLOYMENT_STATUSES_MORE,
}
