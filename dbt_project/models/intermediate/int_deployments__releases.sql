{# releases: a published release that is neither a draft nor a prerelease; deployed_at =
   published_at; sha = the commit its tag points to. With `tag_prefix` (a monorepo releasing
   each service under its own tags), only the releases whose tag starts with it. #}
with services as (
    select * from {{ ref('int_services') }}
    where deployment_source = 'releases'
),

releases as (
    select * from {{ ref('stg_github__releases') }}
    where not is_draft and not is_prerelease and published_at is not null
),

final as (
    select
        services.service,
        'releases' as source,
        releases.release_id as native_id,
        cast(null as {{ dbt.type_string() }}) as environment,
        releases.target_sha as commit_ref,
        releases.published_at as deployed_at
    from services
    inner join releases
        on releases.repository = services.repository
    where services.tag_prefix is null
        or {{ fourkeys.starts_with('releases.tag_name', 'services.tag_prefix') }}
)

select * from final
