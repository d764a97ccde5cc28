"""How numbers read on the pages (pure functions; tests format expected values with them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd

NONE = "—"


def missing(value: Any) -> bool:
    """None, NaN, NaT and pandas' NA."""
    return value is None or bool(pd.isna(value))


def duration(seconds: float | int | None) -> str:
    """45 min, 3.2 h, 2.5 d."""
    if missing(seconds):
        return NONE
    value = float(seconds)  # type: ignore[arg-type]
    if abs(value) < 3600:
        return f"{value / 60:.0f} min"
    if abs(value) < 2 * 86400:
        return f"{value / 3600:.1f} h"
    return f"{value / 86400:.1f} d"


def signed_duration(seconds: float | int | None) -> str | None:
    if missing(seconds):
        return None
    value = float(seconds)  # type: ignore[arg-type]
    return ("+" if value >= 0 else "-") + duration(abs(value))


def percent(rate: float | None) -> str:
    return NONE if missing(rate) else f"{rate:.1%}"


def points(delta: float | None) -> str | None:
    """A difference of two rates, in percentage points."""
    return None if missing(delta) else f"{float(delta) * 100:+.1f} pp"  # type: ignore[arg-type]


def per_week(value: float | None) -> str:
    return NONE if missing(value) else f"{value:.1f} / week"


def count(value: int | float | None) -> str:
    return NONE if missing(value) else f"{int(value):,}"  # type: ignore[arg-type]


def day(value: date | datetime | None) -> str:
    return NONE if missing(value) else value.strftime("%Y-%m-%d")  # type: ignore[union-attr]
