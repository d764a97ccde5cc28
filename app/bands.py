"""DORA bands for any window, with the rules of the dbt seed `dora_bands` that dora_summary uses.

The published file holds no band table, so the seed CSV is read from the project
(`dbt_project/seeds/dora_bands.csv`). A value gets the best-ranked band whose bounds it meets
(rates `≤` where the row says so, durations `<`, frequencies `≥`); a band needs ≥ 10 deployments
in the window (≥ 5 incidents with a restore time for time to restore), else it is None with a
reason, exactly as dora_summary.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

SEED = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "dora_bands.csv"
DEFAULT_YEAR = 2024

# metric: (sample column, minimum, noun of the sample)
METRICS: dict[str, tuple[str, int, str]] = {
    "deployment_frequency": ("deployments", 10, "deployments"),
    "lead_time": ("deployments", 10, "deployments"),
    "change_failure_rate": ("deployments", 10, "deployments"),
    "time_to_restore": ("time_to_restore_sample", 5, "incidents with a restore time"),
}


@dataclass(frozen=True)
class BandRule:
    dora_year: int
    metric: str
    band: str
    band_rank: int
    measure: str
    min_value: float | None
    max_value: float | None
    max_inclusive: bool

    def admits(self, value: float | None) -> bool:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        if self.min_value is not None and value < self.min_value:
            return False
        if self.max_value is None:
            return True
        return value < self.max_value or (self.max_inclusive and value == self.max_value)


def _optional(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


@functools.cache
def load_rules(path: Path = SEED) -> tuple[BandRule, ...]:
    """The seed's rows sorted by year, metric and rank; empty when the seed is not there."""
    if not path.exists():
        return ()
    frame = pd.read_csv(path)
    rules = [
        BandRule(int(row.dora_year), str(row.metric), str(row.band), int(row.band_rank),
                 str(row.measure), _optional(row.min_value), _optional(row.max_value),
                 str(row.max_inclusive).strip().lower() == "true")
        for row in frame.itertuples(index=False)
    ]
    return tuple(sorted(rules, key=lambda r: (r.dora_year, r.metric, r.band_rank)))


def years(rules: tuple[BandRule, ...] | None = None) -> list[int]:
    found = sorted({r.dora_year for r in (load_rules() if rules is None else rules)})
    return found or [2021, 2023, 2024]


def best_band(year: int, metric: str, measures: Mapping[str, float | None],
              rules: tuple[BandRule, ...] | None = None) -> str | None:
    for rule in load_rules() if rules is None else rules:
        if rule.dora_year == year and rule.metric == metric and rule.admits(
                measures.get(rule.measure)):
            return rule.band
    return None


def band_with_reason(year: int, metric: str, measures: Mapping[str, float | None],
                     rules: tuple[BandRule, ...] | None = None) -> tuple[str | None, str | None]:
    """(band, None) or (None, why) — the reason texts are dora_summary's."""
    sample_column, minimum, noun = METRICS[metric]
    sample = int(measures.get(sample_column) or 0)
    if sample < minimum:
        return None, f"fewer than {minimum} {noun} in the window ({sample})"
    band = best_band(year, metric, measures, rules)
    return (band, None) if band else (None, "no value in the window")


def annotate(frame: pd.DataFrame, year: int,
             rules: tuple[BandRule, ...] | None = None) -> pd.DataFrame:
    """Add `<metric>_band` and `<metric>_band_reason` for each metric to window-metric rows."""
    out = frame.copy()
    records = [dict(r) for r in frame.to_dict("records")]
    for metric in METRICS:
        pairs = [band_with_reason(year, metric, _measures(r), rules) for r in records]
        out[f"{metric}_band"] = [band for band, _ in pairs]
        out[f"{metric}_band_reason"] = [reason for _, reason in pairs]
    return out


def _measures(row: Mapping[str, object]) -> dict[str, float | None]:
    return {key: _optional(value) for key, value in row.items()
            if not isinstance(value, str)}


def short_reason(metric: str, sample: int) -> str:
    """The small-sample text the pages show in place of a band."""
    _, _, noun = METRICS[metric]
    unit = "" if noun == "deployments" else " incident" if sample == 1 else " incidents"
    return f"n = {sample}{unit}, too few for a band"
