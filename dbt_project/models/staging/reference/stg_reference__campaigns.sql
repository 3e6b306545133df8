-- Marketing campaigns; every campaign ever delivered, with its latest description.
with

source as (
    {{ latest_delivery(source('reference', 'campaigns'), ['campaign_id']) }}
),

renamed as (
    select
        -- ids
        campaign_id,

        -- strings
        campaign_name,
        campaign_type,

        -- dates
        cast(start_date as date) as campaign_start_date,
        cast(end_date as date) as campaign_end_date,
        cast(_business_date as date) as delivered_date

    from source
),

final as (
    select * from renamed
)

select * from final
