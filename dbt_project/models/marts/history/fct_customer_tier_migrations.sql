-- One row per customer and complete month in which the customer had a value
-- tier in the month or in the month before (docs/metrics.md "Tier migration"):
-- from_tier is last month's tier, or `new` when the customer had none (no
-- account yet, or none open); to_tier is this month's, or `churned` when the
-- customer had a tier last month and has none now (no open account).
-- The first month of the reporting window has no month before it and is left
-- out; the partial as-of month is left out. Months are paired through
-- int_reporting_months.months_back (no date arithmetic, portable).
with

customer_months as (
    select * from {{ ref('fct_customer_months') }}
),

reporting_months as (
    select * from {{ ref('int_reporting_months') }}
),

value_tier_ranks as (
    select * from {{ ref('value_tier_ranks') }}
),

-- complete months paired with the month before, which must be in the window
month_pairs as (
    select
        reported.month_start_date,
        reported.month_end_date,
        previous_months.month_start_date as previous_month_start_date
    from reporting_months as reported
    inner join reporting_months as previous_months
        on previous_months.months_back = reported.months_back + 1
    where reported.is_complete_month and reported.months_back >= 0
),

tiered_months as (
    select
        customer_id,
        month_start_date
    from customer_months
    where value_tier is not null
),

-- every customer with a tier in the month or in the month before
customer_month_pairs as (
    select
        tiered_months.customer_id,
        month_pairs.month_start_date
    from tiered_months
    inner join month_pairs
        on tiered_months.month_start_date = month_pairs.month_start_date
    union
    select
        tiered_months.customer_id,
        month_pairs.month_start_date
    from tiered_months
    inner join month_pairs
        on tiered_months.month_start_date = month_pairs.previous_month_start_date
),

paired as (
    select
        customer_month_pairs.customer_id,
        month_pairs.month_start_date,
        month_pairs.month_end_date,
        month_pairs.previous_month_start_date,
        coalesce(current_months.customer_type, previous_months.customer_type) as customer_type,
        previous_months.value_tier as previous_value_tier,
        current_months.value_tier as current_value_tier,
        coalesce(previous_months.month_average_aum, 0) as previous_month_average_aum,
        coalesce(current_months.month_average_aum, 0) as month_average_aum
    from customer_month_pairs
    inner join month_pairs
        on customer_month_pairs.month_start_date = month_pairs.month_start_date
    left join customer_months as current_months
        on
            customer_month_pairs.customer_id = current_months.customer_id
            and month_pairs.month_start_date = current_months.month_start_date
    left join customer_months as previous_months
        on
            customer_month_pairs.customer_id = previous_months.customer_id
            and month_pairs.previous_month_start_date = previous_months.month_start_date
),

ranked as (
    select
        paired.*,
        previous_ranks.tier_rank as from_tier_rank,
        current_ranks.tier_rank as to_tier_rank
    from paired
    left join value_tier_ranks as previous_ranks
        on paired.previous_value_tier = previous_ranks.value_tier
    left join value_tier_ranks as current_ranks
        on paired.current_value_tier = current_ranks.value_tier
),

final as (
    select
        ranked.customer_id,
        ranked.month_start_date,
        ranked.month_end_date,
        ranked.previous_month_start_date,
        ranked.customer_type,
        coalesce(ranked.previous_value_tier, 'new') as from_tier,
        coalesce(ranked.current_value_tier, 'churned') as to_tier,
        cast(ranked.from_tier_rank as integer) as from_tier_rank,
        cast(ranked.to_tier_rank as integer) as to_tier_rank,
        case
            when ranked.previous_value_tier is null then 'new'
            when ranked.current_value_tier is null then 'churned'
            when ranked.to_tier_rank > ranked.from_tier_rank then 'upgrade'
            when ranked.to_tier_rank < ranked.from_tier_rank then 'downgrade'
            else 'unchanged'
        end as migration_type,
        coalesce(ranked.to_tier_rank > ranked.from_tier_rank, false) as is_upgrade,
        coalesce(ranked.to_tier_rank < ranked.from_tier_rank, false) as is_downgrade,
        cast(ranked.previous_month_average_aum as decimal(18, 2)) as previous_month_average_aum,
        cast(ranked.month_average_aum as decimal(18, 2)) as month_average_aum
    from ranked
)

select * from final
