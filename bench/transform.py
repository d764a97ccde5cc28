"""Transform: `dbt build` (fourkeys transform) vs the same SQL run directly in DuckDB.

    .venv/bin/python bench/transform.py              # 100 services, ~109,000 PRs, 6 months
    .venv/bin/python bench/transform.py --quick      # smoke: 10 services, ~1,000 PRs
    .venv/bin/python bench/transform.py --rebuild    # regenerate and re-extract the cached org

The parent generates an organisation (fakes.generator), serves it with the fake API (rate limit
10**9) and extracts it with the real extractor (`run_extract`, in a child) into a raw warehouse
cached under bench/out/ by the spec (a re-run skips generation and extraction; `--rebuild` after
changing the generator or the extractor). Then each side runs in its own child on its own copy
of that warehouse, so each peak RSS (VmHWM) is that side's alone:

- dbt: `fourkeys.pipeline.run_transform` (dbt build via dbtRunner: seeds, models, tests, unit
  tests; then the marts are published into `main`);
- direct: the SQL dbt ran, `target/run/**/*.sql` of the dbt side, executed with the duckdb Python
  API in the manifest's DAG order (the `__dbt_tmp` relation a table/view is built as is named
  as the final one; seeds are loaded with read_csv and the seed's column types).

Targets: dbt build time / direct time ≤ 1.5, and the whole transform ≤ 60 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import graphlib
import hashlib
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project importable without install
    sys.path.insert(0, str(ROOT))

from bench.extract_budget import peak_rss_mib  # noqa: E402  (after the sys.path fix)

log = logging.getLogger("bench.transform")

OUT = ROOT / "bench" / "out"
CACHE_VERSION = 1  # bump when the cached files change shape
DUMMY_TOKEN = "bench-dummy-token-the-fake-accepts-any"
DUMMY_HEROKU = "heroku-bench-dummy-0123456789abcdef"
NOWHERE = "http://127.0.0.1:9"  # transform sides never call an API
TARGET_RATIO = 1.5
TARGET_SECONDS = 60.0
SCALE_PRS = 100_000
SCALE_DEPLOYMENTS = 20_000
_TMP_SUFFIX = re.compile(r'__dbt_tmp"')


# --- the organisation and its cached raw warehouse -----------------------------------------


def org_spec(args: argparse.Namespace) -> Any:
    from fakes.generator import OrgSpec

    if args.quick:
        return OrgSpec(teams=2, services_per_team=5, months=2, prs_per_service_per_week=12.0,
                       seed=args.seed)
    return OrgSpec(teams=args.teams, services_per_team=args.services_per_team,
                   months=args.months, prs_per_service_per_week=args.prs_per_week,
                   seed=args.seed)


def cache_dir(spec: Any) -> Path:
    fields = json.dumps(dataclasses.asdict(spec), sort_keys=True, default=str)
    key = hashlib.sha256(f"{CACHE_VERSION}|{fields}".encode()).hexdigest()[:10]
    return OUT / (f"transform-{spec.teams}x{spec.services_per_team}-{spec.months}m-"
                  f"{spec.prs_per_service_per_week:g}pw-s{spec.seed}-{key}")


def write_config(spec: Any, directory: Path, api_url: str = NOWHERE) -> Path:
    from fakes.gen_config import config_toml
    from fakes.generator import plan

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "fourkeys.toml"
    path.write_text(config_toml(plan(spec).services, github_api_url=api_url,
                                heroku_api_url=f"{api_url}/heroku",
                                warehouse_path=str(directory / "fourkeys.duckdb")),
                    encoding="utf-8")
    return path


def raw_warehouse(spec: Any, rebuild: bool, env: dict[str, str], log_level: str) -> Path:
    """The extracted raw warehouse for `spec`: from the cache, else generated and extracted."""
    cache = cache_dir(spec)
    raw, meta = cache / "raw.duckdb", cache / "meta.json"
    if raw.is_file() and meta.is_file() and not rebuild:
        log.info("cached raw warehouse: %s", raw)
        return cache
    from fakes.generator import generate
    from fakes.scenario import load_scenario
    from fakes.server import create_app, serve_in_thread

    started = time.perf_counter()
    org = generate(spec)
    scenario = load_scenario(org.scenario)
    prs = sum(len(r.pull_requests) for r in scenario.repositories)
    log.info("generated %d repositories, %d PRs in %.1fs", len(scenario.repositories), prs,
             time.perf_counter() - started)
    build = cache / "extract"
    shutil.rmtree(build, ignore_errors=True)
    with serve_in_thread(create_app(scenario, rate_limit=10**9)) as server:
        config = write_config(spec, build, server.base_url)
        del org, scenario  # the server holds what it serves
        extracted = run_child("extract", ["--side", "extract", "--config", str(config)], env,
                              log_level)
    build.joinpath("fourkeys.duckdb").replace(raw)
    meta.write_text(json.dumps({"spec": dataclasses.asdict(spec), "prs": prs,
                                "extract": extracted}, indent=2, default=str), encoding="utf-8")
    shutil.rmtree(build, ignore_errors=True)
    return cache


def side_extract(config_path: str) -> dict[str, Any]:
    from extractors.tables import ALL_TABLES
    from fourkeys.config import load_config
    from fourkeys.pipeline import open_warehouse, run_extract

    config = load_config(config_path)
    started = time.perf_counter()
    summary = run_extract(config)
    warehouse = open_warehouse(config)  # every raw table, as `fourkeys transform` makes sure
    try:
        warehouse.ensure_tables(ALL_TABLES)
    finally:
        warehouse.close()
    return {"seconds": time.perf_counter() - started, "rows": sum(summary.rows.values()),
            "rows_by_table": dict(sorted(summary.rows.items())),
            "peak_rss_mib": peak_rss_mib()}


# --- side: dbt ------------------------------------------------------------------------------


def side_dbt(config_path: str, as_of: str) -> dict[str, Any]:
    from fourkeys.config import load_config
    from fourkeys.pipeline import run_transform

    config = load_config(config_path)
    started = time.perf_counter()
    summary = run_transform(config, as_of=date.fromisoformat(as_of))
    whole = time.perf_counter() - started
    target = config.warehouse_path().resolve().parent / "dbt" / "target"
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
    nodes = {r["unique_id"]: r["execution_time"] for r in results["results"]}
    return {"build_seconds": summary.seconds, "transform_seconds": whole,
            "execute_seconds": results["elapsed_time"],
            "models": summary.models, "tests": summary.tests,
            "node_seconds": nodes, "target": str(target), "peak_rss_mib": peak_rss_mib()}


# --- side: the same SQL, directly in DuckDB -------------------------------------------------


def run_file(target: Path, node: dict[str, Any]) -> Path | None:
    """Where dbt wrote the SQL it ran for `node` (models: the file itself; tests and unit
    tests: under a folder named after the .yml that declares them)."""
    base = target / "run" / node["package_name"] / node["original_file_path"]
    if base.is_file():
        return base
    if base.is_dir():
        if (base / node["path"]).is_file():
            return base / node["path"]
        found = sorted(base.rglob(f"{node['name']}.sql"))
        if found:
            return found[0]
    return None


def dag_order(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Seeds, models, tests and unit tests of the manifest, dependencies first."""
    nodes = {k: n for k, n in manifest["nodes"].items()
             if n["resource_type"] in ("seed", "model", "test")}
    nodes.update(manifest.get("unit_tests") or {})
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for uid in sorted(nodes):
        needs = (nodes[uid].get("depends_on") or {}).get("nodes") or []
        sorter.add(uid, *sorted(d for d in needs if d in nodes))
    return [nodes[uid] | {"unique_id": uid} for uid in sorter.static_order()]


def side_direct(warehouse: str, target_dir: str) -> dict[str, Any]:
    import duckdb

    target = Path(target_dir)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    plan: list[tuple[dict[str, Any], str]] = []
    claimed: set[Path] = set()
    for node in dag_order(manifest):
        if node["resource_type"] == "seed":
            plan.append((node, seed_sql(node)))
            continue
        path = run_file(target, node)
        if path is None:
            if node.get("config", {}).get("materialized") != "ephemeral":
                log.warning("no run SQL for %s: not executed", node["unique_id"])
            continue
        claimed.add(path)
        plan.append((node, _TMP_SUFFIX.sub('"', path.read_text(encoding="utf-8"))))
    for stray in sorted(set((target / "run").rglob("*.sql")) - claimed):
        log.warning("run SQL of no manifest node, not executed: %s", stray)
    schemas = sorted({(n["database"], n["schema"]) for n, _ in plan
                      if n["resource_type"] in ("seed", "model")})

    node_seconds: dict[str, float] = {}
    failing: list[str] = []
    started = time.perf_counter()
    con = duckdb.connect(warehouse)
    try:
        for database, schema in schemas:
            con.execute(f'create schema if not exists "{database}"."{schema}"')
        for node, sql in plan:
            t0 = time.perf_counter()
            cursor = con.execute(sql)
            if node["resource_type"] in ("test", "unit_test"):
                rows = cursor.fetchall()  # a test's result, an actual/expected union
                if node["resource_type"] == "test" and rows and rows[0][0]:
                    failing.append(f"{node['name']}: {rows[0][0]} failing rows")
            node_seconds[node["unique_id"]] = time.perf_counter() - t0
            log.debug("%s %.2fs", node["unique_id"], node_seconds[node["unique_id"]])
    finally:
        con.close()
    return {"seconds": time.perf_counter() - started, "statements": len(plan),
            "node_seconds": node_seconds, "failing_tests": failing,
            "peak_rss_mib": peak_rss_mib()}


def seed_sql(node: dict[str, Any]) -> str:
    csv = Path(node["root_path"]) / node["original_file_path"]
    types = node["config"].get("column_types") or {}
    typed = ", ".join(f"'{k}': '{v}'" for k, v in sorted(types.items()))
    return (f'create table "{node["database"]}"."{node["schema"]}"."{node["alias"]}" as '
            f"select * from read_csv('{csv}', header = true, types = {{{typed}}})")


# --- parent ---------------------------------------------------------------------------------


def run_child(label: str, side_args: list[str], env: dict[str, str],
              log_level: str) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--log-level", log_level, *side_args]
    log.info("%s: %s", label, " ".join(side_args))
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{label}: child exited with {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = time.perf_counter() - started
    log.info("%s: done in %.1fs", label, result["wall_seconds"])
    return result


def mart_counts(warehouse: Path, schema: str) -> dict[str, int]:
    import duckdb

    from fourkeys.transform import MARTS

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        counts: dict[str, int] = {}
        for mart in MARTS:
            row = con.execute(f'select count(*) from "{schema}"."{mart}"').fetchone()
            counts[mart] = int(row[0]) if row else 0
        return counts
    finally:
        con.close()


def one_round(spec: Any, cache: Path, env: dict[str, str], log_level: str,
              label: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, int]]]:
    """Both sides once, each on a fresh copy of the raw warehouse (same file name: dbt's SQL
    names the catalog after it). The copies stay under runs/ until the next round, to look at."""
    runs = cache / "runs"
    # dbt's parse cache survives between rounds, as <warehouse dir>/dbt/target does between
    # daily runs: the first round parses from scratch (cold), the next ones re-use it (warm)
    parse_cache = runs / "dbt" / "dbt" / "target" / "partial_parse.msgpack"
    kept = cache / "partial_parse.msgpack"
    if parse_cache.exists():
        shutil.copyfile(parse_cache, kept)
    shutil.rmtree(runs, ignore_errors=True)
    sides = {name: runs / name for name in ("dbt", "direct")}
    for directory in sides.values():
        directory.mkdir(parents=True)
        shutil.copyfile(cache / "raw.duckdb", directory / "fourkeys.duckdb")
    if kept.exists():
        parse_cache.parent.mkdir(parents=True)
        shutil.copyfile(kept, parse_cache)
    config = write_config(spec, sides["dbt"])
    as_of = spec.now.date().isoformat()
    dbt = run_child(f"dbt build{label}",
                    ["--side", "dbt", "--config", str(config), "--as-of", as_of],
                    env, log_level)
    direct = run_child(f"direct SQL{label}",
                       ["--side", "direct", "--warehouse", str(sides["direct"] / "fourkeys.duckdb"),
                        "--target", dbt["target"]], env, log_level)
    counts = {"dbt": mart_counts(sides["dbt"] / "fourkeys.duckdb", "main"),
              "direct": mart_counts(sides["direct"] / "fourkeys.duckdb", "main_marts")}
    return dbt, direct, counts


def summarise(rounds: list[dict[str, Any]], seconds_keys: tuple[str, ...]) -> dict[str, Any]:
    """Median (and range) of each timing over the rounds, median time per node, max peak RSS."""
    out: dict[str, Any] = {k: v for k, v in rounds[-1].items() if k != "node_seconds"}
    for key in seconds_keys:
        values = [r[key] for r in rounds]
        out[key] = statistics.median(values)
        out[f"{key}_range"] = (min(values), max(values))
    nodes = {uid for r in rounds for uid in r["node_seconds"]}
    out["node_seconds"] = {uid: statistics.median(r["node_seconds"][uid] for r in rounds
                                                  if uid in r["node_seconds"])
                           for uid in nodes}
    out["peak_rss_mib"] = max(r["peak_rss_mib"] for r in rounds)
    return out


def measure(args: argparse.Namespace) -> dict[str, Any]:
    spec = org_spec(args)
    # the dbt side's run_results.json and manifest.json are read below
    env = {**os.environ, "GITHUB_TOKEN": DUMMY_TOKEN, "HEROKU_API_KEY": DUMMY_HEROKU,
           "DO_NOT_TRACK": "1", "FOURKEYS_DBT_ARTIFACTS": "1"}
    cache = raw_warehouse(spec, args.rebuild, env, args.log_level)
    meta = json.loads((cache / "meta.json").read_text(encoding="utf-8"))
    dbt_rounds: list[dict[str, Any]] = []
    direct_rounds: list[dict[str, Any]] = []
    counts: dict[str, dict[str, int]] = {}
    (cache / "partial_parse.msgpack").unlink(missing_ok=True)  # round 1 parses from scratch
    for n in range(1, args.repeat + 1):
        label = f" ({n}/{args.repeat})" if args.repeat > 1 else ""
        dbt, direct, counts = one_round(spec, cache, env, args.log_level, label)
        dbt_rounds.append(dbt)
        direct_rounds.append(direct)
    # the daily run re-uses dbt's parse: with more than one round, time the warm ones
    warm = dbt_rounds[1:] or dbt_rounds
    return {"spec": meta["spec"], "prs": meta["prs"], "extract": meta["extract"],
            "cache": str(cache), "repeat": args.repeat,
            "cold_build_seconds": dbt_rounds[0]["build_seconds"], "warm_rounds": len(warm),
            "dbt": summarise(warm, ("build_seconds", "transform_seconds",
                                    "execute_seconds")),
            "direct": summarise(direct_rounds, ("seconds",)),
            "rounds": {"dbt": dbt_rounds, "direct": direct_rounds}, "marts": counts}


def report(m: dict[str, Any], top: int) -> None:
    dbt, direct, marts = m["dbt"], m["direct"], m["marts"]
    s = m["spec"]
    deployments = marts["dbt"].get("fct_deployments", 0)
    ratio = dbt["build_seconds"] / direct["seconds"] if direct["seconds"] else float("inf")
    print(f"Transform: {s['teams'] * s['services_per_team']} services ({s['teams']} teams), "
          f"{s['months']} months, {s['prs_per_service_per_week']:g} PRs/service/week, seed "
          f"{s['seed']}: {m['prs']:,} PRs, {deployments:,} deployments")
    print(f"raw warehouse: {m['extract']['rows']:,} rows extracted (cached: {m['cache']})")
    print(f"seconds: median of {m['repeat']} rounds (min-max); dbt: of the {m['warm_rounds']} "
          "after the first, which re-use dbt's parse as a daily run does; peak RSS: the largest")
    print()
    head = f"{'side':<38} {'seconds':>8} {'min-max':>12} {'peak RSS MiB':>13}"
    print(head)
    print("-" * len(head))

    def row(label: str, side: dict[str, Any], key: str, rss: bool = False) -> None:
        low, high = side[f"{key}_range"]
        mem = f"{side['peak_rss_mib']:>13.0f}" if rss else ""
        print(f"{label:<38} {side[key]:>8.1f} {f'{low:.1f}-{high:.1f}':>12} {mem}".rstrip())

    row("dbt build (run_transform, in-process)", dbt, "build_seconds", rss=True)
    print(f"{'  first run (parses from scratch)':<38} {m['cold_build_seconds']:>8.1f}")
    row("  whole transform (+ publish, _runs)", dbt, "transform_seconds")
    row("  dbt executing nodes (run_results)", dbt, "execute_seconds")
    print(f"{'  sum of dbt node times (2 threads)':<38} "
          f"{sum(dbt['node_seconds'].values()):>8.1f}")
    row("same SQL directly in DuckDB", direct, "seconds", rss=True)
    print(f"dbt: {dbt['models']} models/seeds, {dbt['tests']} tests; direct: "
          f"{direct['statements']} statements")
    print()
    print(f"ratio dbt build / direct SQL: {ratio:.2f}")

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    print(f"{verdict(ratio <= TARGET_RATIO)}  dbt build {ratio:.2f}x the direct SQL time "
          f"(target ≤ {TARGET_RATIO:g})")
    print(f"{verdict(dbt['transform_seconds'] <= TARGET_SECONDS)}  whole transform "
          f"{dbt['transform_seconds']:.1f}s (target ≤ {TARGET_SECONDS:g}s)")
    print(f"{verdict(m['prs'] >= SCALE_PRS and deployments >= SCALE_DEPLOYMENTS)}  scale: "
          f"{m['prs']:,} PRs, {deployments:,} deployments (bench needs ≥ {SCALE_PRS:,} and "
          f"≥ {SCALE_DEPLOYMENTS:,})")
    if direct["failing_tests"]:
        print("direct SQL: tests with failing rows: " + "; ".join(direct["failing_tests"]))
    print()
    print(f"{'mart':<18} {'rows (dbt)':>12} {'rows (direct)':>14}")
    for name, rows in marts["dbt"].items():
        other = marts["direct"].get(name)
        flag = "" if other == rows else "  DIFFERENT"
        shown = f"{other:,}" if other is not None else "-"
        print(f"{name:<18} {rows:>12,} {shown:>14}{flag}")
    print()
    print(f"slowest {top} nodes (seconds, dbt / direct):")
    slow = sorted(dbt["node_seconds"], key=lambda k: -dbt["node_seconds"][k])[:top]
    for uid in slow:
        other = direct["node_seconds"].get(uid)
        shown = f"{other:7.2f}" if other is not None else f"{'-':>7}"
        print(f"  {dbt['node_seconds'][uid]:7.2f} {shown}  {uid}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--teams", type=int, default=25)
    parser.add_argument("--services-per-team", type=int, default=4)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--prs-per-week", type=float, default=40.0,
                        help="PRs per service per week")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="smoke run: 10 services, 2 months")
    parser.add_argument("--rebuild", action="store_true",
                        help="regenerate and re-extract even if the raw warehouse is cached")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of both sides; timings are medians (default 3)")
    parser.add_argument("--top", type=int, default=8, help="slowest nodes to list")
    parser.add_argument("--json", action="store_true", help="also print the raw figures as JSON")
    parser.add_argument("--log-level", default="INFO")
    # internal: one side in a child process
    parser.add_argument("--side", choices=("extract", "dbt", "direct"), help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--as-of", help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    if args.side == "extract":
        print(json.dumps(side_extract(args.config)))
        return 0
    if args.side == "dbt":
        print(json.dumps(side_dbt(args.config, args.as_of)))
        return 0
    if args.side == "direct":
        print(json.dumps(side_direct(args.warehouse, args.target)))
        return 0
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    measured = measure(args)
    report(measured, args.top)
    if args.json:
        print(json.dumps(measured, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
