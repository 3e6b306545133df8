-- Churn scores written back by the Python scoring step; built after scoring
-- (tag needs_scores, set in the YAML beside this file).
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

        -- strings
        churn_risk_band,

        -- numerics
        cast(churn_probability as double precision) as churn_probability,

        -- dates
        cast(score_date as date) as score_date,

        -- timestamps
        cast(scored_at as timestamp) as scored_at

    from source
),

final as (
    select * from renamed
)

select * from final
