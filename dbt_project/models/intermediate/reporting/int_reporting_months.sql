-- One row per calendar month of the reporting window, numbered back from the
-- latest complete month (months_back 0; the partial as-of month, if any, is -1).
-- Rolling windows ("last 12 months", "last 3 months") are months_back 0..n-1,
-- so every mart counts the same months (docs/metrics.md: monthly figures use the
-- latest complete month).
with

calendar as (
    select * from {{ ref('int_calendar_days') }}
),

reporting_window as (
    select * from {{ ref('int_reporting_window') }}
),

months as (
    select
        calendar.month_start_date,
        calendar.month_end_date,
        min(calendar.calendar_date) as first_covered_date,
        max(calendar.calendar_date) as last_covered_date,
        count(*) as covered_day_count
    from calendar
    group by calendar.month_start_date, calendar.month_end_date
),

flagged as (
    select
        months.*,
        (
            months.first_covered_date = months.month_start_date
            and months.last_covered_date = months.month_end_date
        ) as is_complete_month
    from months
),

-- position 1 is the latest month; months_back is the distance to the latest
-- complete month (all negative, so no rolling window matches, if none is complete)
positioned as (
    select
        flagged.*,
        row_number() over (order by flagged.month_start_date desc) as month_position
    from flagged
),

latest_complete as (
    select
        coalesce(
            min(case when is_complete_month then month_position end),
            max(month_position) + 1
        ) as month_position
    from positioned
),

final as (
    select
        positioned.month_start_date,
        positioned.month_end_date,
        positioned.first_covered_date,
        positioned.last_covered_date,
        cast(positioned.covered_day_count as integer) as covered_day_count,
        positioned.is_complete_month,
        cast(positioned.month_position - latest_complete.month_position as integer) as months_back,
        reporting_window.as_of_date
    from positioned
    cross join latest_complete
    cross join reporting_window
)

select * from final
