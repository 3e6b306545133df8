-- One row per customer, no personal data: descriptive fields and the value tier
-- of the latest complete month (docs/metrics.md "Value tier"). A customer is listed
-- from the onboarding date or the first account's month, whichever comes first, up
-- to the as-of date: a re-run of a past date with later files loaded does not list
-- the customers who came after it.
with

customers as (
    select * from {{ ref('stg_core_banking__customers') }}
),

customer_months as (
    select * from {{ ref('fct_customer_months') }}
),

reporting_window as (
    select * from {{ ref('int_reporting_window') }}
),

existing_customers as (
    select customers.customer_id
    from customers
    cross join reporting_window
    where customers.onboarded_date <= reporting_window.as_of_date
    union
    select customer_months.customer_id
    from customer_months
),

latest_complete_months as (
    select
        customer_id,
        max(month_start_date) as month_start_date
    from customer_months
    where is_complete_month
    group by customer_id
),

current_tiers as (
    select
        customer_months.customer_id,
        customer_months.month_start_date,
        customer_months.value_tier
    from customer_months
    inner join latest_complete_months
        on
            customer_months.customer_id = latest_complete_months.customer_id
            and customer_months.month_start_date = latest_complete_months.month_start_date
),

final as (
    select
        customers.customer_id,
        customers.customer_type,
        customers.city,
        customers.gender,
        customers.birth_year,
        customers.home_branch_id,
        customers.onboarded_date,
        current_tiers.value_tier,
        current_tiers.month_start_date as value_tier_month_start_date
    from customers
    inner join existing_customers
        on customers.customer_id = existing_customers.customer_id
    left join current_tiers
        on customers.customer_id = current_tiers.customer_id
)

select * from final
