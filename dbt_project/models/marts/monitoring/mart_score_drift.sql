-- Drift of the churn score and the top features per score date, for BI: the
-- population stability index against the approved model's training window
-- (scoring/drift.py). A shifted variable means the model sees customers unlike
-- those it was trained on: retrain or investigate.
with

score_drift as (
    select * from {{ ref('stg_scores__score_drift') }}
),

final as (
    select
        score_date,
        variable,
        population_stability_index,
        drift_status,
        drift_status = 'shifted' as is_shifted,
        scored_customer_count,
        reference_row_count,
        model_version,
        scoring_run_id,
        computed_at
    from score_drift
)

select * from final
