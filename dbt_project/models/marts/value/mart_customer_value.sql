-- One row per customer with an account: value tier of the latest complete month
-- (from dim_customers), contribution and inflows over the last
-- value_lookback_months complete months, and the potential flag (docs/metrics.md
-- "Contribution", "Value tier", "Potential"; rule in _business_definitions.md).
{%- set lookback_months = var('value_lookback_months') | int %}
{%- set potential_ratio = var('potential_inflow_to_next_tier_median_ratio') %}

with

customer_months as (
    select * from {{ ref('fct_customer_months') }}
),

reporting_months as (
    select * from {{ ref('int_reporting_months') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

value_tier_thresholds as (
    select * from {{ ref('value_tier_thresholds') }}
),

customer_months_windowed as (
    select
        customer_months.*,
        reporting_months.months_back
    from customer_months
    inner join reporting_months
        on customer_months.month_start_date = reporting_months.month_start_date
),

window_totals as (
    select
        customer_id,
        sum(
            case
                when months_back between 0 and {{ lookback_months - 1 }} then contribution_amount
                else 0
            end
        ) as contribution_12m,
        sum(
            case
                when months_back between 0 and {{ lookback_months - 1 }} then inflow_amount
                else 0
            end
        ) as inflow_12m,
        max(case when months_back = 0 then month_average_aum end) as month_average_aum
    from customer_months_windowed
    group by customer_id
),

-- the next tier up of each tier: the one with the next higher minimum for the same customer type
next_tiers as (
    select
        customer_type,
        value_tier,
        lead(value_tier) over (
            partition by customer_type
            order by min_month_average_aum
        ) as next_value_tier
    from value_tier_thresholds
),

tier_medians as (
    select
        customers.customer_type,
        customers.value_tier,
        -- the median of an even count can end in a half cent: taken with one more
        -- decimal (DuckDB truncates a decimal median to its input's scale), then
        -- rounded half up once
        cast(
            {{ round_half_up(
                median('cast(window_totals.month_average_aum as decimal(38, 3))'), input_scale=3
            ) }} as decimal(18, 2)
        ) as median_month_average_aum
    from customers
    inner join window_totals
        on customers.customer_id = window_totals.customer_id
    where customers.value_tier is not null
    group by customers.customer_type, customers.value_tier
),

final as (
    select
        customers.customer_id,
        customers.customer_type,
        customers.value_tier,
        customers.value_tier_month_start_date,
        cast(window_totals.month_average_aum as decimal(18, 2)) as month_average_aum,
        cast(window_totals.contribution_12m as decimal(18, 2)) as contribution_12m,
        cast(window_totals.inflow_12m as decimal(18, 2)) as inflow_12m,
        next_tiers.next_value_tier,
        tier_medians.median_month_average_aum as next_tier_median_month_average_aum,
        coalesce(
            window_totals.inflow_12m
            >= {{ potential_ratio }} * tier_medians.median_month_average_aum,
            false
        ) as is_potential
    from window_totals
    inner join customers
        on window_totals.customer_id = customers.customer_id
    left join next_tiers
        on
            customers.customer_type = next_tiers.customer_type
            and customers.value_tier = next_tiers.value_tier
    left join tier_medians
        on
            next_tiers.customer_type = tier_medians.customer_type
            and next_tiers.next_value_tier = tier_medians.value_tier
)

select * from final
