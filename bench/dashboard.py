"""Dashboard: time to render each page in AppTest on marts at scale, first and cached.

    .venv/bin/python bench/dashboard.py              # 40 teams, 400 services, 2 years
    .venv/bin/python bench/dashboard.py --quick      # smoke: 4 teams, 20 services
    .venv/bin/python bench/dashboard.py --rebuild    # re-synthesise the cached published file

The published file (≥ 1,000,000 changes, ≥ 100,000 deployments) is synthesised by a child
process (bench/dashboard_data.py: schema copied from a real `fourkeys run`, facts by seeded SQL,
aggregates by the project's dbt models) and cached under bench/out/ by its spec and end day.

Each page of the app (`app/streamlit_app.py`'s `st.navigation`) with the default filters, plus
the organisation over the whole history and the drill-down into every change of the window, is
rendered with `streamlit.testing.v1.AppTest` on that file:
- first: Streamlit's caches cleared just before the page's run (`st.cache_data` and
  `st.cache_resource`: the connection is re-opened and every query runs), one render;
- cached: a new session (a new AppTest) renders the page again in the same process; the median
  of `--repeat` renders.
A non-default page is reached as a user does: the default page is rendered (not timed), then
`switch_page` and the timed run. Every call of the data module's `_frame` (one SQL query, or a
cache hit) is timed; the largest query is the slowest call during the first renders.
Targets: every page ≤ 1 s cached, ≤ 3 s first.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project importable without install
    sys.path.insert(0, str(ROOT))

from bench.dashboard_data import DashboardSpec  # noqa: E402  (after the sys.path fix)

log = logging.getLogger("bench.dashboard")

OUT = ROOT / "bench" / "out"
CACHE_VERSION = 1  # bump when the synthetic file changes shape
APP = ROOT / "app" / "streamlit_app.py"
TARGET_FIRST = 3.0
TARGET_CACHED = 1.0
SCALE_CHANGES = 1_000_000
SCALE_DEPLOYMENTS = 100_000
_PAGE = re.compile(r"""st\.Page\(\s*["']([^"']+\.py)["']""")


# --- the synthetic published file (cached) --------------------------------------------------


def spec_of(args: argparse.Namespace) -> DashboardSpec:
    as_of = date.fromisoformat(args.as_of) if args.as_of else datetime.now(UTC).date()
    if args.quick:
        return DashboardSpec(teams=4, services=20, days=365, deployments=3_000, changes=30_000,
                             seed=args.seed, as_of=as_of)
    return DashboardSpec(teams=args.teams, services=args.services, days=args.days,
                         deployments=args.deployments, changes=args.changes, seed=args.seed,
                         as_of=as_of)


def cache_dir(spec: DashboardSpec) -> Path:
    return OUT / f"dashboard-v{CACHE_VERSION}-{spec.key()}"


def published_file(spec: DashboardSpec, rebuild: bool,
                   log_level: str) -> tuple[Path, dict[str, Any]]:
    directory = cache_dir(spec)
    target, meta = directory / "fourkeys.published.duckdb", directory / "meta.json"
    if target.is_file() and meta.is_file() and not rebuild:
        log.info("cached synthetic published file: %s", target)
        return target, json.loads(meta.read_text(encoding="utf-8"))
    # a rebuild re-runs the reference `fourkeys run` too: its schema is the one copied
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--log-level", log_level,
           "--side", "synth", "--spec", json.dumps(asdict(spec), default=str),
           "--target", str(target)]
    log.info("synthesising the published file (child process)")
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False,
                          env={**os.environ, "DO_NOT_TRACK": "1"})
    if done.returncode != 0:
        raise SystemExit(f"synthesis: child exited with {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    meta.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return target, result


def side_synth(spec_json: str, target: str) -> dict[str, Any]:
    from bench.dashboard_data import synthesise

    fields = json.loads(spec_json)
    spec = DashboardSpec(**(fields | {"as_of": date.fromisoformat(fields["as_of"])}))
    work = Path(target).parent
    result = synthesise(Path(target), spec, work)
    shutil.rmtree(work / "build", ignore_errors=True)  # the published file is what we keep
    return result | {"spec": json.loads(spec_json)}


# --- rendering pages in AppTest -------------------------------------------------------------


def app_pages() -> list[str]:
    """The pages `st.navigation` registers, in the order the app declares them."""
    pages = _PAGE.findall(APP.read_text(encoding="utf-8"))
    if not pages:
        raise SystemExit(f"{APP}: no st.Page(\"...\") found")
    return list(dict.fromkeys(pages))


@dataclass
class QueryTimer:
    """Times every call of the data module's `_frame` (one query, or a cache hit)."""

    calls: list[tuple[float, str, str]] = field(default_factory=list)  # seconds, caller, sql
    recording: bool = False

    def install(self) -> None:
        import inspect

        from app import data

        original: Callable[..., Any] = data._frame

        def timed(sql: str, params: tuple[Any, ...] = ()) -> Any:
            started = time.perf_counter()
            try:
                return original(sql, params)
            finally:
                if self.recording:
                    self.calls.append((time.perf_counter() - started,
                                       describe_call(inspect.stack()[1].frame),
                                       " ".join(sql.split())))

        data._frame = timed  # type: ignore[assignment]


def describe_call(frame: Any) -> str:
    """`drill_rows(kind='changes', window=2026-09-06..2026-11-29, team=None, ...)`"""
    import inspect

    info = inspect.getargvalues(frame)
    shown = []
    for name in info.args:
        value = info.locals.get(name)
        if hasattr(value, "start") and hasattr(value, "end"):
            shown.append(f"{name}={value.start}..{value.end}")
        else:
            shown.append(f"{name}={value!r}")
    return f"{frame.f_code.co_name}({', '.join(shown)})"


@dataclass
class PageTiming:
    page: str
    first: float
    cached: list[float]
    errors: list[str]
    largest_query: tuple[float, str, str] | None

    @property
    def cached_median(self) -> float:
        return statistics.median(self.cached)


def clear_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


@dataclass(frozen=True)
class Variant:
    """A page as a user opens it: the page file and the widget values set before the run."""

    label: str
    page: str
    state: dict[str, Any] = field(default_factory=dict)


def variants(pages: list[str], spec: dict[str, Any]) -> list[Variant]:
    """Every page with the default filters, plus the heaviest views: the organisation over
    the whole history, and the drill-down into every change of the window."""
    out = [Variant(Path(page).stem, page) for page in pages]
    as_of = date.fromisoformat(spec["as_of"])
    whole = (as_of - timedelta(days=spec["days"]), as_of - timedelta(days=1))
    out.insert(1, Variant("organisation, whole history", pages[0], {"date_range": whole}))
    drill = next((p for p in pages if "drill" in p), None)
    if drill:
        out.insert(out.index(Variant(Path(drill).stem, drill)) + 1,
                   Variant("drill_down, changes", drill, {"rows": "changes"}))
    return out


def render(variant: Variant, default_page: str, timer: QueryTimer, *, cold: bool,
           timeout: float) -> tuple[float, list[str]]:
    """A new session opens the page (the default page first when it is another, untimed):
    the seconds of the page's own run, and its exceptions. `cold` clears Streamlit's caches
    just before that run."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=timeout)
    for key, value in variant.state.items():
        at.session_state[key] = value
    if variant.page != default_page:
        at.run()
        at.switch_page(variant.page)
    if cold:
        clear_caches()
    timer.recording = True
    started = time.perf_counter()
    try:
        at.run()
    finally:
        seconds = time.perf_counter() - started
        timer.recording = False
    errors = [str(e.value)[:300] for e in at.exception]
    errors += [f"error element: {e.value}"[:300] for e in at.error]
    return seconds, errors


def measure_pages(published: Path, spec: dict[str, Any], repeat: int,
                  timeout: float) -> list[PageTiming]:
    # Streamlit outside `streamlit run` warns about its missing runtime on every cache call
    for name in ("streamlit.runtime.scriptrunner_utils.script_run_context",
                 "streamlit.runtime.caching.cache_data_api"):
        logging.getLogger(name).addFilter(lambda record: record.levelno >= logging.ERROR)
    pages = app_pages()
    timer = QueryTimer()
    timer.install()
    # warm-up: imports and the first script compile, on a file that does not exist (the
    # app's "no published marts" page), so that the first timed render is cold in its data only
    os.environ["FOURKEYS_PUBLISHED"] = str(published.with_name("missing.duckdb"))
    render(Variant("warm-up", pages[0]), pages[0], timer, cold=True, timeout=timeout)
    os.environ["FOURKEYS_PUBLISHED"] = str(published)
    timings: list[PageTiming] = []
    for variant in variants(pages, spec):
        timer.calls.clear()
        first, errors = render(variant, pages[0], timer, cold=True, timeout=timeout)
        largest = max(timer.calls, default=None)
        cached: list[float] = []
        for _ in range(repeat):
            seconds, more = render(variant, pages[0], timer, cold=False, timeout=timeout)
            cached.append(seconds)
            errors += more
        timings.append(PageTiming(variant.label, first, cached, sorted(set(errors)), largest))
        log.info("%s: first %.2fs, cached %.2fs", variant.label, first,
                 statistics.median(cached))
    return timings


# --- report ---------------------------------------------------------------------------------


def report(meta: dict[str, Any], published: Path, timings: list[PageTiming],
           repeat: int) -> None:
    counts = meta["counts"]
    spec = meta["spec"]
    print(f"Dashboard: {counts['dim_teams']} teams, {counts['dim_services']} services, "
          f"{spec['days']} days to {spec['as_of']}: {counts['fct_changes']:,} changes, "
          f"{counts['fct_deployments']:,} deployments, {counts['fct_incidents']:,} incidents")
    print(f"published file: {published.stat().st_size / 2**20:.0f} MiB (cached: {published})")
    print(f"marts: {counts['metrics_daily']:,} metrics_daily rows, "
          f"{counts['metrics_weekly']:,} metrics_weekly, {counts['dora_summary']:,} dora_summary")
    print(f"first: caches cleared, one render; cached: a new session, median of {repeat}")
    print()
    head = f"{'page':<28} {'first s':>8} {'cached s':>9}  largest query (first render)"
    print(head)
    print("-" * len(head))
    for t in timings:
        query = (f"{t.largest_query[0]:.2f}s {t.largest_query[1].split('(')[0]}"
                 if t.largest_query else "-")
        print(f"{t.page:<28} {t.first:>8.2f} {t.cached_median:>9.2f}  {query}")
    largest = max((t.largest_query for t in timings if t.largest_query), default=None)
    print()
    if largest:
        print(f"largest query: {largest[0]:.2f}s, {largest[1]}")
        print(f"  {largest[2][:300]}{' ...' if len(largest[2]) > 300 else ''}")

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    worst_first = max(timings, key=lambda t: t.first)
    worst_cached = max(timings, key=lambda t: t.cached_median)
    print(f"{verdict(worst_first.first <= TARGET_FIRST)}  every page first ≤ "
          f"{TARGET_FIRST:g}s (slowest: {worst_first.page}, {worst_first.first:.2f}s)")
    print(f"{verdict(worst_cached.cached_median <= TARGET_CACHED)}  every page cached ≤ "
          f"{TARGET_CACHED:g}s (slowest: {worst_cached.page}, {worst_cached.cached_median:.2f}s)")
    at_scale = (counts["fct_changes"] >= SCALE_CHANGES
                and counts["fct_deployments"] >= SCALE_DEPLOYMENTS)
    print(f"{verdict(at_scale)}  scale: {counts['fct_changes']:,} changes, "
          f"{counts['fct_deployments']:,} deployments (bench needs ≥ {SCALE_CHANGES:,} and "
          f"≥ {SCALE_DEPLOYMENTS:,})")
    errors = [(t.page, e) for t in timings for e in t.errors]
    for page, error in errors:
        print(f"ERROR  {page}: {error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--teams", type=int, default=40)
    parser.add_argument("--services", type=int, default=400)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--deployments", type=int, default=130_000, help="target total")
    parser.add_argument("--changes", type=int, default=1_200_000, help="target total")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", help="the window's end day (exclusive; default: today UTC)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 services, 1 year")
    parser.add_argument("--rebuild", action="store_true",
                        help="re-synthesise even if the published file is cached")
    parser.add_argument("--repeat", type=int, default=3, help="cached renders per page")
    parser.add_argument("--timeout", type=float, default=120.0, help="AppTest run timeout, s")
    parser.add_argument("--json", action="store_true", help="also print the raw figures as JSON")
    parser.add_argument("--log-level", default="INFO")
    # internal: the synthesis in a child process (dbt runs in-process there)
    parser.add_argument("--side", choices=("synth",), help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    if args.side == "synth":
        print(json.dumps(side_synth(args.spec, args.target)))
        return 0
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    spec = spec_of(args)
    published, meta = published_file(spec, args.rebuild, args.log_level)
    timings = measure_pages(published, meta["spec"], args.repeat, args.timeout)
    report(meta, published, timings, args.repeat)
    if args.json:
        print(json.dumps({"meta": meta, "pages": [asdict(t) for t in timings]}, indent=2,
                         default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
