{# The four keys and rework rate per week (Monday, UTC) for every service, team and the
   organisation; see macros/metrics.sql and docs/metrics.md. #}
{{ fourkeys.period_metrics('week') }}
