-- The current churn score of each customer (their latest score date) with the
-- customer's descriptive fields. Reads the scores written by the Python
-- scoring step, so it is tagged needs_scores and built after scoring.
with

scores as (
    select * from {{ ref('stg_scores__customer_scores') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
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

final as (
    select
        customers.customer_id,
        customers.customer_type,
        customers.city,
        customers.value_tier,
        latest_scores.score_date,
        latest_scores.churn_probability,
        latest_scores.churn_risk_band,
        latest_scores.model_version,
        latest_scores.scored_at
    from latest_scores
    inner join customers
        on latest_scores.customer_id = customers.customer_id
    where latest_scores.score_rank = 1
)

select * from final
