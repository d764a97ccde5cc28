"""Scale: the whole pipeline on a generated 1,000-repository organisation, and a 1% refresh.

    .venv/bin/python bench/scale.py            # 1,000 repos / 200,000 PRs / 1M commits / 40,000
                                               #   deployments, seed 7
    .venv/bin/python bench/scale.py --quick    # 1/20 of that: 50 repos / 10,000 PRs

Stages, each timed:
1. generate: `fakes.scale.generate_at_scale` (exact totals) and scenario.json + fourkeys.toml
   under bench/out/scale-<totals>/ (the parent's peak RSS after this stage is the generator's);
2. the fake API loads the scenario (`load_scenario`) and serves it on 127.0.0.1 over real HTTP
   from a thread of this process (rate limit 10**9, so nothing throttles; every request and
   GraphQL point is still counted by `/_fake/stats`);
3. backfill: `fourkeys extract`, then `fourkeys transform --as-of <scenario now>` (which
   publishes), each in its own child process (peak RSS = the child's VmHWM);
4. increment: `fakes.scale.advance(org, 0.01)` appends 1% new PRs, commits and deployments
   after `now` and moves `now` on; the fake is restarted on the same port with it;
5. incremental refresh: `fourkeys run --as-of <new now>` on the same warehouse, the command cron
   runs every morning (extract, then transform, with dbt's parse overlapping the extract). The
   backfill stays two commands, so each stage gets its own wall time and peak RSS; as one `run`
   it would be ~5 s (the overlapped parse) shorter, under 1% of it.

`--refresh-only` measures the refresh again on the backfill a whole run kept in the same
workdir; SCALE_PROFILE_DIR=<folder> writes a cProfile of each fourkeys command there.

It prints wall time, peak RSS and CPU per stage (the fake server's CPU is this process's during a
child's run), requests (GraphQL, REST, Heroku) and GraphQL points in total and per 1,000 PRs,
the projected backfill time for one GitHub.com token (GraphQL requests are charged in points
and REST requests in the core budget, two separate 5,000-an-hour budgets, so hours = max(REST
requests, points) / 5,000), and PASS/MISS against the targets: generation < 60 s, backfill
inside one token-hour, peak RSS ≤ 1.5 GiB, incremental refresh ≤ 5% of the backfill time.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project importable without install
    sys.path.insert(0, str(ROOT))

from bench.extract_budget import fake_stats, peak_rss_mib, stats_delta  # noqa: E402

log = logging.getLogger("bench.scale")

OUT = ROOT / "bench" / "out"
DUMMY_TOKEN = "bench-dummy-token-the-fake-accepts-any"
DUMMY_HEROKU = "heroku-bench-dummy-0123456789abcdef"
HOURLY = 5000  # GitHub.com, one token: REST core requests an hour, and GraphQL points an hour
TARGET_GENERATE_SECONDS = 60.0
TARGET_TOKEN_HOURS = 1.0
TARGET_RSS_MIB = 1.5 * 1024
TARGET_INCREMENT_SHARE = 0.05
_ROWS = re.compile(r"extracted (\d+) rows")
_EXTRACT_SECONDS = re.compile(r"extracted \d+ rows .* in ([0-9.]+)s")
_BUILD_SECONDS = re.compile(r"transformed: .* in ([0-9.]+)s")


def cpu_seconds(who: int) -> float:
    ru = resource.getrusage(who)
    return ru.ru_utime + ru.ru_stime


# --- child: one fourkeys command ------------------------------------------------------------


def side_cli(argv: list[str]) -> dict[str, Any]:
    """Run `fourkeys ARGV` in this (child) process; its peak RSS is the command's alone."""
    from fourkeys.cli import main

    started = time.perf_counter()
    profile_to = os.environ.get("SCALE_PROFILE_DIR")  # cProfile each command into this folder
    if profile_to:
        import cProfile

        profiler = cProfile.Profile()
        rc = profiler.runcall(main, argv)
        profiler.dump_stats(Path(profile_to) / f"{argv[0]}-{int(time.time())}.prof")
    else:
        rc = main(argv)
    return {"rc": rc, "seconds": time.perf_counter() - started, "peak_rss_mib": peak_rss_mib(),
            "cpu_seconds": cpu_seconds(resource.RUSAGE_SELF)}


def run_cli(label: str, argv: list[str], base_url: str, env: dict[str, str],
            logs: Path) -> dict[str, Any]:
    """One fourkeys command in a child; the fake's counters and this process's CPU (the fake
    server's work) frame exactly that child. Its log goes to `logs`."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--side", "cli", *argv]
    log.info("%s: fourkeys %s", label, " ".join(argv))
    before, cpu = fake_stats(base_url), cpu_seconds(resource.RUSAGE_SELF)
    started = time.perf_counter()
    with logs.open("a", encoding="utf-8") as err:
        err.write(f"\n=== {label}: fourkeys {' '.join(argv)}\n")
        err.flush()
        done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=err, text=True,
                              check=False)
    wall = time.perf_counter() - started
    fake_cpu = cpu_seconds(resource.RUSAGE_SELF) - cpu
    after = fake_stats(base_url)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{label}: child exited with {done.returncode}; see {logs}")
    result: dict[str, Any] = json.loads(lines[-1])
    if result["rc"] != 0:
        raise SystemExit(f"{label}: fourkeys exited with {result['rc']}; see {logs}")
    result.update(stats_delta(before, after), wall_seconds=wall, fake_cpu_seconds=fake_cpu)
    text = logs.read_text(encoding="utf-8")
    found = _ROWS.findall(text)
    result["rows"] = int(found[-1]) if found and argv[0] in ("extract", "run") else None
    if argv[0] == "run":  # the stages' own clocks, from the run's summary lines
        result["extract_seconds"] = float(_EXTRACT_SECONDS.findall(text)[-1])
        result["build_seconds"] = float(_BUILD_SECONDS.findall(text)[-1])
    log.info("%s: %.1f s, %d calls, %d GraphQL points, peak RSS %.0f MiB", label, wall,
             result["calls"], result["graphql_points"], result["peak_rss_mib"])
    return result


# --- parent ---------------------------------------------------------------------------------


def mart_counts(warehouse: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        for table in ("fct_deployments", "fct_changes", "fct_incidents"):
            row = con.execute(f'select count(*) from main."{table}"').fetchone()
            out[table] = int(row[0]) if row else 0
        return out
    finally:
        con.close()


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from fakes.scale import ScaleSpec, generate_at_scale

    spec = ScaleSpec(repos=args.repos, prs=args.prs, commits=args.commits,
                     deployments=args.deployments, months=args.months, seed=args.seed,
                     now=data_end(args.months, args.increment))
    if args.quick:
        spec = spec.scaled(1 / 20)
    work = args.workdir or OUT / (f"scale-{spec.repos}r-{spec.prs}p-{spec.commits}c-"
                                  f"{spec.deployments}d-{spec.months}m-s{spec.seed}")
    logs = work / "fourkeys.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOURKEYS_SLACK")}
    env.update(GITHUB_TOKEN=DUMMY_TOKEN, HEROKU_API_KEY=DUMMY_HEROKU)
    saved = work / "backfill.json"
    if args.refresh_only:
        if not saved.exists():
            raise SystemExit(f"--refresh-only needs a whole run in {work} first (no {saved})")
        m: dict[str, Any] = json.loads(saved.read_text(encoding="utf-8"))
        # the same seed and end give the same organisation
        org = generate_at_scale(replace(spec, now=datetime.fromisoformat(m["spec"]["now"])))
        for name in KEPT:  # the warehouse as the backfill left it
            shutil.copyfile(work / f"backfill.{name}", work / name)
    else:
        m, org = backfill(spec, args, work, logs, env)
    return refresh(m, org, args, work / "fourkeys.toml", logs, env)


def data_end(months: int, increment: float) -> datetime:
    """Where the generated organisation's data ends: the increment's span before the hour
    before now (UTC), so the increment ends about an hour before the refresh starts. The
    extractor's clock and the data then agree, as in production, where a refresh sizes its
    first pages from each repository's rate by its own clock (extractors/github/walks.py:
    first_page_size). `--refresh-only` keeps the end its whole run had: run it the same day."""
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (hour - timedelta(hours=1, days=months * 30.44 * increment)).replace(microsecond=0)


KEPT = ("fourkeys.duckdb", "fourkeys.published.duckdb")


def serve(org: Any, port: int = 0) -> tuple[Any, float]:
    """The fake API on `org`'s scenario, over HTTP from a thread of this process."""
    from fakes.scenario import load_scenario
    from fakes.server import create_app, serve_in_thread

    loading = time.perf_counter()
    scenario = load_scenario(org.scenario)
    # the scenario's millions of objects live as long as the server: out of the collector's
    # way, or every full collection walks them all and the fake's CPU varies run to run
    gc.collect()
    gc.freeze()
    server = serve_in_thread(create_app(scenario, rate_limit=10**9), port=port)
    # GitHub's schema, built once a process on the first GraphQL request: here, not inside the
    # first measured stage (a whole run's refresh found it built by the backfill; a
    # --refresh-only run's refresh paid for it)
    from fakes.graphql_api import load_github_schema

    load_github_schema()
    return server, time.perf_counter() - loading


def backfill(spec: Any, args: argparse.Namespace, work: Path, logs: Path,
             env: dict[str, str]) -> tuple[dict[str, Any], Any]:
    """Generate, serve, extract and transform the whole organisation; the warehouse is kept
    as `backfill.*` beside it, so `--refresh-only` can measure the refresh again."""
    from fakes.scale import count_activity, generate_at_scale

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    m: dict[str, Any] = {"spec": {k: str(v) for k, v in vars(spec).items()}, "work": str(work),
                         "full_prs": args.prs if args.quick else None}
    started, cpu = time.perf_counter(), time.process_time()
    org = generate_at_scale(spec)
    generated = time.perf_counter() - started
    scenario_path = org.write(work)[0]
    m["generate"] = {"seconds": generated, "write_seconds": time.perf_counter() - started -
                     generated, "cpu_seconds": time.process_time() - cpu,
                     "peak_rss_mib": peak_rss_mib(),
                     "scenario_mib": scenario_path.stat().st_size / 2**20,
                     "counts": count_activity(org)}
    log.info("generated in %.1f s (+ %.1f s to write %.0f MiB)", generated,
             m["generate"]["write_seconds"], m["generate"]["scenario_mib"])

    server, m["fake_load_seconds"] = serve(org)
    url = server.base_url
    config = work / "fourkeys.toml"
    config.write_text(org.config_toml(github_api_url=url, heroku_api_url=f"{url}/heroku",
                                      warehouse_path=str(work / "fourkeys.duckdb")),
                      encoding="utf-8")
    try:
        now = org.scenario["now"][:10]
        m["backfill"] = {
            "extract": run_cli("backfill extract", ["extract", "--config", str(config)], url,
                               env, logs),
            "transform": run_cli("backfill transform", ["transform", "--config", str(config),
                                                        "--as-of", now], url, env, logs),
        }
    finally:
        server.stop()
    m["backfill"]["marts"] = mart_counts(work / "fourkeys.duckdb")
    m["backfill"]["rows_by_table"] = extracted_rows(logs)
    m["snapshot_requests"] = snapshot_costs()
    m["fake_rss_mib"] = peak_rss_mib()
    m.update(port=server.port, url=url)
    for name in KEPT:
        shutil.copyfile(work / name, work / f"backfill.{name}")
    (work / "backfill.json").write_text(json.dumps(m, default=str), encoding="utf-8")
    return m, org


def refresh(m: dict[str, Any], org: Any, args: argparse.Namespace, config: Path, logs: Path,
            env: dict[str, str]) -> dict[str, Any]:
    """Add `--increment` new activity, restart the fake with it, extract and transform."""
    from fakes.scale import advance

    port, url = m["port"], m["url"]
    gc.unfreeze()  # the old scenario's objects may go now
    gc.collect()  # the old scenario's models go before the new ones are built
    started = time.perf_counter()
    m["increment"] = {"added": advance(org, args.increment)}
    m["increment"]["seconds"] = time.perf_counter() - started
    server, m["increment"]["fake_load_seconds"] = serve(org, port)  # the URL in the config
    try:
        now = org.scenario["now"][:10]
        m["incremental"] = {"run": run_cli("incremental run", ["run", "--config", str(config),
                                                               "--as-of", now], url, env, logs)}
    finally:
        server.stop()
    m["incremental"]["marts"] = mart_counts(config.parent / "fourkeys.duckdb")
    return m


STREAMS = {  # snapshot stream → (page size attribute in queries.py, raw table it fills)
    "History": ("HISTORY_PAGE", "github_commits"),
    "Pulls": ("PULLS_PAGE", "github_pull_requests"),
    "Releases": ("RELEASES_PAGE", "github_releases"),
    "Tags": ("TAGS_PAGE", "github_tags"),
    "Deployments": ("DEPLOYMENTS_PAGE", "github_deployments"),
    "Issues": ("ISSUES_PAGE", "github_issues"),
}


def snapshot_costs() -> dict[str, int]:
    """GitHub's request count (points = requests / 100, rounded, per query) of one full page of
    the extractor's snapshot query with one stream included at a time, and all together, as
    the fake charges it (fakes.graphql_cost)."""
    from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

    from extractors.github import queries
    from fakes.graphql_api import load_github_schema
    from fakes.graphql_cost import analyze

    schema = load_github_schema()
    document = parse(queries.REPOSITORY_SNAPSHOT)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    base: dict[str, Any] = {"owner": "o", "name": "n", "useDefaultBranch": True,
                            "branch": "refs/heads/main", "environments": None,
                            "issueLabels": ["incident"], "historySince": None,
                            "issuesSince": None, "withFiles": False}
    base.update({f"with{k}": False for k in STREAMS})
    base.update({f"{k[0].lower()}{k[1:]}After": None for k in STREAMS})
    base.update({f"{k[0].lower()}{k[1:]}First": getattr(queries, page)
                 for k, (page, _) in STREAMS.items()})
    out = {k: analyze(schema, operation, fragments, {**base, f"with{k}": True}).requests
           for k in STREAMS}
    out["all"] = analyze(schema, operation, fragments,
                         {**base, **{f"with{k}": True for k in STREAMS}}).requests
    return out


def extracted_rows(logs: Path) -> dict[str, int]:
    """Rows per raw table from the last `extracted N rows (table=n, ...)` summary line."""
    found = re.findall(r"extracted \d+ rows \(([^)]*)\)", logs.read_text(encoding="utf-8"))
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", found[0])} if found else {}


# --- report ---------------------------------------------------------------------------------


def per_1k(n: float, prs: int) -> float:
    return n * 1000 / prs if prs else float("nan")


def token_hours(run: dict[str, Any]) -> float:
    """GitHub's two budgets: GraphQL points, and the REST requests it charges (`core_used`:
    a conditional request answered 304 Not Modified costs nothing)."""
    return max(run["core_used"], run["graphql_points"]) / HOURLY


def where_points_go(m: dict[str, Any]) -> None:
    """Each stream's share of the points: GitHub charges a connection one request per parent
    object, so a page's cost is set by its nested connections, whatever they hold."""
    from extractors.github import queries

    costs, rows = m["snapshot_requests"], m["backfill"]["rows_by_table"]
    prs = m["generate"]["counts"]["prs"]
    print(f"where GraphQL points go (one full snapshot page: {costs['all']} requests = "
          f"{(costs['all'] + 50) // 100} points with every stream):")
    total = 0.0
    for stream, (page_attr, table) in STREAMS.items():
        page = getattr(queries, page_attr)
        items = rows.get(table, 0)
        implied = costs[stream] / 100 * items / page
        name = table.removeprefix("github_")
        total += implied
        print(f"  {stream:<12} {costs[stream]:>4} requests a page of {page:>3} = "
              f"{costs[stream] / 100 / page:.4f} points an item x {items:>9,} {name:<14} "
              f"≈ {implied:>8,.0f} points ({per_1k(implied, prs):.1f} per 1,000 PRs)")
    measured = m["backfill"]["extract"]["graphql_points"]
    print(f"  sum ≈ {total:,.0f} points if every page came by GraphQL, against {measured:,} "
          "charged (histories read by REST cost core requests instead; the rest: rounding per "
          "query, partial pages, overflow follow-ups)")


def report(m: dict[str, Any]) -> None:
    g, counts = m["generate"], m["generate"]["counts"]
    b, i = m["backfill"], m["incremental"]
    prs = counts["prs"]
    print(f"Scale: {counts['repos']:,} repositories, {prs:,} PRs, {counts['commits']:,} "
          f"commits, {counts['deployments']:,} production deployments "
          f"({counts['merged_prs']:,} merged PRs, {counts['reviews']:,} reviews, "
          f"{counts['issues']:,} incident issues), {m['spec']['months']} months, "
          f"seed {m['spec']['seed']}")
    print(f"scenario {g['scenario_mib']:.0f} MiB; fake API loaded it in "
          f"{m['fake_load_seconds']:.1f} s (fake API peak RSS {m['fake_rss_mib']:,.0f} MiB, "
          "not a target)")
    print()
    head = (f"{'stage':<24} {'wall s':>8} {'CPU s':>7} {'fake CPU s':>10} {'peak RSS MiB':>12} "
            f"{'GraphQL':>8} {'REST':>6} {'Heroku':>7} {'GQL pts':>8} {'rows':>10}")
    print(head)
    print("-" * len(head))
    print(f"{'generate (+ write)':<24} {g['seconds'] + g['write_seconds']:>8.1f} "
          f"{g.get('cpu_seconds', float('nan')):>7.1f} "
          f"{'':>10} {g['peak_rss_mib']:>12,.0f}")
    for label, r in (("backfill extract", b["extract"]), ("backfill transform", b["transform"]),
                     ("incremental run", i["run"])):
        ch = r["by_channel"]
        rows = f"{r['rows']:>10,}" if r["rows"] is not None else f"{'':>10}"
        print(f"{label:<24} {r['wall_seconds']:>8.1f} {r['cpu_seconds']:>7.1f} "
              f"{r['fake_cpu_seconds']:>10.1f} {r['peak_rss_mib']:>12,.0f} {ch['graphql']:>8,} "
              f"{ch['rest']:>6,} {ch['heroku']:>7,} {r['graphql_points']:>8,} {rows}")
    e = b["extract"]
    backfill = b["extract"]["wall_seconds"] + b["transform"]["wall_seconds"]
    r = i["run"]
    refresh = r["wall_seconds"]
    hours = token_hours(e)
    print()
    print(f"backfill: {backfill:.1f} s (extract {e['wall_seconds']:.1f} + transform incl. "
          f"publish {b['transform']['wall_seconds']:.1f}); marts: "
          + ", ".join(f"{k} {v:,}" for k, v in b["marts"].items()))
    print(f"per 1,000 PRs: {per_1k(e['github_calls'], prs):.1f} GitHub requests "
          f"({per_1k(e['by_channel']['graphql'], prs):.1f} GraphQL + "
          f"{per_1k(e['by_channel']['rest'], prs):.1f} REST), {per_1k(e['calls'], prs):.1f} "
          f"with Heroku; {per_1k(e['graphql_points'], prs):.1f} GraphQL points")
    print(f"projected backfill against GitHub.com, one token: max({e['core_used']:,} "
          f"REST requests charged, {e['graphql_points']:,} GraphQL points) / {HOURLY:,} per hour = "
          f"{hours:.2f} h ({hours * 60:.0f} min); Heroku {e['by_channel']['heroku']:,} requests "
          "(its own 4,500/hour)")
    where_points_go(m)
    added = m["increment"]["added"]
    print(f"increment: +{added['prs']:,} PRs, +{added['commits']:,} commits, "
          f"+{added['deployments']:,} deployments in {m['increment']['seconds']:.1f} s; "
          f"refresh (`fourkeys run`) {refresh:.1f} s (its extract {r['extract_seconds']:.1f}, its "
          f"dbt build {r['build_seconds']:.1f}, the rest start, parse overlap and publish) = "
          f"{refresh / backfill:.1%} of the backfill; "
          f"{token_hours(r) * 60:.1f} token-minutes (max of "
          f"{r['core_used']:,} REST requests charged, "
          f"{r['not_modified']:,} more answered 304 for free, and "
          f"{r['graphql_points']:,} points)")
    rss = max(x["peak_rss_mib"] for x in (b["extract"], b["transform"], r))
    generate = g["seconds"] + g["write_seconds"]

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    print()
    print(f"{verdict(generate < TARGET_GENERATE_SECONDS)}  generation {generate:.1f} s "
          f"(generate {g['seconds']:.1f} + write {g['write_seconds']:.1f}, "
          f"{g.get('cpu_seconds', float('nan')):.1f} s CPU; target < "
          f"{TARGET_GENERATE_SECONDS:g} s)")
    print(f"{verdict(hours <= TARGET_TOKEN_HOURS)}  projected backfill {hours:.2f} token-hours "
          f"(target ≤ {TARGET_TOKEN_HOURS:g})")
    if m.get("full_prs"):  # --quick: the targets are set for the whole organisation
        full = hours * m["full_prs"] / prs
        print(f"      NOTE: --quick is 1/20 of the organisation; at {m['full_prs']:,} PRs the "
              f"same points per 1,000 PRs project to {full:.1f} token-hours")
    print(f"{verdict(rss <= TARGET_RSS_MIB)}  peak RSS {rss:,.0f} MiB over the pipeline's "
          f"processes (target ≤ {TARGET_RSS_MIB:,.0f} MiB)")
    print(f"{verdict(refresh <= TARGET_INCREMENT_SHARE * backfill)}  incremental refresh "
          f"{refresh / backfill:.1%} of the backfill time on this machine against the fake "
          f"(target ≤ {TARGET_INCREMENT_SHARE:.0%})")
    # Against GitHub.com a backfill cannot go faster than its budget allows (one token: the
    # hours above): the refresh measured here (no network latency) against that backfill
    budget_bound = max(e["wall_seconds"], hours * 3600) + b["transform"]["wall_seconds"]
    print(f"      against GitHub.com, where one token's budget holds the backfill to "
          f"{budget_bound / 60:.0f} min or more, the refresh measured here (without network "
          f"latency) is {refresh / budget_bound:.1%} of it")
    # the same comparison in token time says what a refresh costs there
    refresh_hours = token_hours(r)
    share = refresh_hours / hours if hours else float("nan")
    print(f"{verdict(share <= TARGET_INCREMENT_SHARE)}  incremental refresh against GitHub.com's "
          f"budget: {refresh_hours * 60:.1f} token-minutes = {share:.1%} of the backfill's "
          f"{hours * 60:.0f} (target ≤ {TARGET_INCREMENT_SHARE:.0%})")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:2] == ["--side", "cli"]:  # internal: one fourkeys command in a child
        print(json.dumps(side_cli(argv[2:])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--prs", type=int, default=200_000)
    parser.add_argument("--commits", type=int, default=1_000_000)
    parser.add_argument("--deployments", type=int, default=40_000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="1/20 of every total")
    parser.add_argument("--increment", type=float, default=0.01,
                        help="new activity for the incremental refresh (default 0.01)")
    parser.add_argument("--workdir", type=Path, help="default bench/out/scale-<totals>")
    parser.add_argument("--refresh-only", action="store_true",
                        help="measure the refresh again on the backfill a whole run in the "
                        "same workdir kept (backfill.json, backfill.fourkeys.duckdb)")
    parser.add_argument("--json", action="store_true", help="also print the raw figures")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    measured = measure(args)
    report(measured)
    if args.json:
        print(json.dumps(measured, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
