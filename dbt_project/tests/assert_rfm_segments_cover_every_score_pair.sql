-- Every (R score, FM score) pair 1-5 x 1-5 has a segment in the seed rfm_segments,
-- so no scored customer is left without one. Fails on each missing pair.
with

scores as (
    select 1 as score
    union all
    select 2
    union all
    select 3
    union all
    select 4
    union all
    select 5
),

rfm_segments as (
    select * from {{ ref('rfm_segments') }}
),

final as (
    select
        recency_scores.score as recency_score,
        frequency_monetary_scores.score as frequency_monetary_score
    from scores as recency_scores
    cross join scores as frequency_monetary_scores
    left join rfm_segments
        on
            recency_scores.score = rfm_segments.recency_score
            and frequency_monetary_scores.score = rfm_segments.frequency_monetary_score
    where rfm_segments.rfm_segment is null
)

select * from final
