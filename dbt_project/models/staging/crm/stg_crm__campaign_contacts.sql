-- One row per campaign contact and the customer's response; latest delivery wins.
with

source as (
    {{ latest_delivery(source('crm', 'campaign_contacts'), ['contact_id']) }}
),

renamed as (
    select
        -- ids
        contact_id as campaign_contact_id,
        customer_id,
        campaign_id,

        -- strings
        channel as contact_channel,
        response as contact_response,

        -- dates
        cast(contact_date as date) as contact_date,
        cast(_business_date as date) as delivered_date

    from source
),

final as (
    select * from renamed
)

select * from final
