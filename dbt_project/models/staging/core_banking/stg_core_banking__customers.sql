-- One row per customer, latest delivery wins. Personal data (name, ID number,
-- phone, e-mail, address, exact birth date) stays in restricted_customer_personal_data;
-- only derived, non-identifying fields come through here.
with

source as (
    {{ latest_delivery(source('core_banking', 'customers'), ['customer_id']) }}
),

renamed as (
    select
        -- ids
        customer_id,
        home_branch_id,

        -- strings
        customer_type,
        city,
        gender,

        -- numerics
        cast(extract(year from cast(birth_date as date)) as integer) as birth_year,

        -- dates
        cast(onboarded_date as date) as onboarded_date,
        cast(_business_date as date) as delivered_date,

        -- timestamps: when the winning delivery was loaded (UTC); drives incremental models
        _loaded_at as loaded_at,
        -- when the customer's first delivery was loaded (a new customer vs. a re-delivery)
        _first_loaded_at as first_loaded_at

    from source
),

final as (
    select * from renamed
)

select * from final
