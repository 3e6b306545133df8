-- Drift of the score and the top features per score date (scoring/drift.py);
-- built after scoring (tag needs_scores).
with

source as (
    select * from {{ source('scores', 'score_drift') }}
),

renamed as (
    select
        -- ids
        variable,
        model_version,
        run_id as scoring_run_id,

        -- strings
        status as drift_status,

        -- numerics
        cast(psi as double precision) as population_stability_index,
        cast(rows as bigint) as scored_customer_count,
        cast(reference_rows as bigint) as reference_row_count,

        -- dates
        cast(score_date as date) as score_date,

        -- timestamps
        cast(computed_at as timestamp) as computed_at

    from source
),

final as (
    select * from renamed
)

select * from final
