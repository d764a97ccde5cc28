{# Request-log counts per (log file, service, UTC minute), renamed and typed. Several files can
   cover the same service and minute (one log per host): the intermediate model adds them up. #}
with source as (
    select * from {{ source('raw', 'raw_request_counts') }}
),

final as (
    select
        log_file,
        service,
        {{ fourkeys.utc('minute') }} as minute_at,
        requests as request_count,
        errors as error_count
    from source
)

select * from final
