-- One row per customer with an account: the early-warning signals of churn as
-- of the as-of date (METRICS.md "Churn" early-warning signals), the latest
-- complete month's churn flags and lifecycle stage. Rolling windows are complete
-- months counted back from the latest complete one (int_reporting_months); the
-- day windows start the day after the as-of date (maturities) or end on it
-- (complaints). Window lengths are vars churn_signal_*.
{%- set n = var('churn_signal_months') | int %}
{%- set maturity_days = var('churn_signal_maturity_days') | int %}
{%- set complaint_days = var('churn_signal_complaint_days') | int %}

with

churn_months as (
    select * from {{ ref('fct_customer_churn_months') }}
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

month_totals as (
    select
        customer_months.customer_id,
        sum(case when reporting_months.months_back between 0 and {{ n - 1 }} then customer_months.outflow_amount else 0 end)
            as outflow_amount_3m,
        sum(
            case
                when reporting_months.months_back between 0 and {{ n - 1 }}
                    then customer_months.other_bank_outflow_amount
                else 0
            end
        ) as other_bank_outflow_amount_3m,
        sum(
            case when reporting_months.months_back = 0 and customer_months.payroll_credit_count > 0 then 1 else 0 end
        ) as payroll_months_latest,
        sum(
            case
                when reporting_months.months_back between 1 and {{ n }} and customer_months.payroll_credit_count > 0
                    then 1
                else 0
            end
        ) as payroll_months_before,
        sum(
            case when reporting_months.months_back between 0 and {{ n - 1 }} and customer_months.is_active then 1 else 0 end
        ) as active_months_3m,
        sum(
            case when reporting_months.months_back between {{ n }} and {{ 2 * n - 1 }} and customer_months.is_active then 1 else 0 end
        ) as active_months_previous_3m
    from customer_months
    inner join reporting_months
        on customer_months.month_start_date = reporting_months.month_start_date
    group by customer_months.customer_id
),

latest_month as (
    select churn_months.*
    from churn_months
    inner join reporting_months
        on churn_months.month_start_date = reporting_months.month_start_date
    where reporting_months.months_back = 0
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
        month_totals.customer_id,
        as_of_dates.as_of_date,
        latest_month.month_start_date as latest_complete_month_start_date,
        latest_month.aum_trend_3m,
        cast(
            case
                when month_totals.outflow_amount_3m > 0
                    then round(month_totals.other_bank_outflow_amount_3m / month_totals.outflow_amount_3m, 4)
            end as decimal(9, 4)
        ) as other_bank_outflow_share_3m,
        cast(coalesce(maturing_deposits.maturing_time_deposit_count, 0) as integer)
            as maturing_time_deposit_count_30d,
        cast(coalesce(maturing_deposits.maturing_time_deposit_amount, 0) as decimal(18, 2))
            as maturing_time_deposit_amount_30d,
        (month_totals.payroll_months_latest = 0 and month_totals.payroll_months_before = {{ n }})
            as is_payroll_missing,
        cast(coalesce(recent_complaints.complaint_count_90d, 0) as integer) as complaint_count_90d,
        cast(month_totals.active_months_3m as integer) as active_months_3m,
        cast(month_totals.active_months_previous_3m - month_totals.active_months_3m as integer)
            as active_months_fall,
        coalesce(latest_month.is_churned, false) as is_churned_latest_month,
        latest_month.lifecycle_stage
    from month_totals
    cross join as_of_dates
    left join latest_month
        on month_totals.customer_id = latest_month.customer_id
    left join maturing_deposits
        on month_totals.customer_id = maturing_deposits.customer_id
    left join recent_complaints
        on month_totals.customer_id = recent_complaints.customer_id
)

select * from final
