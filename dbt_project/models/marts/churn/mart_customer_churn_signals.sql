-- One row per customer with an account: the early-warning signals of churn as
-- of the as-of date (docs/metrics.md "Churn" early-warning signals), the latest
-- complete month's churn flags and lifecycle stage. The month-window signals are
-- those of the latest complete month in fct_customer_signal_months (windows of
-- complete months counted back from it, int_reporting_months); the day windows
-- (maturities in the days after the as-of date, complaints in the days up to it)
-- are those fct_customer_signal_months counted for the as-of month, whose signal
-- date is the as-of date itself: counted once, in one place. Window lengths are
-- vars churn_signal_*.

with

churn_months as (
    select * from {{ ref('fct_customer_churn_months') }}
),

signal_months as (
    select * from {{ ref('fct_customer_signal_months') }}
),

customer_months as (
    select * from {{ ref('fct_customer_months') }}
),

reporting_months as (
    select * from {{ ref('int_reporting_months') }}
),

as_of_dates as (
    select max(as_of_date) as as_of_date from reporting_months
),

customers as (
    select distinct customer_id from customer_months
),

latest_complete_month as (
    select month_start_date from reporting_months
    where months_back = 0
),

latest_month as (
    select churn_months.*
    from churn_months
    inner join latest_complete_month
        on churn_months.month_start_date = latest_complete_month.month_start_date
),

latest_signals as (
    select signal_months.*
    from signal_months
    inner join latest_complete_month
        on signal_months.month_start_date = latest_complete_month.month_start_date
),

-- the day-window signals as of the as-of date: the as-of month's signal row
as_of_signals as (
    select signal_months.*
    from signal_months
    cross join as_of_dates
    where signal_months.signal_date = as_of_dates.as_of_date
),

final as (
    select
        customers.customer_id,
        as_of_dates.as_of_date,
        latest_month.month_start_date as latest_complete_month_start_date,
        latest_month.aum_trend_3m,
        latest_signals.other_bank_outflow_share_3m,
        cast(coalesce(as_of_signals.maturing_time_deposit_count_30d, 0) as integer)
            as maturing_time_deposit_count_30d,
        cast(coalesce(as_of_signals.maturing_time_deposit_amount_30d, 0) as decimal(18, 2))
            as maturing_time_deposit_amount_30d,
        coalesce(latest_signals.is_payroll_missing, false) as is_payroll_missing,
        cast(coalesce(as_of_signals.complaint_count_90d, 0) as integer) as complaint_count_90d,
        coalesce(latest_signals.active_months_3m, 0) as active_months_3m,
        coalesce(latest_signals.active_months_fall, 0) as active_months_fall,
        coalesce(latest_month.is_churned, false) as is_churned_latest_month,
        latest_month.lifecycle_stage
    from customers
    cross join as_of_dates
    left join latest_month
        on customers.customer_id = latest_month.customer_id
    left join latest_signals
        on customers.customer_id = latest_signals.customer_id
    left join as_of_signals
        on customers.customer_id = as_of_signals.customer_id
)

select * from final
