-- One row per account, latest delivery wins (a closing arrives as a new delivery).
with

source as (
    {{ latest_delivery(source('core_banking', 'accounts'), ['account_id']) }}
),

renamed as (
    select
        -- ids
        account_id,
        customer_id,
        product_code,
        branch_id,
        campaign_id,

        -- strings
        currency as currency_code,
        status as account_status,

        -- numerics
        cast(term_months as integer) as term_months,
        cast(interest_rate as decimal(9, 6)) as interest_rate,
        cast(principal_amount as decimal(18, 2)) as principal_amount,
        cast(credit_limit as decimal(18, 2)) as credit_limit,

        -- dates
        cast(opened_date as date) as opened_date,
        cast(closed_date as date) as closed_date,
        cast(maturity_date as date) as maturity_date,
        cast(_business_date as date) as delivered_date,

        -- timestamps: when the winning delivery was loaded (UTC); drives incremental models
        _loaded_at as loaded_at,
        -- when the account's first delivery was loaded (a new account vs. a re-delivery)
        _first_loaded_at as first_loaded_at

    from source
),

final as (
    select * from renamed
)

select * from final
