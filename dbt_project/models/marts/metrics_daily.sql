{# The four keys and rework rate per UTC day for every service, team and the organisation. #}
{{ fourkeys.period_metrics('day') }}
