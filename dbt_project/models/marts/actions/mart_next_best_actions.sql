-- One primary next best action per customer (docs/metrics.md "Next best action"):
-- the row of the seed next_best_action_playbook with the lowest priority whose
-- value tier, lifecycle stage, churn risk band and potential flag match the
-- customer (an empty playbook cell matches anything). Customers with loan days
-- past due above var credit_offer_max_days_past_due skip credit offers, so they
-- get the best matching non-credit action. The churn risk band comes from the
-- scores (mart_customer_scores), so this model is tagged needs_scores; a
-- customer without a score has no band and matches only rows with an empty band.
{%- set max_days_past_due = var('credit_offer_max_days_past_due') %}

with

customers as (
    select * from {{ ref('mart_customer_360') }}
),

scores as (
    select * from {{ ref('mart_customer_scores') }}
),

playbook as (
    select * from {{ ref('next_best_action_playbook') }}
),

customer_profiles as (
    select
        customers.customer_id,
        customers.value_tier,
        customers.lifecycle_stage,
        scores.churn_risk_band,
        customers.is_potential,
        customers.max_days_past_due,
        coalesce(customers.max_days_past_due, 0) > {{ max_days_past_due }}
            as is_credit_offer_excluded
    from customers
    left join scores
        on customers.customer_id = scores.customer_id
),

matched_actions as (
    select
        customer_profiles.*,
        playbook.priority as playbook_priority,
        playbook.action_code,
        playbook.channel,
        playbook.is_credit_offer,
        playbook.description_en,
        playbook.description_zh,
        row_number() over (
            partition by customer_profiles.customer_id
            order by playbook.priority, playbook.action_code
        ) as action_rank
    from customer_profiles
    inner join playbook
        on
            (playbook.value_tier is null or playbook.value_tier = customer_profiles.value_tier)
            and (
                playbook.lifecycle_stage is null
                or playbook.lifecycle_stage = customer_profiles.lifecycle_stage
            )
            and (
                playbook.churn_risk_band is null
                or playbook.churn_risk_band = customer_profiles.churn_risk_band
            )
            and (
                playbook.is_potential is null
                or playbook.is_potential = customer_profiles.is_potential
            )
            and not (playbook.is_credit_offer and customer_profiles.is_credit_offer_excluded)
),

final as (
    select
        customer_id,
        value_tier,
        lifecycle_stage,
        churn_risk_band,
        is_potential,
        max_days_past_due,
        is_credit_offer_excluded,
        cast(playbook_priority as integer) as playbook_priority,
        action_code,
        channel,
        is_credit_offer,
        description_en,
        description_zh
    from matched_actions
    where action_rank = 1
)

select * from final
