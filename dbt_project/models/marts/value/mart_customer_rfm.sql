-- One row per customer with an account: RFM as of the as-of date (docs/metrics.md
-- "RFM"): R = days since the latest customer-initiated transaction, F = their
-- count in the last rfm_frequency_days days, M = contribution over the last
-- value_lookback_months complete months (mart_customer_value.contribution_12m);
-- scores 1-5 by quintile (macro quintile_score) and the named segment from the
-- seed rfm_segments on the R score and the FM score (F and M averaged, half up).
{%- set frequency_days = var('rfm_frequency_days') | int %}

with

customer_months as (
    select * from {{ ref('fct_customer_months') }}
),

reporting_months as (
    select * from {{ ref('int_reporting_months') }}
),

transactions as (
    select * from {{ ref('int_transactions_classified') }}
),

customer_values as (
    select * from {{ ref('mart_customer_value') }}
),

rfm_segments as (
    select * from {{ ref('rfm_segments') }}
),

-- the as-of month: its last covered day is the as-of date
as_of_months as (
    select
        customer_months.customer_id,
        customer_months.last_customer_initiated_date,
        customer_months.days_since_last_customer_initiated,
        reporting_months.as_of_date
    from customer_months
    inner join reporting_months
        on
            customer_months.month_start_date = reporting_months.month_start_date
            and reporting_months.last_covered_date = reporting_months.as_of_date
),

-- F over the window (as_of_date - frequency_days, as_of_date]: the customer months after
-- the window's first month count their customer-initiated transactions already (up to
-- the as-of date); only the first month is counted from the transactions, from the
-- window's first day on. So F reads one month of transactions, not a year.
frequency_window as (
    select
        as_of_date,
        {{ dbt.dateadd('day', 1 - frequency_days, 'as_of_date') }} as window_start_date,
        cast({{ dbt.date_trunc('month', dbt.dateadd('day', 1 - frequency_days, 'as_of_date')) }} as date)
            as first_month_start_date
    from reporting_months
    where last_covered_date = as_of_date
),

frequencies_after_first_month as (
    select
        customer_months.customer_id,
        sum(customer_months.customer_initiated_transaction_count) as frequency_count
    from customer_months
    cross join frequency_window
    where customer_months.month_start_date > frequency_window.first_month_start_date
    group by customer_months.customer_id
),

frequencies_in_first_month as (
    select
        transactions.customer_id,
        count(*) as frequency_count
    from transactions
    cross join frequency_window
    where
        transactions.is_customer_initiated
        and transactions.transaction_date >= frequency_window.window_start_date
        and transactions.transaction_date
        < {{ dbt.dateadd('month', 1, 'frequency_window.first_month_start_date') }}
        and transactions.transaction_date <= frequency_window.as_of_date
    group by transactions.customer_id
),

frequencies as (
    select
        as_of_months.customer_id,
        coalesce(frequencies_after_first_month.frequency_count, 0)
        + coalesce(frequencies_in_first_month.frequency_count, 0) as frequency_count
    from as_of_months
    left join frequencies_after_first_month
        on as_of_months.customer_id = frequencies_after_first_month.customer_id
    left join frequencies_in_first_month
        on as_of_months.customer_id = frequencies_in_first_month.customer_id
),

measured as (
    select
        as_of_months.customer_id,
        as_of_months.last_customer_initiated_date,
        as_of_months.days_since_last_customer_initiated as recency_days,
        cast(coalesce(frequencies.frequency_count, 0) as integer) as frequency_count,
        customer_values.contribution_12m as monetary_amount
    from as_of_months
    inner join customer_values
        on as_of_months.customer_id = customer_values.customer_id
    left join frequencies
        on as_of_months.customer_id = frequencies.customer_id
),

-- worst first: no transaction at all, then the most days since the latest one
scored as (
    select
        measured.*,
        {{ quintile_score(
            'case when recency_days is null then 0 else 1 end, recency_days desc'
        ) }} as recency_score,
        {{ quintile_score('frequency_count') }} as frequency_score,
        {{ quintile_score('monetary_amount') }} as monetary_score
    from measured
),

final as (
    select
        scored.customer_id,
        scored.last_customer_initiated_date,
        scored.recency_days,
        scored.frequency_count,
        scored.monetary_amount,
        scored.recency_score,
        scored.frequency_score,
        scored.monetary_score,
        cast(ceil((scored.frequency_score + scored.monetary_score) / 2.0) as integer)
            as frequency_monetary_score,
        rfm_segments.rfm_segment
    from scored
    left join rfm_segments
        on
            scored.recency_score = rfm_segments.recency_score
            and cast(ceil((scored.frequency_score + scored.monetary_score) / 2.0) as integer)
            = rfm_segments.frequency_monetary_score
)

select * from final
