-- One row per customer with an account: the early-warning signals of churn as
-- of the as-of date (docs/metrics.md "Churn" early-warning signals), the latest
-- complete month's churn flags and lifecycle stage. The month-window signals are
-- those of the latest complete month in fct_customer_signal_months (windows of
-- complete months counted back from it, int_reporting_months); the day windows
-- are re-counted here from the as-of date itself: maturities in the days after
-- it, complaints in the days up to it. Window lengths are vars churn_signal_*.
{%- set maturity_days = var('churn_signal_maturity_days') | int %}
{%- set complaint_days = var('churn_signal_complaint_days') | int %}

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

accounts as (
    select * from {{ ref('stg_core_banking__accounts') }}
),

products as (
    select * from {{ ref('stg_reference__products') }}
),

complaints as (
    select * from {{ ref('stg_crm__complaints') }}
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

-- open time deposits maturing in the churn_signal_maturity_days days after the as-of date
maturing_deposits as (
    select
        accounts.customer_id,
        count(*) as maturing_time_deposit_count,
        sum(accounts.principal_amount) as maturing_time_deposit_amount
    from accounts
    cross join as_of_dates
    inner join products
        on accounts.product_code = products.product_code
    where
        products.product_category = 'time_deposit'
        and accounts.opened_date <= as_of_dates.as_of_date
        and (accounts.closed_date is null or accounts.closed_date > as_of_dates.as_of_date)
        and accounts.maturity_date > as_of_dates.as_of_date
        and accounts.maturity_date <= {{ dbt.dateadd('day', maturity_days, 'as_of_dates.as_of_date') }}
    group by accounts.customer_id
),

recent_complaints as (
    select
        complaints.customer_id,
        count(*) as complaint_count_90d
    from complaints
    cross join as_of_dates
    where
        complaints.complaint_date <= as_of_dates.as_of_date
        and complaints.complaint_date > {{ dbt.dateadd('day', -complaint_days, 'as_of_dates.as_of_date') }}
    group by complaints.customer_id
),

final as (
    select
        customers.customer_id,
        as_of_dates.as_of_date,
        latest_month.month_start_date as latest_complete_month_start_date,
        latest_month.aum_trend_3m,
        latest_signals.other_bank_outflow_share_3m,
        cast(coalesce(maturing_deposits.maturing_time_deposit_count, 0) as integer)
            as maturing_time_deposit_count_30d,
        cast(coalesce(maturing_deposits.maturing_time_deposit_amount, 0) as decimal(18, 2))
            as maturing_time_deposit_amount_30d,
        coalesce(latest_signals.is_payroll_missing, false) as is_payroll_missing,
        cast(coalesce(recent_complaints.complaint_count_90d, 0) as integer) as complaint_count_90d,
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
    left join maturing_deposits
        on customers.customer_id = maturing_deposits.customer_id
    left join recent_complaints
        on customers.customer_id = recent_complaints.customer_id
)

select * from final
