-- One row per customer and calendar month, from the month of the customer's
-- first account (at the earliest the month the warehouse history starts) to the
-- month of the as-of date: AUM, activity, value tier, money flows, contribution
-- and the dormant flag (docs/metrics.md "Month-average AUM", "Active in a month",
-- "Value tier", "Contribution", "Dormant"). Built in
-- int_customer_months_aggregated (incremental: a daily run rebuilds the open
-- month, the month just closed and the months late rows touch); published here
-- as a table with its contract, for BI and the marts of the as-of date.
with

customer_months as (
    select * from {{ ref('int_customer_months_aggregated') }}
),

final as (
    select
        customer_id,
        month_start_date,
        month_end_date,
        customer_type,
        is_complete_month,
        month_average_aum,
        month_end_aum,
        customer_initiated_transaction_count,
        digital_transaction_count,
        customer_initiated_transaction_days,
        is_active,
        is_digitally_active,
        has_open_account,
        value_tier,
        has_open_account_at_month_end,
        first_customer_initiated_date,
        last_customer_initiated_date,
        days_since_last_customer_initiated,
        is_dormant,
        inflow_amount,
        outflow_amount,
        other_bank_outflow_amount,
        payroll_credit_count,
        payroll_credit_amount,
        margin_income_amount,
        fee_income_amount,
        contribution_amount
    from customer_months
)

select * from final
