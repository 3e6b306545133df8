-- One row per customer and month of fct_customer_months: churn events
-- (closed, value churn, dormant churn), the 3-month modelling label, the primary
-- churn reason of a churned month and the lifecycle stage (docs/metrics.md "Churn",
-- "Lifecycle stage"; rules in _business_definitions.md).
with

churn_flags as (
    select * from {{ ref('int_customer_months_churn_flagged') }}
),

churn_reasons as (
    select * from {{ ref('int_churn_reasons_attributed') }}
),

final as (
    select
        churn_flags.customer_id,
        churn_flags.month_start_date,
        churn_flags.month_end_date,
        churn_flags.is_complete_month,
        churn_flags.month_average_aum,
        churn_flags.prior_3m_average_aum,
        churn_flags.aum_trend_3m,
        churn_flags.tenure_months,
        churn_flags.is_closed,
        churn_flags.is_newly_closed,
        churn_flags.is_value_churn,
        churn_flags.is_dormant_churn,
        churn_flags.is_churned,
        churn_flags.churn_label_3m,
        churn_reasons.churn_reason,
        churn_reasons.other_bank_outflow_share as window_other_bank_outflow_share,
        churn_flags.lifecycle_stage
    from churn_flags
    left join churn_reasons
        on
            churn_flags.customer_id = churn_reasons.customer_id
            and churn_flags.month_start_date = churn_reasons.month_start_date
)

select * from final
