-- Every transaction with its customer (through the account) and the metric
-- flags: customer-initiated, fee, payroll credit (seed transaction_type_rules;
-- unknown types count as none of them) and digital channel (var digital_channels).
-- A transfer between two accounts of the same customer posts two legs (landing
-- README, core_banking/transactions) for one customer decision: only its debit
-- leg (money leaving the source account) counts as customer-initiated.
-- Incremental (folder intermediate/incremental): a run classifies the rows
-- loaded since the table's latest loaded_at and the transactions of accounts
-- delivered since (macro transactions_to_reclassify: an orphan gains its customer
-- when its account arrives, a transfer leg its own-account flag); delete+insert
-- on transaction_id. A change of the seed transaction_type_rules or the var
-- digital_channels needs `dbt build --full-refresh`.
-- depends_on: {{ ref('int_accounts_classified') }}
{{ config(unique_key='transaction_id') }}
{%- set digital_channels = "'" ~ var('digital_channels') | join("', '") ~ "'" %}

with

transactions as (
    select * from {{ ref('stg_core_banking__transactions') }}
    {% if is_incremental() %}
        where {{ transactions_to_reclassify(this, ref('int_accounts_classified')) }}
    {% endif %}
),

accounts as (
    select * from {{ ref('int_accounts_classified') }}
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
        transactions.counterparty_name,
        transactions.counterparty_bank_code,
        transactions.merchant_category,
        transactions.transaction_amount,
        transactions.transaction_date,
        transactions.transaction_at,
        transactions.loaded_at,
        own_accounts.account_id is not null as is_own_account_transfer,
        case
            when own_accounts.account_id is not null and transactions.direction = 'credit'
                then false
            else coalesce(transaction_type_rules.is_customer_initiated, false)
        end as is_customer_initiated,
        coalesce(transaction_type_rules.is_fee, false) as is_fee,
        coalesce(transaction_type_rules.is_payroll_credit, false) as is_payroll_credit,
        coalesce(transactions.channel in ({{ digital_channels }}), false) as is_digital_channel
    from transactions
    left join accounts
        on transactions.account_id = accounts.account_id
    -- the counterparty is another account of the same customer (account_id is unique)
    left join accounts as own_accounts
        on
            transactions.counterparty_type = 'same_bank'
            and transactions.counterparty_name = own_accounts.account_id
            and transactions.account_id <> own_accounts.account_id
            and accounts.customer_id = own_accounts.customer_id
    left join transaction_type_rules
        on transactions.transaction_type_code = transaction_type_rules.transaction_type_code
)

select * from final
