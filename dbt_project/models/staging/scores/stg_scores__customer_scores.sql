-- Scores written back by the Python scoring step, one row per customer and
-- score date; built after scoring (tag needs_scores, set in the YAML beside this file).
with

source as (
    select * from {{ source('scores', 'customer_scores') }}
),

renamed as (
    select
        -- ids
        customer_id,
        model_version,
        run_id as scoring_run_id,
        cast(segment_id as integer) as segment_id,

        -- strings
        churn_risk_band,
        reason_code_1,
        reason_code_2,
        reason_code_3,
        reason_summary,
        segment_name,

        -- numerics
        cast(churn_probability as double precision) as churn_probability,
        cast(expected_transactions_12m as double precision) as expected_transactions_12m,
        cast(probability_alive as double precision) as probability_alive,
        cast(expected_value_per_transaction as double precision) as expected_value_per_transaction,
        cast(predicted_value_12m as double precision) as predicted_value_12m,

        -- dates
        cast(score_date as date) as score_date,
        cast(feature_month_start_date as date) as feature_month_start_date,

        -- timestamps
        cast(scored_at as timestamp) as scored_at

    from source
),

final as (
    select * from renamed
)

select * from final
