-- Product catalogue; every code ever delivered, with its latest description.
with

source as (
    {{ latest_delivery(source('reference', 'products'), ['product_code']) }}
),

renamed as (
    select
        -- ids
        product_code,

        -- strings
        product_name,
        product_category,
        customer_type,

        -- dates
        cast(_business_date as date) as delivered_date

    from source
),

final as (
    select * from renamed
)

select * from final
