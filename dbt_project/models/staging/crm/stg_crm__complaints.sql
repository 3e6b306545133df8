-- One row per complaint; a later delivery (e.g. with the resolution date) wins.
with

source as (
    {{ latest_delivery(source('crm', 'complaints'), ['complaint_id']) }}
),

renamed as (
    select
        -- ids
        complaint_id,
        customer_id,

        -- strings
        category as complaint_category,
        channel as complaint_channel,
        severity as complaint_severity,

        -- dates
        cast(complaint_date as date) as complaint_date,
        cast(resolved_date as date) as resolved_date,
        cast(_business_date as date) as delivered_date,

        -- timestamps: when the winning delivery was loaded (UTC); drives incremental models
        _loaded_at as loaded_at

    from source
),

final as (
    select * from renamed
)

select * from final
