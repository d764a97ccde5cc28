"""False positives and detection of the "request_errors" failure signal, by the real dbt model.

    .venv/bin/python bench/request_signal.py                 # seed 7: 20 services x 20 deployments
    .venv/bin/python bench/request_signal.py --seed 11 --workdir /tmp/rs   # keeps the warehouse

Generates per-minute request and 5xx counts for 20 services over 14 days, realistic rather
than textbook: Poisson request counts with extra (gamma) variation, a peak rate per service
between 3 and 300 requests a minute, a diurnal curve (a fifth of the peak at 04:00 UTC, the
peak at 16:00) and quieter weekends; a baseline 5xx ratio per service between 0.5% and 2%
that itself varies minute to minute (gamma, shape 3: errors come in clumps); and short error
blips unrelated to any deployment (about one per service every three days, 1-5 minutes at
5-30%). Deployments: 20 per service in working hours, a tenth of them 3-20 minutes after the
previous one (follow-ups, whose windows are cut short).

The same deployments and traffic are written once with noise only and once per spike size:
every second deployment of a service (the 2nd, 4th, ...) is bad, adding +1, +2, +3, +5 or +10
points of 5xx ratio from it until the next deployment (the fix) or for 60 minutes; each
scenario as its own set of services, into `raw_request_counts` of a fresh
DuckDB warehouse, with the deployments as `int_deployments`. Then `dbt run --select
stg_requests__minute_counts int_deployment_request_signal` runs THE project's model (the
defaults: 30-minute windows, p < 0.01, margin 0.02, 50 requests) and its `is_degraded` is read
back. A sample of deployments is re-derived in Python (windows, counts, z) as a check that the
figures come from the model's intended rule. Prints the false-positive rate (noise only), the
detection rate per spike size (among the bad deployments), how often a good deployment that
follows a bad one was flagged, and the share of deployments with a verdict.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project importable without install
    sys.path.insert(0, str(ROOT))

log = logging.getLogger("bench.request_signal")

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
SIZES = (0.01, 0.02, 0.03, 0.05, 0.10)
SPIKE_MINUTES = 60  # a bad deployment's extra errors last until the next one, at most this
FPR_TARGET = 0.01


@dataclass(frozen=True)
class Service:
    name: str
    peak_rate: float  # requests a minute at the daily peak
    error_ratio: float  # baseline 5xx ratio
    seed: int


def make_services(rng: np.random.Generator, count: int) -> list[Service]:
    return [Service(f"s{i:02d}", float(math.exp(rng.uniform(math.log(3), math.log(300)))),
                    float(rng.uniform(0.005, 0.02)), int(rng.integers(1 << 31)))
            for i in range(count)]


def make_deployments(rng: np.random.Generator, per_service: int, days: int) -> list[int]:
    """Minute indexes from START: weekdays 08:00-18:00 UTC; a tenth follow up 3-20 minutes."""
    working = [d * 1440 + m for d in range(days) if (START + timedelta(days=d)).weekday() < 5
               for m in range(8 * 60, 18 * 60)]
    chosen: list[int] = []
    while len(chosen) < per_service:
        if chosen and rng.random() < 0.1:
            chosen.append(int(rng.choice(chosen)) + int(rng.integers(3, 21)))
        else:
            chosen.append(int(rng.choice(working)))
        chosen = sorted(set(chosen))
    return chosen


def is_bad(index: int) -> bool:
    """In a spike scenario, every second deployment of a service (0-based odd index)."""
    return index % 2 == 1


def traffic(service: Service, minutes: int, deployed: list[int],
            spike: float) -> tuple[np.ndarray, np.ndarray]:
    """(requests, 5xx) per minute; the same draws for every spike size but the 5xx ones."""
    rng = np.random.default_rng(service.seed)
    t = np.arange(minutes)
    hour = (t % 1440) / 60
    diurnal = 0.2 + 0.8 * (0.5 - 0.5 * np.cos(2 * np.pi * (hour - 4) / 24))
    weekend = np.where(((t // 1440) % 7) >= 5, 0.6, 1.0)
    rate = service.peak_rate * diurnal * weekend * rng.gamma(20, 1 / 20, minutes)
    requests = rng.poisson(rate)
    ratio = service.error_ratio * rng.gamma(3, 1 / 3, minutes)
    for _ in range(rng.poisson(minutes / (3 * 1440))):
        start = int(rng.integers(minutes))
        ratio[start:start + int(rng.integers(1, 6))] = rng.uniform(0.05, 0.30)
    if spike:
        for i, at in enumerate(deployed):
            if not is_bad(i):
                continue
            until = min(at + SPIKE_MINUTES, deployed[i + 1] if i + 1 < len(deployed) else minutes)
            ratio[at:until] += spike
    errors = rng.binomial(requests, np.clip(ratio, 0, 1))
    return requests, errors


def z_test(window: int, deployed: list[int], i: int, requests: np.ndarray,
           errors: np.ndarray) -> tuple[int, int, int, int, float | None]:
    """The model's windows and z, re-derived in Python for the check."""
    d = deployed[i]
    lo = max(d - window, deployed[i - 1] if i else d - window)
    hi = min(d + window, deployed[i + 1] if i + 1 < len(deployed) else d + window)
    nb, eb = int(requests[lo:d].sum()), int(errors[lo:d].sum())
    na, ea = int(requests[d:hi].sum()), int(errors[d:hi].sum())
    if not (nb and na):
        return nb, eb, na, ea, None
    pooled = (eb + ea) / (nb + na)
    if pooled in (0, 1):
        return nb, eb, na, ea, None
    z = (ea / na - eb / nb) / math.sqrt(pooled * (1 - pooled) * (1 / nb + 1 / na))
    return nb, eb, na, ea, z


def scenario_names() -> list[str]:
    return ["noise"] + [f"spike+{s:.2f}" for s in SIZES]


def write_warehouse(path: Path, services: list[Service], deployed: dict[str, list[int]],
                    days: int) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    from fourkeys.warehouse.duckdb import DuckDBWarehouse
    from incidents.tables import REQUEST_COUNTS

    warehouse = DuckDBWarehouse(path)
    warehouse.ensure_tables([REQUEST_COUNTS])
    warehouse.close()
    minutes = days * 1440
    stamps = np.datetime64(START.replace(tzinfo=None), "m") + np.arange(minutes)
    series: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists main_build")
    con.execute("create or replace table main_build.int_deployments (deployment_id varchar, "
                "service varchar, deployed_at timestamp, deployment_number bigint)")
    rng = np.random.default_rng(0)
    for scenario, spike in zip(scenario_names(), (0.0, *SIZES), strict=True):
        for service in services:
            requests, errors = traffic(service, minutes, deployed[service.name], spike)
            series[(scenario, service.name)] = (requests, errors)
            name = f"{scenario}:{service.name}"
            kept = requests > 0
            table = pa.table({
                "log_file": pa.array([f"/bench/{scenario}/{service.name}.log"] * int(kept.sum())),
                "service": pa.array([name] * int(kept.sum())),
                "minute": pa.array(stamps[kept].astype("datetime64[us]")),
                "requests": pa.array(requests[kept]), "errors": pa.array(errors[kept])})
            con.register("batch", table)
            con.execute("insert into raw_request_counts select log_file, service, "
                        "timezone('UTC', minute), requests, errors, now() from batch")
            con.unregister("batch")
            con.executemany("insert into main_build.int_deployments values (?, ?, ?, ?)", [
                [f"{name}/{n}", name, START.replace(tzinfo=None)
                 + timedelta(minutes=at, seconds=int(rng.integers(60))), n]
                for n, at in enumerate(deployed[service.name], 1)])
    con.close()
    return series


def run_model(path: Path) -> float:
    from fourkeys.config import Config, WarehouseConfig
    from fourkeys.transform import dbt_args, run_dbt

    config = Config(warehouse=WarehouseConfig(path=str(path)))
    started = time.monotonic()
    result = run_dbt([*dbt_args("run", config), "--select",
                      "stg_requests__minute_counts int_deployment_request_signal"], path)
    if not result.success:
        raise SystemExit(f"dbt run failed: {result.exception or result.result}")
    return time.monotonic() - started


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed)
    services = make_services(rng, args.services)
    deployed = {s.name: make_deployments(rng, args.deployments_per_service, args.days)
                for s in services}
    path = work / "request_signal.duckdb"
    path.unlink(missing_ok=True)
    log.info("writing %d scenarios x %d services x %d days of minutes", len(SIZES) + 1,
             len(services), args.days)
    series = write_warehouse(path, services, deployed, args.days)
    log.info("dbt run: stg_requests__minute_counts, int_deployment_request_signal")
    seconds = run_model(path)
    # not read_only: dbt-duckdb keeps the file open read-write in this process
    con = duckdb.connect(str(path))
    rows = con.execute(
        "select service, deployment_id, deployment_number, has_verdict, is_degraded, "
        "requests_before, errors_before, requests_after, errors_after, z_score "
        "from main_build.int_deployment_request_signal r join main_build.int_deployments d "
        "using (deployment_id, service)").fetchall()
    con.close()
    figures: dict[str, Any] = {"deployments_per_scenario": sum(map(len, deployed.values())),
                               "dbt_seconds": round(seconds, 1), "scenarios": {}}
    for scenario in scenario_names():
        ours = [r for r in rows if r[0].startswith(scenario + ":")]
        # noise: every deployment is good; spikes: the bad ones are judged for detection
        judged = [r for r in ours if scenario == "noise" or is_bad(r[2] - 1)]
        good = [r for r in ours if scenario != "noise" and not is_bad(r[2] - 1)]
        verdict = [r for r in judged if r[3]]
        figures["scenarios"][scenario] = {
            "judged": len(judged), "with_verdict": len(verdict),
            "flagged": sum(r[4] for r in judged),
            "rate": sum(r[4] for r in judged) / len(judged),
            "rate_among_verdicts": sum(r[4] for r in verdict) / max(len(verdict), 1),
            "good_flagged": sum(r[4] for r in good), "good": len(good)}
    # the check: windows, counts and z of a sample, re-derived in Python from the same arrays
    sample = [rows[i] for i in np.random.default_rng(1).choice(len(rows), 60, replace=False)]
    mismatches = 0
    for service, _, number, *_, nb, eb, na, ea, z in sample:
        scenario, name = service.split(":")
        requests, errors = series[(scenario, name)]
        want = z_test(30, deployed[name], number - 1, requests, errors)
        same_z = (z is None) == (want[4] is None) and (z is None or abs(z - want[4]) < 1e-9)
        mismatches += (nb, eb, na, ea) != want[:4] or not same_z
    figures["check"] = {"sampled": len(sample), "mismatches": mismatches}
    return figures


def report(figures: dict[str, Any]) -> None:
    out = [f"{figures['deployments_per_scenario']} deployments per scenario "
           f"(model run {figures['dbt_seconds']} s)", "",
           "| scenario | judged | with a verdict | flagged | rate | rate among verdicts "
           "| good ones flagged |",
           "|---|---|---|---|---|---|---|"]
    for name, s in figures["scenarios"].items():
        kind = "all, good" if name == "noise" else "bad ones"
        good = f"{s['good_flagged']} / {s['good']}" if s["good"] else "-"
        out.append(f"| {name} | {s['judged']} ({kind}) | {s['with_verdict']} | {s['flagged']} "
                   f"| {s['rate']:.1%} | {s['rate_among_verdicts']:.1%} | {good} |")
    fpr = figures["scenarios"]["noise"]["rate"]
    verdict = "PASS" if fpr <= FPR_TARGET else "MISS"
    check = figures["check"]
    out += ["", f"false-positive rate {fpr:.2%}: {verdict} against <= {FPR_TARGET:.0%}",
            f"python re-derivation of {check['sampled']} sampled deployments: "
            f"{check['mismatches']} mismatches"]
    print("\n".join(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--deployments-per-service", type=int, default=20)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--workdir", help="keep the warehouse here (default: a temporary dir)")
    parser.add_argument("--json", action="store_true", help="also print the raw figures")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.workdir:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
        figures = measure(args, Path(args.workdir).resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="fourkeys-request-signal-") as tmp:
            figures = measure(args, Path(tmp))
    report(figures)
    if args.json:
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
