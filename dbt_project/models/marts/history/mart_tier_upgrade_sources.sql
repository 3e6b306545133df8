-- Upgrade source (docs/metrics.md "Tier migration"): per complete month, customer
-- type and value tier, of the customers in the tier that month, how many were in
-- a lower tier var tier_upgrade_lookback_months (12) months earlier, how many
-- are new since then (no tier then: no account, or none open) and how many were
-- in the same or a higher tier. When the lookback month is outside the reporting
-- window (less history than that), has_full_lookback is false and the
-- breakdown is empty: everyone would otherwise look new.
{%- set lookback_months = var('tier_upgrade_lookback_months') %}

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

-- complete months with the month lookback_months earlier, when it is in the window
lookback_months as (
    select
        reported.month_start_date,
        earlier_months.month_start_date as lookback_month_start_date,
        earlier_months.month_start_date is not null as has_full_lookback
    from reporting_months as reported
    left join reporting_months as earlier_months
        on earlier_months.months_back = reported.months_back + {{ lookback_months }}
    where reported.is_complete_month and reported.months_back >= 0
),

classified as (
    select
        current_months.customer_id,
        current_months.month_start_date,
        current_months.customer_type,
        current_months.value_tier,
        lookback_months.lookback_month_start_date,
        lookback_months.has_full_lookback,
        case
            when not lookback_months.has_full_lookback then null
            when earlier_months.value_tier is null then 'new'
            when earlier_ranks.tier_rank < current_ranks.tier_rank then 'lower_tier'
            else 'same_or_higher_tier'
        end as lookback_source
    from customer_months as current_months
    inner join lookback_months
        on current_months.month_start_date = lookback_months.month_start_date
    left join customer_months as earlier_months
        on
            current_months.customer_id = earlier_months.customer_id
            and lookback_months.lookback_month_start_date = earlier_months.month_start_date
    left join value_tier_ranks as current_ranks
        on current_months.value_tier = current_ranks.value_tier
    left join value_tier_ranks as earlier_ranks
        on earlier_months.value_tier = earlier_ranks.value_tier
    where current_months.value_tier is not null
),

counted as (
    select
        month_start_date,
        customer_type,
        value_tier,
        lookback_month_start_date,
        has_full_lookback,
        count(*) as customer_count,
        sum(case when lookback_source = 'lower_tier' then 1 else 0 end) as from_lower_tier_count,
        sum(case when lookback_source = 'new' then 1 else 0 end) as new_customer_count,
        sum(case when lookback_source = 'same_or_higher_tier' then 1 else 0 end)
            as from_same_or_higher_tier_count
    from classified
    group by
        month_start_date,
        customer_type,
        value_tier,
        lookback_month_start_date,
        has_full_lookback
),

final as (
    select
        month_start_date,
        customer_type,
        value_tier,
        cast({{ lookback_months }} as integer) as lookback_months,
        lookback_month_start_date,
        has_full_lookback,
        cast(customer_count as integer) as customer_count,
        cast(case when has_full_lookback then from_lower_tier_count end as integer)
            as from_lower_tier_count,
        cast(case when has_full_lookback then new_customer_count end as integer)
            as new_customer_count,
        cast(case when has_full_lookback then from_same_or_higher_tier_count end as integer)
            as from_same_or_higher_tier_count,
        cast(
            case
                when has_full_lookback
                    then {{ round_half_up('from_lower_tier_count', 'customer_count', scale=4) }}
            end as decimal(5, 4)
        ) as from_lower_tier_share,
        cast(
            case
                when has_full_lookback
                    then {{ round_half_up('new_customer_count', 'customer_count', scale=4) }}
            end as decimal(5, 4)
        ) as new_customer_share,
        cast(
            case
                when has_full_lookback
                    then {{ round_half_up(
                        'from_same_or_higher_tier_count', 'customer_count', scale=4
                    ) }}
            end as decimal(5, 4)
        ) as from_same_or_higher_tier_share
    from counted
)

select * from final
