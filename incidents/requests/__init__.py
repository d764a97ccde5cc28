"""Request logs → per-service, per-minute request and 5xx counts (`raw_request_counts`).

The raw lines are never stored: only what the "request_errors" failure signal needs
(`dbt_project/models/intermediate/int_deployment_request_signal.sql` decides whether a
deployment degraded). `parse` reads one line (JSON lines, the combined format), `aggregate`
counts a file as a stream, `load` writes every file's counts in one batch.
"""

from incidents.requests.load import ImportSummary, import_request_logs

__all__ = ["ImportSummary", "import_request_logs"]
