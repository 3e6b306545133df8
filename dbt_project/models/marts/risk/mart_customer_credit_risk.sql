-- One row per customer with an account: maximum days past due across their loan
-- and card instalments as of the as-of date, and its bucket from the seed
-- days_past_due_buckets (docs/metrics.md "Credit risk"; rule in _business_definitions.md).
-- Days past due are recomputed from the due and paid dates as of the as-of date,
-- so a backfill run does not see payments made after it.
with

customers as (
    select * from {{ ref('dim_customers') }}
),

accounts as (
    select * from {{ ref('stg_core_banking__accounts') }}
),

repayments as (
    select * from {{ ref('stg_loans__repayments') }}
),

reporting_window as (
    select * from {{ ref('int_reporting_window') }}
),

days_past_due_buckets as (
    select * from {{ ref('days_past_due_buckets') }}
),

customers_with_accounts as (
    select distinct customers.customer_id
    from customers
    inner join accounts
        on customers.customer_id = accounts.customer_id
),

-- instalments due before the as-of date and not paid by it
instalments_past_due as (
    select
        accounts.customer_id,
        repayments.repayment_id,
        repayments.amount_due - coalesce(repayments.amount_paid, 0) as amount_past_due,
        {{ dbt.datediff('repayments.due_date', 'reporting_window.as_of_date', 'day') }}
            as days_past_due
    from repayments
    inner join accounts
        on repayments.account_id = accounts.account_id
    cross join reporting_window
    where
        repayments.due_date < reporting_window.as_of_date
        and (repayments.paid_date is null or repayments.paid_date > reporting_window.as_of_date)
),

customer_totals as (
    select
        customer_id,
        max(days_past_due) as max_days_past_due,
        count(*) as past_due_instalment_count,
        sum(amount_past_due) as past_due_amount
    from instalments_past_due
    group by customer_id
),

measured as (
    select
        customers_with_accounts.customer_id,
        cast(coalesce(customer_totals.max_days_past_due, 0) as integer) as max_days_past_due,
        cast(coalesce(customer_totals.past_due_instalment_count, 0) as integer)
            as past_due_instalment_count,
        cast(coalesce(customer_totals.past_due_amount, 0) as decimal(18, 2)) as past_due_amount
    from customers_with_accounts
    left join customer_totals
        on customers_with_accounts.customer_id = customer_totals.customer_id
),

final as (
    select
        measured.customer_id,
        measured.max_days_past_due,
        days_past_due_buckets.days_past_due_bucket,
        measured.past_due_instalment_count,
        measured.past_due_amount
    from measured
    left join days_past_due_buckets
        on
            measured.max_days_past_due >= days_past_due_buckets.min_days_past_due
            and (
                days_past_due_buckets.max_days_past_due is null
                or measured.max_days_past_due <= days_past_due_buckets.max_days_past_due
            )
)

select * from final
