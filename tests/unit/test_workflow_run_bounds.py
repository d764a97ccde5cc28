"""Workflow runs are asked `created>=<Monday of the bound's week>` (extractors/github/
workflow_runs.py): the URL, and so the ETag a refresh sends, changes once a week, not with every
new run. tests/integration/test_extract_idempotence.py runs the ETags against the fake API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from extractors.github.workflow_runs import _params


def test_the_created_filter_is_the_monday_of_the_bounds_week() -> None:
    wednesday = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)
    assert _params("main", wednesday) == {"per_page": 100, "branch": "main",
                                          "created": ">=2026-11-30"}
    # every bound of one week asks the same URL; the next Monday asks a new one
    week = {_params(None, datetime(2026, 11, 30, tzinfo=UTC) + timedelta(hours=h))["created"]
            for h in range(0, 7 * 24)}
    assert week == {">=2026-11-30"}
    assert _params(None, datetime(2026, 12, 7, tzinfo=UTC))["created"] == ">=2026-12-07"
    # no bound (a backfill): every run of the branch
    assert _params("main", None) == {"per_page": 100, "branch": "main"}
