-- One row per calendar day of the reporting window (history start to as-of date):
-- the spine that balances are carried along and months are built from.
with

reporting_window as (
    select * from {{ ref('int_reporting_window') }}
),

days as (
    {{ date_spine(
        '(select reporting_window.history_start_date from reporting_window)',
        '(select reporting_window.as_of_date from reporting_window)',
    ) }}
),

final as (
    select
        days.date_day as calendar_date,
        cast({{ dbt.date_trunc('month', 'days.date_day') }} as date) as month_start_date,
        cast({{ dbt.last_day('days.date_day', 'month') }} as date) as month_end_date
    from days
)

select * from final
