{# Fails on every row where any of `columns` is NULL: the not_null tests of one model in one
   query (one scan, one dbt node) instead of one node per column. #}
{% test not_null_columns(model, columns) %}
select *
from {{ model }}
where {% for column in columns %}{{ column }} is null{% if not loop.last %} or {% endif %}{% endfor %}
{% endtest %}
