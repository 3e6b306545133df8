-- One row per customer and calendar day from the first day of the month their
-- first account opened up to the as-of date: the sum of the end-of-day balances
-- of their AUM accounts (deposits and investments), 0 on days with none open.
-- A drill-down view for analysts like int_account_balances_carried_forward: no
-- model reads it (month figures come from int_customer_months_aggregated).
-- Select from it only with a filter on customer_id.
with

accounts as (
    select * from {{ ref('stg_core_banking__accounts') }}
),

account_balances as (
    select * from {{ ref('int_account_balances_carried_forward') }}
),

calendar as (
    select * from {{ ref('int_calendar_days') }}
),

customer_first_months as (
    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'min(opened_date)') }} as date) as first_month_start_date
    from accounts
    group by customer_id
),

customer_days as (
    select
        customer_first_months.customer_id,
        calendar.calendar_date as aum_date
    from customer_first_months
    inner join calendar
        on customer_first_months.first_month_start_date <= calendar.calendar_date
),

aum_by_day as (
    select
        customer_id,
        balance_date as aum_date,
        sum(balance_amount) as aum_amount
    from account_balances
    where is_aum
    group by customer_id, balance_date
),

final as (
    select
        customer_days.customer_id,
        customer_days.aum_date,
        cast(coalesce(aum_by_day.aum_amount, 0) as decimal(18, 2)) as aum_amount
    from customer_days
    left join aum_by_day
        on
            customer_days.customer_id = aum_by_day.customer_id
            and customer_days.aum_date = aum_by_day.aum_date
)

select * from final
