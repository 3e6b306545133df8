-- Tier migration matrix (docs/metrics.md "Tier migration"): customers and
-- month-average AUM per complete month, customer type, from tier and to tier,
-- from fct_customer_tier_migrations. Customer type is part of the grain because
-- the tier thresholds differ per type; sum over it for the bank-wide matrix.
-- Only the pairs that occur have a row.
with

migrations as (
    select * from {{ ref('fct_customer_tier_migrations') }}
),

final as (
    select
        month_start_date,
        customer_type,
        from_tier,
        to_tier,
        migration_type,
        is_upgrade,
        is_downgrade,
        cast(count(*) as integer) as customer_count,
        cast(sum(previous_month_average_aum) as decimal(18, 2)) as previous_month_average_aum,
        cast(sum(month_average_aum) as decimal(18, 2)) as month_average_aum
    from migrations
    group by
        month_start_date,
        customer_type,
        from_tier,
        to_tier,
        migration_type,
        is_upgrade,
        is_downgrade
)

select * from final
