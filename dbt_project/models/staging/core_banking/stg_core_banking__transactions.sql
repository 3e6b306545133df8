-- One row per posted transaction; a late re-delivery of the same id replaces the earlier one.
{{ config(unique_key='transaction_id') }}
with

source as (
    {{ latest_delivery_since_last_build(source('core_banking', 'transactions'), ['transaction_id']) }}
),

renamed as (
    select
        -- ids
        transaction_id,
        account_id,
        transaction_type_code,

        -- strings
        direction,
        channel,
        counterparty_type,
        counterparty_name,
        counterparty_bank_code,
        merchant_category,

        -- numerics
        cast(amount as decimal(18, 2)) as transaction_amount,

        -- dates
        cast(transaction_date as date) as transaction_date,
        cast(_business_date as date) as delivered_date,

        -- timestamps: landed in bank local time; *_at columns are UTC by convention
        {{ to_utc('cast(transaction_at as timestamp)') }} as transaction_at,
        cast(transaction_at as timestamp) as transaction_local_at,
        -- when the winning delivery was loaded (UTC); drives incremental models
        _loaded_at as loaded_at

    from source
),

final as (
    {% if is_incremental() %}
        {{ keep_deliveries_newer_than_built('renamed', ['transaction_id']) }}
    {% else %}
        select * from renamed
    {% endif %}
)

select * from final
