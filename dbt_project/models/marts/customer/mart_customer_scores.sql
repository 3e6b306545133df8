-- The current scores of each customer (their latest score date): churn
-- probability, risk band and reason codes, lifetime value, behaviour segment,
-- and the potential flag that uses the predicted value (docs/metrics.md "Potential":
-- 12-month inflows *or* predicted 12-month value at or above the median of the
-- next tier up; the inflow half comes from mart_customer_value). Reads the scores
-- written by the Python scoring step: tagged needs_scores, built after scoring.
{%- set potential_ratio = var('potential_inflow_to_next_tier_median_ratio') %}

with

scores as (
    select * from {{ ref('stg_scores__customer_scores') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

customer_values as (
    select * from {{ ref('mart_customer_value') }}
),

latest_scores as (
    select
        scores.*,
        row_number() over (
            partition by scores.customer_id
            order by scores.score_date desc, scores.scored_at desc
        ) as score_rank
    from scores
),

current_scores as (
    select * from latest_scores
    where score_rank = 1
),

scored_customers as (
    select
        customers.customer_id,
        customers.customer_type,
        customers.city,
        customers.value_tier,
        customer_values.next_value_tier,
        customer_values.is_potential as is_potential_by_inflows,
        -- listed, not current_scores.*: a second customer_id is an ambiguous
        -- column on PostgreSQL (DuckDB renames it)
        current_scores.score_date,
        current_scores.feature_month_start_date,
        current_scores.churn_probability,
        current_scores.churn_risk_band,
        current_scores.reason_code_1,
        current_scores.reason_code_2,
        current_scores.reason_code_3,
        current_scores.reason_summary,
        current_scores.expected_transactions_12m,
        current_scores.probability_alive,
        current_scores.expected_value_per_transaction,
        current_scores.predicted_value_12m,
        current_scores.segment_id,
        current_scores.segment_name,
        current_scores.model_version,
        current_scores.scored_at
    from current_scores
    inner join customers
        on current_scores.customer_id = customers.customer_id
    left join customer_values
        on current_scores.customer_id = customer_values.customer_id
),

tier_value_medians as (
    select
        customer_type,
        value_tier,
        {{ median('predicted_value_12m') }} as median_predicted_value_12m
    from scored_customers
    where value_tier is not null and predicted_value_12m is not null
    group by customer_type, value_tier
),

final as (
    select
        scored_customers.customer_id,
        scored_customers.customer_type,
        scored_customers.city,
        scored_customers.value_tier,
        scored_customers.score_date,
        scored_customers.feature_month_start_date,
        scored_customers.churn_probability,
        scored_customers.churn_risk_band,
        scored_customers.reason_code_1,
        scored_customers.reason_code_2,
        scored_customers.reason_code_3,
        scored_customers.reason_summary,
        scored_customers.expected_transactions_12m,
        scored_customers.probability_alive,
        scored_customers.expected_value_per_transaction,
        scored_customers.predicted_value_12m,
        scored_customers.segment_id,
        scored_customers.segment_name,
        coalesce(
            scored_customers.predicted_value_12m
            >= {{ potential_ratio }} * tier_value_medians.median_predicted_value_12m,
            false
        ) as is_potential_by_predicted_value,
        coalesce(scored_customers.is_potential_by_inflows, false)
        or coalesce(
            scored_customers.predicted_value_12m
            >= {{ potential_ratio }} * tier_value_medians.median_predicted_value_12m,
            false
        ) as is_potential,
        scored_customers.model_version,
        scored_customers.scored_at
    from scored_customers
    left join tier_value_medians
        on
            scored_customers.customer_type = tier_value_medians.customer_type
            and scored_customers.next_value_tier = tier_value_medians.value_tier
)

select * from final
