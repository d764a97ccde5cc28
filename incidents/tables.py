"""The raw tables the incident importers and the request-log importer write (declared once,
like `extractors/tables.py`). Only `dbt_project/models/staging` reads these shapes."""

from __future__ import annotations

from fourkeys.warehouse.base import Table

T, TS, INT = "VARCHAR", "TIMESTAMPTZ", "BIGINT"

# one row per incident of an imported source: the Slack bot's database, PagerDuty, a CSV/JSONL
# file. `source` is the importer ('slack_bot' | 'pagerduty' | 'csv'); `external_id` is unique
# within it (a CSV file's ids are prefixed with the file's name). `origin` says where within the
# source a row came from (csv: the file as configured, whose rows are replaced whole on each
# import of a changed file; pagerduty: the PagerDuty service id; slack_bot: the Slack channel).
INCIDENTS = Table(
    "raw_incidents",
    ("source", "external_id"),
    {"source": T, "external_id": T, "service": T, "severity": T, "title": T, "url": T,
     "status": T, "cause_text": T, "named_deployment_id": T, "created_at": TS,
     "started_at": TS, "detected_at": TS, "mitigated_at": TS, "resolved_at": TS,
     "updated_at": TS, "origin": T},
    replace_by=("source", "origin"),
)

# per service and minute: request and 5xx counts from request logs (raw lines are not kept).
# A file's counts are replaced whole when it is imported again, so a re-import (or a log that
# grew since) never double counts. log_file is the file's resolved absolute path without a
# `.gz` suffix (incidents/requests/aggregate.py::log_file_key); minute is the UTC minute start.
REQUEST_COUNTS = Table(
    "raw_request_counts",
    ("log_file", "service", "minute"),
    {"log_file": T, "service": T, "minute": TS, "requests": INT, "errors": INT},
    replace_by=("log_file",),
)

INCIDENT_TABLES = (INCIDENTS, REQUEST_COUNTS)
