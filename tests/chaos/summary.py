"""The chaos suite's counts at the end of a pytest run: trials, kills by stage, faults, cases.

Tests record what they did with `record_property("chaos.<name>", value)`; the values travel in
each report's `user_properties`, which pytest-xdist hands back from the workers, so this hook,
registered from the root `tests/conftest.py` (the one conftest the xdist controller loads),
sees every worker's reports.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

PREFIX = "chaos."


def chaos_counts(reports: list[Any]) -> tuple[Counter[str], Counter[str]]:
    """(numbers summed by name, kill landings counted by stage) over the call reports."""
    numbers: Counter[str] = Counter()
    landings: Counter[str] = Counter()
    for report in reports:
        if getattr(report, "when", None) != "call":
            continue
        for name, value in getattr(report, "user_properties", ()):
            if not name.startswith(PREFIX):
                continue
            name = name.removeprefix(PREFIX)
            if name == "landed":
                landings[str(value)] += 1
            else:
                numbers[name] += int(value)
    return numbers, landings


def summary_line(numbers: Counter[str], landings: Counter[str], seconds: float) -> str:
    stages = ", ".join(f"{stage} {count}" for stage, count in sorted(landings.items()))
    return (f"chaos: {numbers['sigkill_trials']} SIGKILL trials ({numbers['kills']} kills"
            f"{': ' + stages if stages else ''}), {numbers['faults']} injected faults, "
            f"{numbers['concurrent']} concurrent-run checks; {seconds:.0f}s of test time")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    # passed setups and teardowns are filed under "", failed ones under "error"
    reports = [r for kind in ("passed", "failed", "error", "")
               for r in terminalreporter.stats.get(kind, []) if hasattr(r, "when")]
    numbers, landings = chaos_counts(reports)
    if numbers or landings:
        # every phase: the first test on each worker pays for the baseline run in its setup
        seconds = sum(getattr(r, "duration", 0.0) for r in reports
                      if str(getattr(r, "nodeid", "")).startswith("tests/chaos/"))
        terminalreporter.write_line(summary_line(numbers, landings, seconds))
