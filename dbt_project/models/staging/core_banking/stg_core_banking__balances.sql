-- One row per account and day the balance changed (and the opening day);
-- days without a row carry the last balance forward (int_account_balances_carried_forward).
{{ config(unique_key=['account_id', 'balance_date']) }}
with

source as (
    {{ latest_delivery_since_last_build(source('core_banking', 'balances'), ['account_id', 'balance_date']) }}
),

renamed as (
    select
        -- ids
        account_id,

        -- numerics
        cast(balance as decimal(18, 2)) as balance_amount,

        -- dates
        cast(balance_date as date) as balance_date,
        cast(_business_date as date) as delivered_date,

        -- timestamps: when the winning delivery was loaded (UTC); drives incremental models
        _loaded_at as loaded_at

    from source
),

final as (
    {% if is_incremental() %}
        {{ keep_deliveries_newer_than_built('renamed', ['account_id', 'balance_date']) }}
    {% else %}
        select * from renamed
    {% endif %}
)

select * from final
