-- Personal data of each customer (latest delivery wins), kept apart from the
-- analyst-facing layers. The one model outside staging that reads a source:
-- staging must never carry these columns, so the restricted layer reads raw itself.
with

source as (
    {{ latest_delivery(source('core_banking', 'customers'), ['customer_id']) }}
),

renamed as (
    select
        -- ids
        customer_id,
        national_id,

        -- strings
        full_name,
        phone,
        email,
        address,

        -- dates
        cast(birth_date as date) as birth_date

    from source
),

final as (
    select * from renamed
)

select * from final
