-- One row per posted transaction with its customer and metric flags
-- (int_transactions_classified), kept as a table that a daily run extends
-- instead of rebuilding: only the rows loaded since the latest loaded_at already
-- here, and those of accounts delivered since (macro transactions_to_reclassify),
-- are written; a late re-delivery of a transaction_id replaces its row
-- (delete+insert on the unique key, folder default).
-- depends_on: {{ ref('int_accounts_classified') }}
{{ config(unique_key='transaction_id') }}

with

transactions as (
    select * from {{ ref('int_transactions_classified') }}
    {% if is_incremental() %}
        where {{ transactions_to_reclassify(this, ref('int_accounts_classified')) }}
    {% endif %}
),

final as (
    select
        -- ids
        transaction_id,
        account_id,
        customer_id,
        transaction_type_code,

        -- strings
        direction,
        channel,
        counterparty_type,
        counterparty_bank_code,
        merchant_category,

        -- numerics
        transaction_amount,

        -- booleans
        is_own_account_transfer,
        is_customer_initiated,
        is_fee,
        is_payroll_credit,
        is_digital_channel,

        -- dates
        transaction_date,

        -- timestamps
        transaction_at,
        loaded_at
    from transactions
)

select * from final
