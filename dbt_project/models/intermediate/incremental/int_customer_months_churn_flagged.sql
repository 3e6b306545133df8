-- One row per customer and month of int_customer_months_aggregated with the churn events
-- (docs/metrics.md "Churn"), the modelling label, the 3-month AUM trend and the
-- lifecycle stage (docs/metrics.md "Lifecycle stage"; rules in _business_definitions.md).
-- Value-churn thresholds are vars (churn_value_*), lifecycle thresholds the seed
-- lifecycle_stage_thresholds. Customer months are contiguous from the first
-- account's month, so "the previous n months" are the previous n rows.
-- Incremental (folder intermediate/incremental): a run rebuilds the months from
-- macro churn_months_to_rebuild_from on (churn_label_horizon_months before the
-- earliest customer month that changed) and keeps the others; delete+insert on
-- month_start_date. The rebuilt months' windows read the customer months before
-- them (the context), and the latest churn before them is read from the kept
-- rows. A change of the churn vars or of the seed lifecycle_stage_thresholds needs
-- `dbt build --full-refresh`.
-- depends_on: {{ ref('stg_core_banking__customers') }}
{{ config(
    unique_key='month_start_date',
    post_hook="delete from {{ this }} where month_start_date > (select max(reporting_months.month_start_date) from {{ ref('int_reporting_months') }} as reporting_months)",
) }}
{%- set drop_ratio = var('churn_value_drop_ratio') %}
{%- set min_prior_aum = var('churn_value_min_prior_aum') %}
{%- set prior_months = var('churn_value_prior_months') | int %}
{%- set horizon = var('churn_label_horizon_months') | int %}
{%- set context_months = [prior_months, 3] | max %}
{%- if is_incremental() %}
    {%- set rebuild_from = churn_months_to_rebuild_from(
        this,
        ref('int_customer_months_aggregated'),
        ref('stg_core_banking__customers'),
        ref('int_accounts_classified'),
    ) %}
{%- endif %}

with

customer_months as (
    select * from {{ ref('int_customer_months_aggregated') }}
    {% if is_incremental() %}
        where month_start_date >= {{ dbt.dateadd('month', -context_months, rebuild_from) }}
    {% endif %}
),

-- the latest churn of each customer before the months rebuilt (kept rows)
earlier_churns as (
    {% if is_incremental() %}
        select
            kept.customer_id,
            max(kept.month_start_date) as latest_churn_month_start_date
        from {{ this }} as kept
        where kept.is_churned and kept.month_start_date < {{ rebuild_from }}
        group by kept.customer_id
    {% else %}
        select
            customer_months.customer_id,
            customer_months.month_start_date as latest_churn_month_start_date
        from customer_months
        where false
    {% endif %}
),

reporting_months as (
    select * from {{ ref('int_reporting_months') }}
),

accounts as (
    select * from {{ ref('int_accounts_classified') }}
),

lifecycle_stage_thresholds as (
    select * from {{ ref('lifecycle_stage_thresholds') }}
),

first_accounts as (
    select
        customer_id,
        min(opened_date) as first_opened_date
    from accounts
    group by customer_id
),

windowed as (
    select
        customer_months.customer_id,
        customer_months.month_start_date,
        customer_months.month_end_date,
        customer_months.is_complete_month,
        reporting_months.months_back,
        reporting_months.last_covered_date,
        first_accounts.first_opened_date,
        customer_months.month_average_aum,
        customer_months.has_open_account_at_month_end,
        customer_months.is_dormant,
        customer_months.loaded_at,
        count(*) over (
            partition by customer_months.customer_id
            order by customer_months.month_start_date
            rows between {{ prior_months }} preceding and 1 preceding
        ) as prior_month_count,
        -- a sum, not avg(): the comparisons below stay exact decimals
        sum(customer_months.month_average_aum) over (
            partition by customer_months.customer_id
            order by customer_months.month_start_date
            rows between {{ prior_months }} preceding and 1 preceding
        ) as prior_aum_total,
        lag(customer_months.month_average_aum, 3) over (
            partition by customer_months.customer_id
            order by customer_months.month_start_date
        ) as month_average_aum_3_months_before,
        lag(customer_months.has_open_account_at_month_end) over (
            partition by customer_months.customer_id
            order by customer_months.month_start_date
        ) as had_open_account_at_previous_month_end,
        lag(customer_months.is_dormant) over (
            partition by customer_months.customer_id
            order by customer_months.month_start_date
        ) as was_dormant_previous_month
    from customer_months
    inner join reporting_months
        on customer_months.month_start_date = reporting_months.month_start_date
    inner join first_accounts
        on customer_months.customer_id = first_accounts.customer_id
),

flagged as (
    select
        windowed.*,
        cast(
            case
                when windowed.prior_month_count = {{ prior_months }}
                    then {{ round_half_up('windowed.prior_aum_total', prior_months, input_scale=2) }}
            end as decimal(18, 2)
        ) as prior_3m_average_aum,
        not windowed.has_open_account_at_month_end as is_closed,
        (
            not windowed.has_open_account_at_month_end
            and coalesce(windowed.had_open_account_at_previous_month_end, true)
        ) as is_newly_closed,
        coalesce(
            windowed.prior_month_count = {{ prior_months }}
            and windowed.prior_aum_total >= {{ min_prior_aum }} * {{ prior_months }}
            and windowed.month_average_aum * {{ prior_months }}
            < {{ drop_ratio }} * windowed.prior_aum_total,
            false
        ) as is_value_churn,
        -- the first month of a customer's history cannot show a change
        (
            windowed.is_dormant
            and not coalesce(windowed.was_dormant_previous_month, windowed.is_dormant)
        ) as is_dormant_churn,
        case
            when windowed.month_average_aum_3_months_before > 0
                then cast({{ round_half_up(
                    'windowed.month_average_aum - windowed.month_average_aum_3_months_before',
                    'windowed.month_average_aum_3_months_before',
                    scale=4, input_scale=2
                ) }} as decimal(12, 4))
        end as aum_trend_3m,
        cast(
            {{ dbt.datediff('windowed.first_opened_date', 'windowed.last_covered_date', 'month') }}
            - case
                when
                    extract(day from windowed.last_covered_date)
                    < extract(day from windowed.first_opened_date)
                    then 1
                else 0
            end
            as integer
        ) as tenure_months
    from windowed
),

churned as (
    select
        flagged.*,
        (flagged.is_newly_closed or flagged.is_value_churn or flagged.is_dormant_churn)
            as is_churned
    from flagged
),

labelled as (
    select
        churned.*,
        max(case when churned.is_churned then 1 else 0 end) over (
            partition by churned.customer_id
            order by churned.month_start_date
            rows between 1 following and {{ horizon }} following
        ) as churns_in_horizon,
        coalesce(
            -- the context months before the rebuilt ones lack their own context
            max(
                case
                    when churned.is_churned {% if is_incremental() %}
                        and churned.month_start_date >= {{ rebuild_from }}{% endif %}
                        then churned.month_start_date
                end
            ) over (
                partition by churned.customer_id
                order by churned.month_start_date
                rows between unbounded preceding and current row
            ),
            earlier_churns.latest_churn_month_start_date
        ) as latest_churn_month_start_date
    from churned
    left join earlier_churns
        on churned.customer_id = earlier_churns.customer_id
),

-- lifecycle: first match from the end of the docs/metrics.md list backwards;
-- mature carries no condition of its own, so it is what is left
staged as (
    select
        labelled.*,
        case
            when labelled.months_back < {{ horizon }} then null
            when labelled.is_closed then null
            else labelled.churns_in_horizon = 1
        end as churn_label_3m,
        case
            when
                labelled.is_closed
                or labelled.month_start_date < {{ dbt.dateadd(
                    'month',
                    'lifecycle_stage_thresholds.churned_stage_months',
                    'labelled.latest_churn_month_start_date'
                ) }}
                then 'churned'
            when labelled.is_dormant then 'dormant'
            when labelled.aum_trend_3m < lifecycle_stage_thresholds.declining_max_aum_trend
                then 'declining'
            when labelled.aum_trend_3m > lifecycle_stage_thresholds.growing_min_aum_trend
                then 'growing'
            when labelled.tenure_months < lifecycle_stage_thresholds.new_max_tenure_months
                then 'new'
            else 'mature'
        end as lifecycle_stage
    from labelled
    cross join lifecycle_stage_thresholds
),

final as (
    select
        customer_id,
        month_start_date,
        month_end_date,
        is_complete_month,
        month_average_aum,
        prior_3m_average_aum,
        aum_trend_3m,
        tenure_months,
        is_closed,
        is_newly_closed,
        is_value_churn,
        is_dormant_churn,
        is_churned,
        churn_label_3m,
        is_dormant,
        lifecycle_stage,
        loaded_at
    from staged
    {% if is_incremental() %}
        where month_start_date >= {{ rebuild_from }}
    {% endif %}
)

select * from final
