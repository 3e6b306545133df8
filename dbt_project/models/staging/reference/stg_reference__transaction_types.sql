-- Transaction type codes as core banking describes them (the metric rules are in
-- the seed transaction_type_rules).
with

source as (
    {{ latest_delivery(source('reference', 'transaction_types'), ['transaction_type_code']) }}
),

renamed as (
    select
        -- ids
        transaction_type_code,

        -- strings
        description as transaction_type_description,

        -- dates
        cast(_business_date as date) as delivered_date

    from source
),

final as (
    select * from renamed
)

select * from final
