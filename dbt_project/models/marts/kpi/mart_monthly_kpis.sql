-- One row per complete month, customer type and value tier, plus a rollup row
-- per month and customer type with value_tier 'all' (docs/metrics.md "Active in a
-- month", "Value tier", "Churn", "Tier migration"):
--   * customers = customers with a value tier in the month (an account open on
--     some day of it); new = their first account opened in the month;
--   * active / digitally active counts and their share of the customers;
--   * AUM = sum of the customers' month-average AUM;
--   * churned = churn events of the month (fct_customer_churn_months.is_churned),
--     counted in the tier the customer held the month before (the tier they
--     churned from; this month's tier when they had none); churn rate = churned /
--     customers of that tier the month before (empty in the first reported month,
--     which has no month before it);
--   * upgrades / downgrades = customers who moved into the tier this month from a
--     lower / higher tier (fct_customer_tier_migrations).
-- The partial as-of month is left out.
with

reporting_months as (
    select * from {{ ref('int_reporting_months') }}
),

customer_months as (
    select * from {{ ref('fct_customer_months') }}
),

accounts as (
    select * from {{ ref('stg_core_banking__accounts') }}
),

churn_months as (
    select * from {{ ref('fct_customer_churn_months') }}
),

tier_migrations as (
    select * from {{ ref('fct_customer_tier_migrations') }}
),

value_tier_thresholds as (
    select * from {{ ref('value_tier_thresholds') }}
),

complete_months as (
    select
        month_start_date,
        month_end_date
    from reporting_months
    where is_complete_month
),

tiers as (
    select distinct
        customer_type,
        value_tier
    from value_tier_thresholds
    union all
    select distinct
        customer_type,
        'all' as value_tier
    from value_tier_thresholds
),

spine as (
    select
        complete_months.month_start_date,
        complete_months.month_end_date,
        tiers.customer_type,
        tiers.value_tier
    from complete_months
    cross join tiers
),

customer_first_accounts as (
    select
        customer_id,
        min(opened_date) as first_opened_date
    from accounts
    group by customer_id
),

-- each customer month with a tier, once under its tier and once under 'all'
tiered_customer_months as (
    select
        customer_months.customer_id,
        customer_months.month_start_date,
        customer_months.customer_type,
        customer_months.value_tier,
        customer_months.month_average_aum,
        customer_months.is_active,
        customer_months.is_digitally_active,
        (
            customer_first_accounts.first_opened_date >= customer_months.month_start_date
            and customer_first_accounts.first_opened_date <= customer_months.month_end_date
        ) as is_new
    from customer_months
    inner join complete_months
        on customer_months.month_start_date = complete_months.month_start_date
    inner join customer_first_accounts
        on customer_months.customer_id = customer_first_accounts.customer_id
    where customer_months.value_tier is not null
),

tiered_customer_months_rolled_up as (
    select * from tiered_customer_months
    union all
    select
        customer_id,
        month_start_date,
        customer_type,
        'all' as value_tier,
        month_average_aum,
        is_active,
        is_digitally_active,
        is_new
    from tiered_customer_months
),

customer_figures as (
    select
        month_start_date,
        customer_type,
        value_tier,
        count(*) as customer_count,
        sum(case when is_new then 1 else 0 end) as new_customer_count,
        sum(case when is_active then 1 else 0 end) as active_customer_count,
        sum(case when is_digitally_active then 1 else 0 end) as digitally_active_customer_count,
        sum(month_average_aum) as month_average_aum_total
    from tiered_customer_months_rolled_up
    group by month_start_date, customer_type, value_tier
),

-- customers per tier the month before (the churn-rate base): every customer with
-- a tier last month has a migration row this month, from_tier = that tier
opening_migrations as (
    select
        month_start_date,
        customer_type,
        from_tier as value_tier
    from tier_migrations
    where from_tier <> 'new'
    union all
    select
        month_start_date,
        customer_type,
        'all' as value_tier
    from tier_migrations
    where from_tier <> 'new'
),

opening_figures as (
    select
        month_start_date,
        customer_type,
        value_tier,
        count(*) as opening_customer_count
    from opening_migrations
    group by month_start_date, customer_type, value_tier
),

months_with_previous as (
    select distinct month_start_date from tier_migrations
),

churn_events as (
    select
        churn_months.customer_id,
        churn_months.month_start_date,
        customer_months.customer_type,
        coalesce(
            case when tier_migrations.from_tier <> 'new' then tier_migrations.from_tier end,
            customer_months.value_tier
        ) as churned_from_tier,
        churn_months.churn_reason
    from churn_months
    inner join complete_months
        on churn_months.month_start_date = complete_months.month_start_date
    inner join customer_months
        on
            churn_months.customer_id = customer_months.customer_id
            and churn_months.month_start_date = customer_months.month_start_date
    left join tier_migrations
        on
            churn_months.customer_id = tier_migrations.customer_id
            and churn_months.month_start_date = tier_migrations.month_start_date
    where churn_months.is_churned
),

churn_events_rolled_up as (
    select
        month_start_date,
        customer_type,
        churned_from_tier as value_tier,
        churn_reason
    from churn_events
    where churned_from_tier is not null
    union all
    select
        month_start_date,
        customer_type,
        'all' as value_tier,
        churn_reason
    from churn_events
),

churn_figures as (
    select
        month_start_date,
        customer_type,
        value_tier,
        count(*) as churned_customer_count,
        sum(case when churn_reason = 'property_purchase' then 1 else 0 end)
            as churned_property_purchase_count,
        sum(case when churn_reason = 'campaign_deposit_maturity' then 1 else 0 end)
            as churned_campaign_deposit_maturity_count,
        sum(case when churn_reason = 'rate_competition' then 1 else 0 end)
            as churned_rate_competition_count,
        sum(case when churn_reason = 'service_dissatisfaction' then 1 else 0 end)
            as churned_service_dissatisfaction_count,
        sum(case when churn_reason = 'disengagement' then 1 else 0 end)
            as churned_disengagement_count
    from churn_events_rolled_up
    group by month_start_date, customer_type, value_tier
),

migration_moves as (
    select
        month_start_date,
        customer_type,
        to_tier as value_tier,
        is_upgrade,
        is_downgrade
    from tier_migrations
    where is_upgrade or is_downgrade
    union all
    select
        month_start_date,
        customer_type,
        'all' as value_tier,
        is_upgrade,
        is_downgrade
    from tier_migrations
    where is_upgrade or is_downgrade
),

migration_figures as (
    select
        month_start_date,
        customer_type,
        value_tier,
        sum(case when is_upgrade then 1 else 0 end) as upgraded_customer_count,
        sum(case when is_downgrade then 1 else 0 end) as downgraded_customer_count
    from migration_moves
    group by month_start_date, customer_type, value_tier
),

joined as (
    select
        spine.month_start_date,
        spine.month_end_date,
        spine.customer_type,
        spine.value_tier,
        months_with_previous.month_start_date is not null as has_previous_month,
        coalesce(customer_figures.customer_count, 0) as customer_count,
        coalesce(customer_figures.new_customer_count, 0) as new_customer_count,
        coalesce(customer_figures.active_customer_count, 0) as active_customer_count,
        coalesce(customer_figures.digitally_active_customer_count, 0)
            as digitally_active_customer_count,
        coalesce(customer_figures.month_average_aum_total, 0) as month_average_aum_total,
        coalesce(opening_figures.opening_customer_count, 0) as opening_customer_count,
        coalesce(churn_figures.churned_customer_count, 0) as churned_customer_count,
        coalesce(churn_figures.churned_property_purchase_count, 0)
            as churned_property_purchase_count,
        coalesce(churn_figures.churned_campaign_deposit_maturity_count, 0)
            as churned_campaign_deposit_maturity_count,
        coalesce(churn_figures.churned_rate_competition_count, 0)
            as churned_rate_competition_count,
        coalesce(churn_figures.churned_service_dissatisfaction_count, 0)
            as churned_service_dissatisfaction_count,
        coalesce(churn_figures.churned_disengagement_count, 0) as churned_disengagement_count,
        coalesce(migration_figures.upgraded_customer_count, 0) as upgraded_customer_count,
        coalesce(migration_figures.downgraded_customer_count, 0) as downgraded_customer_count
    from spine
    left join months_with_previous
        on spine.month_start_date = months_with_previous.month_start_date
    left join customer_figures
        on
            spine.month_start_date = customer_figures.month_start_date
            and spine.customer_type = customer_figures.customer_type
            and spine.value_tier = customer_figures.value_tier
    left join opening_figures
        on
            spine.month_start_date = opening_figures.month_start_date
            and spine.customer_type = opening_figures.customer_type
            and spine.value_tier = opening_figures.value_tier
    left join churn_figures
        on
            spine.month_start_date = churn_figures.month_start_date
            and spine.customer_type = churn_figures.customer_type
            and spine.value_tier = churn_figures.value_tier
    left join migration_figures
        on
            spine.month_start_date = migration_figures.month_start_date
            and spine.customer_type = migration_figures.customer_type
            and spine.value_tier = migration_figures.value_tier
),

final as (
    select
        month_start_date,
        month_end_date,
        customer_type,
        value_tier,
        cast(customer_count as integer) as customer_count,
        cast(new_customer_count as integer) as new_customer_count,
        cast(active_customer_count as integer) as active_customer_count,
        cast(digitally_active_customer_count as integer) as digitally_active_customer_count,
        cast(
            {{ round_half_up('active_customer_count', 'customer_count', scale=4) }}
            as decimal(9, 4)
        ) as active_rate,
        cast(
            {{ round_half_up('digitally_active_customer_count', 'customer_count', scale=4) }}
            as decimal(9, 4)
        ) as digitally_active_rate,
        cast(month_average_aum_total as decimal(20, 2)) as month_average_aum_total,
        cast(
            {{ round_half_up('month_average_aum_total', 'customer_count', input_scale=2) }}
            as decimal(18, 2)
        ) as month_average_aum_per_customer,
        cast(case when has_previous_month then opening_customer_count end as integer)
            as opening_customer_count,
        cast(churned_customer_count as integer) as churned_customer_count,
        cast(
            {{ round_half_up(
                'churned_customer_count',
                'case when has_previous_month then opening_customer_count end',
                scale=4
            ) }} as decimal(9, 4)
        ) as churn_rate,
        cast(churned_property_purchase_count as integer) as churned_property_purchase_count,
        cast(churned_campaign_deposit_maturity_count as integer)
            as churned_campaign_deposit_maturity_count,
        cast(churned_rate_competition_count as integer) as churned_rate_competition_count,
        cast(churned_service_dissatisfaction_count as integer)
            as churned_service_dissatisfaction_count,
        cast(churned_disengagement_count as integer) as churned_disengagement_count,
        cast(upgraded_customer_count as integer) as upgraded_customer_count,
        cast(downgraded_customer_count as integer) as downgraded_customer_count
    from joined
)

select * from final
