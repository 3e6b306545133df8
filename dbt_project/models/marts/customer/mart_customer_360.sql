-- One wide row per customer, no personal data: the customer key and derived
-- fields only, joined from dim_customers, value, RFM, loyalty, credit risk,
-- churn signals (lifecycle stage) and the current scores (mart_customer_scores),
-- so it is tagged needs_scores and built after scoring. Customers without a row
-- in a joined mart (no loan, no account, not scored) get empty fields from it;
-- is_potential is the scored flag (inflows or predicted value) when scored.
-- The churn-signal columns and the reason summary quote the same mart figures
-- (fct_customer_signal_months) when the scores' feature month is the latest
-- complete month: a data test in _customer_360.yml holds them to it.
with

customers as (
    select * from {{ ref('dim_customers') }}
),

customer_values as (
    select * from {{ ref('mart_customer_value') }}
),

customer_rfm as (
    select * from {{ ref('mart_customer_rfm') }}
),

customer_loyalty as (
    select * from {{ ref('mart_customer_loyalty') }}
),

credit_risk as (
    select * from {{ ref('mart_customer_credit_risk') }}
),

churn_signals as (
    select * from {{ ref('mart_customer_churn_signals') }}
),

current_scores as (
    select * from {{ ref('mart_customer_scores') }}
),

final as (
    select
        customers.customer_id,
        customers.customer_type,
        customers.city,
        customers.home_branch_id,
        customers.onboarded_date,
        customers.value_tier,
        customers.value_tier_month_start_date,
        customer_values.month_average_aum,
        customer_values.contribution_12m,
        customer_values.inflow_12m,
        customer_values.next_value_tier,
        coalesce(current_scores.is_potential, customer_values.is_potential) as is_potential,
        customer_rfm.last_customer_initiated_date,
        customer_rfm.recency_days,
        customer_rfm.frequency_count,
        customer_rfm.monetary_amount,
        customer_rfm.recency_score,
        customer_rfm.frequency_score,
        customer_rfm.monetary_score,
        customer_rfm.rfm_segment,
        customer_loyalty.first_opened_date,
        customer_loyalty.tenure_months,
        customer_loyalty.product_depth,
        customer_loyalty.active_months_12,
        customer_loyalty.is_primary_bank,
        customer_loyalty.loyalty_score,
        customer_loyalty.is_dormant,
        credit_risk.max_days_past_due,
        credit_risk.days_past_due_bucket,
        credit_risk.past_due_amount,
        churn_signals.latest_complete_month_start_date,
        churn_signals.aum_trend_3m,
        churn_signals.other_bank_outflow_share_3m,
        churn_signals.maturing_time_deposit_count_30d,
        churn_signals.maturing_time_deposit_amount_30d,
        churn_signals.is_payroll_missing,
        churn_signals.complaint_count_90d,
        churn_signals.active_months_fall,
        churn_signals.is_churned_latest_month,
        churn_signals.lifecycle_stage,
        current_scores.score_date,
        current_scores.feature_month_start_date,
        current_scores.churn_probability,
        current_scores.churn_risk_band,
        current_scores.reason_code_1,
        current_scores.reason_code_2,
        current_scores.reason_code_3,
        current_scores.reason_summary,
        current_scores.predicted_value_12m,
        current_scores.probability_alive,
        current_scores.segment_id,
        current_scores.segment_name,
        current_scores.model_version
    from customers
    left join customer_values
        on customers.customer_id = customer_values.customer_id
    left join customer_rfm
        on customers.customer_id = customer_rfm.customer_id
    left join customer_loyalty
        on customers.customer_id = customer_loyalty.customer_id
    left join credit_risk
        on customers.customer_id = credit_risk.customer_id
    left join churn_signals
        on customers.customer_id = churn_signals.customer_id
    left join current_scores
        on customers.customer_id = current_scores.customer_id
)

select * from final
