{# heroku_releases: a `succeeded` release of the service's app; deployed_at = created_at; sha =
   the slug's commit, else the `Deploy <sha>` of its description (possibly a prefix). Releases
   that deploy no code (config changes, add-ons) name no commit and are not deployments. #}
with services as (
    select * from {{ ref('int_services') }}
    where deployment_source = 'heroku_releases'
),

releases as (
    select * from {{ ref('stg_heroku__releases') }}
    where status = 'succeeded' and commit_sha_or_prefix is not null
),

final as (
    select
        services.service,
        'heroku_releases' as source,
        releases.version as native_id,
        cast(null as {{ dbt.type_string() }}) as environment,
        releases.commit_sha_or_prefix as commit_ref,
        releases.created_at as deployed_at
    from services
    inner join releases
        on releases.app = services.heroku_app
)

select * from final
