-- Branches; every branch ever delivered, with its latest description.
with

source as (
    {{ latest_delivery(source('reference', 'branches'), ['branch_id']) }}
),

renamed as (
    select
        -- ids
        branch_id,

        -- strings
        branch_name,
        city,
        region,

        -- dates
        cast(_business_date as date) as delivered_date

    from source
),

final as (
    select * from renamed
)

select * from final
