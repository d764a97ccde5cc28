"""Extraction budget: API calls, GraphQL points, rows/s and peak RSS, ours vs a per-PR REST path.

    .venv/bin/python bench/extract_budget.py --quick            # 10 repos / ~2,000 PRs
    .venv/bin/python bench/extract_budget.py                    # 50 repos / ~20,000 PRs
    .venv/bin/python bench/extract_budget.py --baseline-repos 10

The parent generates an organisation (fakes.generator), serves it with the fake API in a thread
(rate limit 10**9, so nothing throttles) and reads the fake's `/_fake/stats` before and after each
measured side. Each side runs in its own child process (`--side ours|baseline`, JSON on stdout),
so its peak RSS (`ru_maxrss`) is the extractor's alone, not the fake server's:

- ours: `fourkeys.pipeline.run_extract` on a fresh warehouse (every configured stream: history,
  PRs with commits/reviews/comments, releases, tags, deployments, issues, workflow runs, Heroku);
- per-PR REST: PyGithub `get_repo` → `get_pulls(state="all")` → per PR `get_commits()` +
  `get_reviews()`, iterated fully, nothing stored (rows = PRs + commits + reviews);
- incremental no-op: ours twice more on the same warehouse (the first settles the workflow-run
  ETags); the last run's calls per repository are reported.

Targets (issue): ≤ 25 calls per 1,000 PRs (all channels), ≥ 50x fewer than the per-PR path, and
≤ 2 calls per repository for an incremental run with nothing new.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project importable without install
    sys.path.insert(0, str(ROOT))

log = logging.getLogger("bench.extract_budget")

DUMMY_TOKEN = "bench-dummy-token-the-fake-accepts-any"
DUMMY_HEROKU = "heroku-bench-dummy-0123456789abcdef"
TARGET_PER_1K = 25.0
TARGET_RATIO = 50.0
TARGET_INCREMENTAL = 2.0


def peak_rss_mib() -> float:
    """This process's peak RSS in MiB. On Linux, VmHWM: `ru_maxrss` of a child started by
    subprocess (vfork + exec) also carries the parent's peak at exec time (the kernel folds the
    old mm's high-water mark into it), which here is the fake server's memory, not ours."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


# --- child sides (each in its own process) --------------------------------------------------


def side_ours(config_path: str) -> dict[str, Any]:
    from extractors.github.client import GitHubClient
    from fourkeys.config import load_config
    from fourkeys.pipeline import run_extract

    # count GraphQL documents by operation (snapshot pages vs overflow follow-ups); the fake's
    # stats only see `POST /graphql`
    operations: Counter[str] = Counter()
    original = GitHubClient.graphql

    def counted(self: GitHubClient, query: str, variables: dict[str, Any], *, what: str) -> Any:
        operations[query.split("query ", 1)[-1].split("(", 1)[0].strip()] += 1
        return original(self, query, variables, what=what)

    GitHubClient.graphql = counted  # type: ignore[method-assign]
    config = load_config(config_path)
    started = time.perf_counter()
    summary = run_extract(config)
    seconds = time.perf_counter() - started
    return {
        "rows": sum(summary.rows.values()),
        "rows_by_table": dict(sorted(summary.rows.items())),
        "seconds": seconds,
        "client_requests": dict(summary.stats.requests),
        "client_points": summary.stats.graphql_points,
        "not_modified": summary.stats.not_modified,
        "retries": summary.stats.retries,
        "graphql_operations": dict(operations),
        "units": summary.units,
        "peak_rss_mib": peak_rss_mib(),
    }


def side_baseline(base_url: str, repos: list[str]) -> dict[str, Any]:
    from github import Auth, Github

    from extractors.retry import DEFAULT_POLICY

    gh = Github(
        base_url=base_url,
        auth=Auth.Token(DUMMY_TOKEN),
        seconds_between_requests=0,
        per_page=100,
        retry=DEFAULT_POLICY.github_retry(),
    )
    prs = commits = reviews = 0
    started = time.perf_counter()
    for i, full_name in enumerate(repos, 1):
        repo = gh.get_repo(full_name)
        repo_prs = 0
        for pull in repo.get_pulls(state="all"):
            repo_prs += 1
            commits += sum(1 for _ in pull.get_commits())
            reviews += sum(1 for _ in pull.get_reviews())
        prs += repo_prs
        log.info(
            "baseline %d/%d %s: %d PRs (%.0fs)",
            i,
            len(repos),
            full_name,
            repo_prs,
            time.perf_counter() - started,
        )
    seconds = time.perf_counter() - started
    gh.close()
    return {
        "prs": prs,
        "commits": commits,
        "reviews": reviews,
        "rows": prs + commits + reviews,
        "seconds": seconds,
        "peak_rss_mib": peak_rss_mib(),
    }


# --- parent: generate, serve, measure -------------------------------------------------------


def fake_stats(base_url: str) -> dict[str, Any]:
    import httpx

    return httpx.get(f"{base_url}/_fake/stats", timeout=30).json()


def stats_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    req = {k: after["requests"][k] - before["requests"].get(k, 0) for k in after["requests"]}
    routes = {k: v - before["routes"].get(k, 0) for k, v in after["routes"].items()}
    core = after["rate_limit"]["core"]["used"] - before["rate_limit"]["core"]["used"]
    return {
        "calls": req["total"],
        "github_calls": req["graphql"] + req["rest"],
        "by_channel": {k: req[k] for k in ("graphql", "rest", "heroku")},
        "routes": {k: v for k, v in sorted(routes.items()) if v},
        "graphql_points": after["graphql_points"] - before["graphql_points"],
        "core_used": core,
        "not_modified": after["not_modified"] - before["not_modified"],
        "faults": after["faults_injected"] - before["faults_injected"],
    }


def run_child(
    label: str, side_args: list[str], base_url: str, env: dict[str, str], log_level: str
) -> dict[str, Any]:
    """Run one side in a child process; the fake's counters frame exactly that child."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--log-level", log_level, *side_args]
    log.info("%s: %s", label, " ".join(side_args))
    before = fake_stats(base_url)
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - started
    after = fake_stats(base_url)
    if done.returncode != 0:
        raise SystemExit(f"{label}: child exited with {done.returncode}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(stats_delta(before, after))
    result["wall_seconds"] = wall
    log.info(
        "%s: %d calls, %d rows in %.1fs (child wall %.1fs)",
        label,
        result["calls"],
        result["rows"],
        result["seconds"],
        wall,
    )
    return result


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from fakes.generator import generate, spec_for
    from fakes.scenario import load_scenario
    from fakes.server import create_app, serve_in_thread

    started = time.perf_counter()
    org = generate(spec_for(args.repos, args.prs, args.months, args.seed))
    scenario = load_scenario(org.scenario)
    repos = list(scenario.repositories)
    prs_by_repo = {r.full_name: len(r.pull_requests) for r in repos}
    total_prs = sum(prs_by_repo.values())
    heroku_apps = len(org.scenario.get("heroku_apps") or [])
    log.info(
        "generated %d repositories, %d PRs, %d Heroku apps in %.1fs",
        len(repos),
        total_prs,
        heroku_apps,
        time.perf_counter() - started,
    )
    n_base = len(repos) if args.baseline_repos is None else min(args.baseline_repos, len(repos))
    base_repos = [r.full_name for r in repos[:n_base]]

    env = {**os.environ, "GITHUB_TOKEN": DUMMY_TOKEN, "HEROKU_API_KEY": DUMMY_HEROKU}
    with (
        tempfile.TemporaryDirectory(prefix="extract-budget-") as tmp,
        serve_in_thread(create_app(scenario, rate_limit=10**9)) as server,
    ):
        url = server.base_url
        config = Path(tmp) / "fourkeys.toml"
        config.write_text(
            org.config_toml(
                github_api_url=url,
                heroku_api_url=f"{url}/heroku",
                warehouse_path=str(Path(tmp) / "fourkeys.duckdb"),
            ),
            encoding="utf-8",
        )
        analysis = where_calls_go(scenario, config)
        ours_args = ["--side", "ours", "--config", str(config)]
        ours = run_child("ours (full)", ours_args, url, env, args.log_level)
        settle = run_child("ours (incremental, settles ETags)", ours_args, url, env, args.log_level)
        incremental = run_child(
            "ours (incremental, nothing new)", ours_args, url, env, args.log_level
        )
        baseline = run_child(
            "per-PR REST",
            ["--side", "baseline", "--base-url", url, "--repo-list", ",".join(base_repos)],
            url,
            env,
            args.log_level,
        )
    return {
        "repos": len(repos),
        "prs": total_prs,
        "heroku_apps": heroku_apps,
        "baseline_repos": n_base,
        "baseline_prs_expected": sum(prs_by_repo[r] for r in base_repos),
        "ours": ours,
        "settle": settle,
        "incremental": incremental,
        "baseline": baseline,
        "analysis": analysis,
    }


def where_calls_go(scenario: Any, config_path: Path) -> dict[str, Any]:
    """What the scenario implies for our calls, stream by stream: how many snapshot pages each
    stream would need alone (a repository's snapshot pages are the max over its streams, since a
    page advances every open stream), PRs whose nested connections overflow the first page (one
    `PullRequestMore` each, at least), and Heroku slug lookups (one per succeeded release)."""
    import math

    from extractors.github import queries
    from extractors.run import plan_repositories
    from fourkeys.config import load_config

    sizes = {
        "pulls": queries.PULLS_PAGE,
        "history": queries.HISTORY_PAGE,
        "releases": queries.RELEASES_PAGE,
        "tags": queries.TAGS_PAGE,
        "deployments": queries.DEPLOYMENTS_PAGE,
        "issues": queries.ISSUES_PAGE,
    }
    alone: Counter[str] = Counter()
    drivers: Counter[str] = Counter()
    snapshot_pages = overflow_prs = overflow_deployments = 0
    for plan in plan_repositories(load_config(str(config_path))):
        repo = scenario.repository(*plan.repository.split("/", 1))
        envs = plan.environments
        counts = {
            "pulls": len(repo.pull_requests),
            "history": len(repo.branch_history(plan.branch or repo.default_branch)),
            "releases": len(repo.releases),
            "tags": len(repo.all_tags),
            "deployments": None
            if envs is None
            else sum(1 for d in repo.deployments if not envs or d.environment in envs),
            "issues": None
            if plan.issue_labels is None
            else sum(1 for i in repo.issues if set(plan.issue_labels) & set(i.labels)),
        }
        pages = {k: max(1, math.ceil(n / sizes[k])) for k, n in counts.items() if n is not None}
        alone.update(pages)
        top = max(pages.values())
        snapshot_pages += top
        drivers[next(k for k, v in pages.items() if v == top)] += 1
        overflow_prs += sum(
            1
            for p in repo.pull_requests
            # one timeline: commits, reviews, comments and label events together
            if len(p.commits) + len(p.reviews) + len(p.comments) + len(p.labels)
            > queries.PR_TIMELINE_PAGE
        )
        if envs is not None:
            overflow_deployments += sum(
                1
                for d in repo.deployments
                if (not envs or d.environment in envs)
                and len(d.statuses) > queries.DEPLOYMENT_STATUSES_PAGE
            )
    apps = list(getattr(scenario, "heroku_apps", []) or [])
    return {
        "pages_alone": dict(alone),
        "snapshot_pages": snapshot_pages,
        "page_driver": dict(drivers.most_common()),
        "overflow_prs": overflow_prs,
        "overflow_deployments": overflow_deployments,
        "heroku_releases": sum(len(a.releases) for a in apps),
        "heroku_slug_lookups": sum(
            1 for a in apps for r in a.releases if r.commit and r.status == "succeeded"
        ),
        "page_sizes": sizes,
    }


# --- report ---------------------------------------------------------------------------------


def per_1k(calls: float, prs: int) -> float:
    return calls * 1000 / prs if prs else float("nan")


def report(m: dict[str, Any]) -> None:
    ours, inc, base = m["ours"], m["incremental"], m["baseline"]
    prs, repos = m["prs"], m["repos"]
    subset = m["baseline_repos"] < repos
    base_label = "per-PR REST" + (f" ({m['baseline_repos']}/{repos} repos)" if subset else "")
    rows = [
        ("ours (full)", repos, prs, ours),
        (base_label, m["baseline_repos"], base["prs"], base),
        ("ours (incr., no-op)", repos, None, inc),
    ]
    head = (
        f"{'side':<28} {'repos':>5} {'PRs':>7} {'calls':>7} {'GitHub':>7} {'/1k PRs':>8} "
        f"{'GQL pts':>8} {'rows':>9} {'seconds':>8} {'rows/s':>8} {'RSS MiB':>8}"
    )
    print(
        f"Extraction budget: {repos} repositories, {prs:,} PRs, {m['heroku_apps']} Heroku apps "
        "(fake API, rate limit 10**9)"
    )
    print()
    print(head)
    print("-" * len(head))
    for label, n_repos, n_prs, r in rows:
        rate = r["rows"] / r["seconds"] if r["seconds"] else 0.0
        k = f"{per_1k(r['calls'], n_prs):8.1f}" if n_prs else f"{'-':>8}"
        print(
            f"{label:<28} {n_repos:>5} {n_prs if n_prs is not None else '-':>7} "
            f"{r['calls']:>7} {r['github_calls']:>7} {k} {r['graphql_points']:>8} "
            f"{r['rows']:>9} {r['seconds']:>8.1f} {rate:>8.0f} {r['peak_rss_mib']:>8.1f}"
        )
    print()
    print(
        "calls = every request the fake served (GraphQL + REST + Heroku); GitHub = GraphQL + REST."
    )
    print(
        "ours reads every configured stream (history, PRs with commits/reviews/comments/labels, "
        "releases, tags, deployments, issues, workflow runs, Heroku);"
    )
    print(
        "per-PR REST reads only PRs + commits + reviews (rows = PRs + commits + reviews; "
        f"it spent {base['core_used']} REST core points, ours {ours['core_used']})."
    )
    if subset:
        est = per_1k(base["calls"], base["prs"]) * prs / 1000
        print(
            f"NOTE: per-PR REST was MEASURED ON {m['baseline_repos']} OF {repos} REPOSITORIES "
            f"({base['prs']:,} PRs) and EXTRAPOLATED per 1,000 PRs: ≈ {est:,.0f} calls for "
            f"all {prs:,} PRs."
        )
    if base["prs"] != m["baseline_prs_expected"]:
        print(
            f"WARNING: per-PR REST listed {base['prs']} PRs, the scenario has "
            f"{m['baseline_prs_expected']}"
        )

    ours_k = per_1k(ours["calls"], prs)
    ours_gh_k = per_1k(ours["github_calls"], prs)
    base_k = per_1k(base["calls"], base["prs"])
    ratio = base_k / ours_k if ours_k else float("inf")
    ratio_gh = base_k / ours_gh_k if ours_gh_k else float("inf")
    inc_repo = inc["calls"] / repos
    inc_gh_repo = inc["github_calls"] / repos

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    extrapolated = "  [per-PR side extrapolated]" if subset else ""
    print()
    print(
        f"ratio (per-PR REST calls / ours, per 1,000 PRs): {ratio:.1f}x all channels, "
        f"{ratio_gh:.1f}x GitHub calls only{extrapolated}"
    )
    print(
        f"{verdict(ours_k <= TARGET_PER_1K)}  ours {ours_k:.1f} calls per 1,000 PRs, all "
        f"channels (target ≤ {TARGET_PER_1K:g})"
    )
    print(
        f"{verdict(ours_gh_k <= TARGET_PER_1K)}  ours {ours_gh_k:.1f} calls per 1,000 PRs, "
        f"GitHub only (target ≤ {TARGET_PER_1K:g})"
    )
    print(
        f"{verdict(ratio >= TARGET_RATIO)}  {ratio:.1f}x fewer calls than per-PR REST, all "
        f"channels (target ≥ {TARGET_RATIO:g}x){extrapolated}"
    )
    print(
        f"{verdict(ratio_gh >= TARGET_RATIO)}  {ratio_gh:.1f}x fewer calls than per-PR REST, "
        f"GitHub only (target ≥ {TARGET_RATIO:g}x){extrapolated}"
    )
    print(
        f"{verdict(inc_repo <= TARGET_INCREMENTAL)}  incremental no-op {inc_repo:.2f} calls per "
        f"repository, all channels (target ≤ {TARGET_INCREMENTAL:g}; "
        f"{inc['not_modified']} answered 304)"
    )
    print(
        f"{verdict(inc_gh_repo <= TARGET_INCREMENTAL)}  incremental no-op {inc_gh_repo:.2f} "
        f"calls per repository, GitHub only (target ≤ {TARGET_INCREMENTAL:g})"
    )

    print()
    print("Our calls by stream (fake's routes):")
    for label, r in (
        ("full", ours),
        ("ETag-settling run", m["settle"]),
        ("incremental no-op", inc),
    ):
        print(f"  {label}: " + ", ".join(f"{k} {v}" for k, v in r["by_channel"].items()))
        for route, n in r["routes"].items():
            print(f"    {n:>7}  {route}")
        ops = r.get("graphql_operations") or {}
        if ops:
            print(
                "    GraphQL by operation: " + ", ".join(f"{k} {v}" for k, v in sorted(ops.items()))
            )
    a = m["analysis"]
    print()
    print("Where our full run's calls go (expected from the scenario; page sizes from queries.py):")
    snap = (ours.get("graphql_operations") or {}).get("RepositorySnapshot", 0)
    print(
        f"  snapshot pages: {snap} measured, {a['snapshot_pages']} expected "
        f"(a repository's pages = max over its streams; "
        f"{per_1k(a['snapshot_pages'], prs):.1f} per 1,000 PRs)"
    )
    print(
        "  pages each stream would need alone: "
        + ", ".join(f"{k} {v} (page {a['page_sizes'][k]})" for k, v in a["pages_alone"].items())
    )
    print(
        "  stream that sets a repository's page count: "
        + ", ".join(f"{k} in {v} repos" for k, v in a["page_driver"].items())
    )
    print(
        f"  PR pages alone: {per_1k(a['pages_alone'].get('pulls', 0), prs):.1f} calls "
        "per 1,000 PRs (the floor at this PR page size)"
    )
    print(
        f"  overflow follow-ups: {a['overflow_prs']} PRs and {a['overflow_deployments']} "
        "deployments exceed their first nested page"
    )
    print(
        f"  Heroku: {a['heroku_releases']} releases, {a['heroku_slug_lookups']} slug lookups "
        f"expected (one per succeeded release) = "
        f"{per_1k(a['heroku_slug_lookups'], prs):.1f} calls per 1,000 PRs"
    )
    print(
        "  rows loaded (full): "
        + ", ".join(f"{k.removeprefix('raw_')} {v}" for k, v in ours["rows_by_table"].items())
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--prs", type=int, default=20000, help="about this many PRs in all")
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="smoke run: 10 repos / 2,000 PRs")
    parser.add_argument(
        "--baseline-repos",
        type=int,
        default=None,
        metavar="N",
        help="run the per-PR REST path on the first N repositories only and "
        "extrapolate per 1,000 PRs (default: all)",
    )
    parser.add_argument("--json", action="store_true", help="also print the raw figures as JSON")
    parser.add_argument("--log-level", default="INFO")
    # internal: one measured side in a child process
    parser.add_argument("--side", choices=("ours", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--repo-list", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(message)s",
        datefmt="%H:%M:%S",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    if args.side == "ours":
        print(json.dumps(side_ours(args.config)))
        return 0
    if args.side == "baseline":
        print(json.dumps(side_baseline(args.base_url, args.repo_list.split(","))))
        return 0
    if args.quick:
        args.repos, args.prs = 10, 2000
    if args.baseline_repos is not None and args.baseline_repos < 1:
        parser.error("--baseline-repos must be at least 1")
    measured = measure(args)
    report(measured)
    if args.json:
        print(json.dumps(measured, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
