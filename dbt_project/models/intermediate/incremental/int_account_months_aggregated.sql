-- One row per account and month of the reporting window in which the account
-- had an open day or a posted transaction: average balance, margin income, fee
-- income and contribution (docs/metrics.md "Contribution": average balance x product
-- margin / 12, plus fee income posted in the month), and the money flows
-- fct_customer_months sums per customer. Each figure is rounded half up to
-- cents once, from the exact month total (macro round_half_up): the margin is
-- balance day total x annual margin / (covered days x 12), not a rounded average.
-- Average balance divides the month's sum of end-of-day balances by the month's
-- covered calendar days, like month-average AUM: days the account is not open
-- count as 0. Flows (inflows, outflows, outflows to other banks) are on AUM
-- accounts (deposits and investments) and leave out both legs of a transfer
-- between two of the customer's own accounts: money moving inside the customer's
-- own wallet at the bank neither arrives nor leaves.
with

account_balances as (
    select * from {{ ref('int_account_balances_carried_forward') }}
),

transactions as (
    select * from {{ ref('int_transactions_classified') }}
),

accounts as (
    select * from {{ ref('stg_core_banking__accounts') }}
),

products as (
    select * from {{ ref('stg_reference__products') }}
),

product_categories as (
    select * from {{ ref('product_categories') }}
),

product_margins as (
    select * from {{ ref('product_margins') }}
),

calendar as (
    select * from {{ ref('int_calendar_days') }}
),

reporting_months as (
    select * from {{ ref('int_reporting_months') }}
),

-- a product missing from the catalogue or the margin seed earns no margin and
-- is not AUM (both tested with warn on the seeds' relationships)
accounts_classified as (
    select
        accounts.account_id,
        accounts.customer_id,
        accounts.product_code,
        products.product_category,
        coalesce(product_categories.is_aum, false) as is_aum,
        coalesce(product_margins.annual_margin_rate, 0) as annual_margin_rate
    from accounts
    left join products
        on accounts.product_code = products.product_code
    left join product_categories
        on products.product_category = product_categories.product_category
    left join product_margins
        on accounts.product_code = product_margins.product_code
),

balance_months as (
    select
        account_balances.account_id,
        calendar.month_start_date,
        sum(account_balances.balance_amount) as balance_day_total
    from account_balances
    inner join calendar
        on account_balances.balance_date = calendar.calendar_date
    group by account_balances.account_id, calendar.month_start_date
),

transaction_months as (
    select
        transactions.account_id,
        calendar.month_start_date,
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
        ) as fee_income_amount
    from transactions
    inner join accounts_classified
        on transactions.account_id = accounts_classified.account_id
    inner join calendar
        on transactions.transaction_date = calendar.calendar_date
    group by transactions.account_id, calendar.month_start_date
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
        reporting_months.covered_day_count,
        coalesce(transaction_months.inflow_amount, 0) as inflow_amount,
        coalesce(transaction_months.outflow_amount, 0) as outflow_amount,
        coalesce(transaction_months.other_bank_outflow_amount, 0) as other_bank_outflow_amount,
        coalesce(transaction_months.payroll_credit_count, 0) as payroll_credit_count,
        coalesce(transaction_months.payroll_credit_amount, 0) as payroll_credit_amount,
        coalesce(transaction_months.fee_income_amount, 0) as fee_income_amount
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
        cast(payroll_credit_amount as decimal(18, 2)) as payroll_credit_amount
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
        average_balance_amount,
        margin_income_amount,
        fee_income_amount,
        cast(margin_income_amount + fee_income_amount as decimal(18, 2)) as contribution_amount,
        inflow_amount,
        outflow_amount,
        other_bank_outflow_amount,
        payroll_credit_count,
        payroll_credit_amount
    from rounded
)

select * from final
