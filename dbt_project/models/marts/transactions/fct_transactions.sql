-- One row per posted transaction with its customer and metric flags: the BI-facing
-- projection of int_transactions_classified (which holds the rows once, kept
-- incrementally), without the counterparty names. A view: a table would copy every
-- transaction a second time (about 4 minutes and a second 172 M-row table at
-- 1,000,000 customers) for the same rows.
with

transactions as (
    select * from {{ ref('int_transactions_classified') }}
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
