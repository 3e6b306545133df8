-- One row per account and month of the reporting window in which the account
-- held a delivered balance or had a posted transaction: the month's balance day
-- total and month-end balance (the AUM of int_customer_months_aggregated),
-- average balance, margin income, fee income and contribution (docs/metrics.md
-- "Contribution": average balance x product margin / 12, plus fee income posted
-- in the month), and the money flows int_customer_months_aggregated sums per
-- customer.
-- Balances come from int_account_balance_intervals, summed by overlap: each
-- interval adds balance x its days inside the month's covered days (never one
-- row per account and day); the month-end balance is the interval holding the
-- last covered day. Days without a delivered balance yet count as 0.
-- Each figure is rounded half up to cents once, from the exact month total
-- (macro round_half_up): the margin is balance day total x annual margin /
-- (covered days x 12), not a rounded average. Average balance divides by the
-- month's covered calendar days, like month-average AUM. Flows (inflows,
-- outflows, outflows to other banks) are on AUM accounts (deposits and
-- investments) and leave out both legs of a transfer between two of the
-- customer's own accounts: money moving inside the customer's own wallet at the
-- bank neither arrives nor leaves.
-- Incremental (folder intermediate/incremental): a run rebuilds the months from
-- macro months_to_rebuild_from on (the open month, the month just closed, and
-- the months late rows touch) and keeps the others; delete+insert on
-- month_start_date. A change of a product's category or margin (seeds, or an
-- account moved to another product) needs `dbt build --full-refresh`.
{{ config(
    unique_key='month_start_date',
    post_hook="delete from {{ this }} where month_start_date > (select max(reporting_months.month_start_date) from {{ ref('int_reporting_months') }} as reporting_months)",
) }}

with

balance_intervals as (
    select * from {{ ref('int_account_balance_intervals') }}
),

transactions as (
    select * from {{ ref('int_transactions_classified') }}
),

accounts_classified as (
    select * from {{ ref('int_accounts_classified') }}
),

reporting_months as (
    select * from {{ ref('int_reporting_months') }}
    {% if is_incremental() %}
        where month_start_date >= {{ months_to_rebuild_from(
            this,
            ref('int_transactions_classified'),
            ref('int_account_balance_intervals'),
            ref('int_accounts_classified'),
        ) }}
    {% endif %}
),

-- balance x days of the interval inside the month's covered days; the interval
-- holding the last covered day gives the month-end balance
balance_months as (
    select
        balance_intervals.account_id,
        reporting_months.month_start_date,
        sum(
            balance_intervals.balance_amount * {{ dbt.datediff(
                'case when balance_intervals.valid_from_date > reporting_months.first_covered_date'
                ~ ' then balance_intervals.valid_from_date else reporting_months.first_covered_date end',
                'case when balance_intervals.valid_to_date <= reporting_months.last_covered_date'
                ~ ' then balance_intervals.valid_to_date else '
                ~ dbt.dateadd('day', 1, 'reporting_months.last_covered_date') ~ ' end',
                'day'
            ) }}
        ) as balance_day_total,
        sum(
            case
                when
                    balance_intervals.valid_to_date is null
                    or balance_intervals.valid_to_date > reporting_months.last_covered_date
                    then balance_intervals.balance_amount
                else 0
            end
        ) as month_end_balance_amount,
        max(balance_intervals.loaded_at) as loaded_at
    from balance_intervals
    inner join reporting_months
        on
            balance_intervals.valid_from_date <= reporting_months.last_covered_date
            and (
                balance_intervals.valid_to_date is null
                or balance_intervals.valid_to_date > reporting_months.first_covered_date
            )
    group by balance_intervals.account_id, reporting_months.month_start_date
),

transaction_months as (
    select
        transactions.account_id,
        reporting_months.month_start_date,
        sum(
            case
                when
                    accounts_classified.is_aum
                    and not transactions.is_own_account_transfer
                    and transactions.direction = 'credit'
                    then transactions.transaction_amount
                else 0
            end
        ) as inflow_amount,
        sum(
            case
                when
                    accounts_classified.is_aum
                    and not transactions.is_own_account_transfer
                    and transactions.direction = 'debit'
                    then transactions.transaction_amount
                else 0
            end
        ) as outflow_amount,
        sum(
            case
                when
                    accounts_classified.is_aum
                    and not transactions.is_own_account_transfer
                    and transactions.direction = 'debit'
                    and transactions.counterparty_type = 'other_bank'
                    then transactions.transaction_amount
                else 0
            end
        ) as other_bank_outflow_amount,
        sum(case when transactions.is_payroll_credit then 1 else 0 end) as payroll_credit_count,
        sum(
            case when transactions.is_payroll_credit then transactions.transaction_amount else 0 end
        ) as payroll_credit_amount,
        sum(
            case when transactions.is_fee then transactions.transaction_amount else 0 end
        ) as fee_income_amount,
        max(transactions.loaded_at) as loaded_at
    from transactions
    inner join accounts_classified
        on transactions.account_id = accounts_classified.account_id
    inner join reporting_months
        on
            transactions.transaction_date >= reporting_months.first_covered_date
            and transactions.transaction_date <= reporting_months.last_covered_date
    group by transactions.account_id, reporting_months.month_start_date
),

account_months as (
    select
        account_id,
        month_start_date
    from balance_months
    union
    select
        account_id,
        month_start_date
    from transaction_months
),

averaged as (
    select
        account_months.account_id,
        accounts_classified.customer_id,
        accounts_classified.product_code,
        accounts_classified.product_category,
        accounts_classified.is_aum,
        account_months.month_start_date,
        accounts_classified.annual_margin_rate,
        coalesce(balance_months.balance_day_total, 0) as balance_day_total,
        coalesce(balance_months.month_end_balance_amount, 0) as month_end_balance_amount,
        reporting_months.covered_day_count,
        coalesce(transaction_months.inflow_amount, 0) as inflow_amount,
        coalesce(transaction_months.outflow_amount, 0) as outflow_amount,
        coalesce(transaction_months.other_bank_outflow_amount, 0) as other_bank_outflow_amount,
        coalesce(transaction_months.payroll_credit_count, 0) as payroll_credit_count,
        coalesce(transaction_months.payroll_credit_amount, 0) as payroll_credit_amount,
        coalesce(transaction_months.fee_income_amount, 0) as fee_income_amount,
        -- the latest load among the balances and transactions of the month (the
        -- incremental watermark; deterministic, so a full refresh gives the same)
        case
            when balance_months.loaded_at is null then transaction_months.loaded_at
            when transaction_months.loaded_at is null then balance_months.loaded_at
            when balance_months.loaded_at > transaction_months.loaded_at then balance_months.loaded_at
            else transaction_months.loaded_at
        end as source_loaded_at
    from account_months
    inner join accounts_classified
        on account_months.account_id = accounts_classified.account_id
    inner join reporting_months
        on account_months.month_start_date = reporting_months.month_start_date
    left join balance_months
        on
            account_months.account_id = balance_months.account_id
            and account_months.month_start_date = balance_months.month_start_date
    left join transaction_months
        on
            account_months.account_id = transaction_months.account_id
            and account_months.month_start_date = transaction_months.month_start_date
),

rounded as (
    select
        account_id,
        customer_id,
        product_code,
        product_category,
        is_aum,
        month_start_date,
        annual_margin_rate,
        cast(balance_day_total as decimal(38, 2)) as balance_day_total,
        cast(month_end_balance_amount as decimal(18, 2)) as month_end_balance_amount,
        cast(
            {{ round_half_up('balance_day_total', 'covered_day_count', input_scale=2) }}
            as decimal(18, 2)
        ) as average_balance_amount,
        cast(
            {{ round_half_up(
                'balance_day_total * annual_margin_rate', 'covered_day_count * 12', input_scale=8
            ) }}
            as decimal(18, 2)
        ) as margin_income_amount,
        cast(fee_income_amount as decimal(18, 2)) as fee_income_amount,
        cast(inflow_amount as decimal(18, 2)) as inflow_amount,
        cast(outflow_amount as decimal(18, 2)) as outflow_amount,
        cast(other_bank_outflow_amount as decimal(18, 2)) as other_bank_outflow_amount,
        cast(payroll_credit_count as integer) as payroll_credit_count,
        cast(payroll_credit_amount as decimal(18, 2)) as payroll_credit_amount,
        source_loaded_at as loaded_at
    from averaged
),

final as (
    select
        account_id,
        customer_id,
        product_code,
        product_category,
        is_aum,
        month_start_date,
        annual_margin_rate,
        balance_day_total,
        month_end_balance_amount,
        average_balance_amount,
        margin_income_amount,
        fee_income_amount,
        cast(margin_income_amount + fee_income_amount as decimal(18, 2)) as contribution_amount,
        inflow_amount,
        outflow_amount,
        other_bank_outflow_amount,
        payroll_credit_count,
        payroll_credit_amount,
        loaded_at
    from rounded
)

select * from final
