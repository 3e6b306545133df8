-- Every transaction with its customer (through the account) and the metric
-- flags: customer-initiated, fee, payroll credit (seed transaction_type_rules;
-- unknown types count as none of them) and digital channel (var digital_channels).
{%- set digital_channels = "'" ~ var('digital_channels') | join("', '") ~ "'" %}

with

transactions as (
    select * from {{ ref('stg_core_banking__transactions') }}
),

accounts as (
    select * from {{ ref('stg_core_banking__accounts') }}
),

transaction_type_rules as (
    select * from {{ ref('transaction_type_rules') }}
),

final as (
    select
        transactions.transaction_id,
        transactions.account_id,
        accounts.customer_id,
        transactions.transaction_type_code,
        transactions.direction,
        transactions.channel,
        transactions.counterparty_type,
        transactions.counterparty_bank_code,
        transactions.merchant_category,
        transactions.transaction_amount,
        transactions.transaction_date,
        transactions.transaction_at,
        coalesce(transaction_type_rules.is_customer_initiated, false) as is_customer_initiated,
        coalesce(transaction_type_rules.is_fee, false) as is_fee,
        coalesce(transaction_type_rules.is_payroll_credit, false) as is_payroll_credit,
        coalesce(transactions.channel in ({{ digital_channels }}), false) as is_digital_channel
    from transactions
    left join accounts
        on transactions.account_id = accounts.account_id
    left join transaction_type_rules
        on transactions.transaction_type_code = transaction_type_rules.transaction_type_code
)

select * from final
