"""What reading changed files costs (monorepos, docs/monorepos.md), per 1,000 pull requests.

    .venv/bin/python bench/monorepo_files.py            # 6 repositories, ~3,000 PRs, seed 7
    .venv/bin/python bench/monorepo_files.py --quick    # 2 repositories, ~500 PRs

Generates an organisation (fakes.generator), draws changed files on every commit (1-8 paths
under services/a, services/b, libs or docs; `--big-share` of the commits (default 1%) change
150 files, so some pull requests overflow the first page of 100 files),
serves it with the fake API and runs `fourkeys extract` twice on fresh warehouses: the
generated config as is, then with `paths = ["services/a/**"]` on every service (so every
repository reads files). The difference, per 1,000 PRs, is the price of files.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project importable without install
    sys.path.insert(0, str(ROOT))

log = logging.getLogger("bench.monorepo_files")
TOKEN = "bench-dummy-token-the-fake-accepts-any"
COMMIT_ROUTE = "GET /repos/{owner}/{repo}/commits/{ref}"
AREAS = ("services/a", "services/b", "services/b", "libs/common", "docs")


def draw_files(scenario: dict[str, Any], seed: int, big_share: float) -> None:
    """Give every commit of the scenario a deterministic list of changed paths."""
    for repo in scenario["repositories"]:
        for commit in repo["commits"]:
            rng = random.Random(f"{seed}:{commit['sha']}")
            count = 150 if rng.random() < big_share else rng.randint(1, 8)
            area = rng.choice(AREAS)
            commit["files"] = [f"{area}/m{i}_{commit['sha'][:6]}.py" for i in range(count)]


def with_paths(config: str) -> str:
    return re.sub(r'^(deployment_source = .*)$', r'\1\npaths = ["services/a/**"]', config,
                  flags=re.MULTILINE)


def extract(config_text: str, directory: Path, base_url: str) -> dict[str, Any]:
    directory.mkdir(parents=True)
    config = directory / "fourkeys.toml"
    config.write_text(config_text.replace("__WAREHOUSE__", str(directory / "w.duckdb")),
                      encoding="utf-8")
    httpx.post(f"{base_url}/_fake/stats/reset")
    done = subprocess.run([sys.executable, "-m", "fourkeys.cli", "extract", "--config",
                           str(config)], capture_output=True, text=True, cwd=str(ROOT),
                          env={**os.environ, "GITHUB_TOKEN": TOKEN, "HEROKU_API_KEY": TOKEN})
    if done.returncode != 0:
        raise SystemExit(f"extract failed: {done.stderr[-2000:]}")
    return httpx.get(f"{base_url}/_fake/stats").json()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--big-share", type=float, default=0.01,
                        help="share of commits that change 150 files (default 0.01)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from fakes.generator import OrgSpec, generate
    from fakes.scenario import load_scenario
    from fakes.server import create_app, serve_in_thread

    spec = OrgSpec(teams=1 if args.quick else 2, services_per_team=2 if args.quick else 3,
                   months=2 if args.quick else 3, prs_per_service_per_week=40.0, seed=args.seed,
                   deployment_sources=("github_deployments", "workflow_runs", "releases"))
    org = generate(spec)
    draw_files(org.scenario, args.seed, args.big_share)
    prs = sum(len(r["pull_requests"]) for r in org.scenario["repositories"])
    log.info("%d repositories, %d PRs", len(org.scenario["repositories"]), prs)
    with (serve_in_thread(create_app(load_scenario(org.scenario), rate_limit=10**9)) as server,
          tempfile.TemporaryDirectory(prefix="fourkeys-bench-") as tmp):
        config = org.config_toml(github_api_url=server.base_url,
                                 heroku_api_url=f"{server.base_url}/heroku",
                                 warehouse_path="__WAREHOUSE__")
        before = extract(config, Path(tmp) / "plain", server.base_url)
        after = extract(with_paths(config), Path(tmp) / "files", server.base_url)
    extra = {k: after["requests"][k] - before["requests"][k] for k in ("graphql", "rest")}
    points = after["graphql_points"] - before["graphql_points"]
    commit_calls = after["routes"].get(COMMIT_ROUTE, 0)
    per_1k = 1000 / prs
    print(f"{prs} PRs in {len(org.scenario['repositories'])} repositories")
    print(f"GraphQL requests: {before['requests']['graphql']} → {after['requests']['graphql']} "
          f"(+{extra['graphql']}, +{extra['graphql'] * per_1k:.1f} per 1,000 PRs)")
    print(f"GraphQL points:   {before['graphql_points']} → {after['graphql_points']} "
          f"(+{points}, +{points * per_1k:.1f} per 1,000 PRs)")
    print(f"REST requests:    {before['requests']['rest']} → {after['requests']['rest']} "
          f"(+{extra['rest']}, +{extra['rest'] * per_1k:.1f} per 1,000 PRs; "
          f"{commit_calls} commit-file pages)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
