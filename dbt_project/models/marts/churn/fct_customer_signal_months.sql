-- One row per customer and month of fct_customer_months: the early-warning
-- signals of churn (docs/metrics.md "Churn") as they stood at the month's last
-- covered day, so the churn model can learn from every past month end and be
-- compared with the rule baseline on the same rows. mart_customer_churn_signals
-- gives the same signals as of the run date for relationship managers.
-- Windows: the month and the churn_signal_months - 1 months before it;
-- maturities in the churn_signal_maturity_days days after the month's end;
-- complaints in the churn_signal_complaint_days days up to it. Two reason
-- evidences ride along (largest real-estate payment, also as a share of the prior
-- 3-month average AUM, and matured campaign deposits), and the share of the AUM
-- accounts open at signal_date that are investment products (behaviour segments).
-- Computed in int_customer_months_signals_measured (incremental: a daily run
-- rebuilds the months its changes reach) and published here with its contract.
with

signal_months as (
    select * from {{ ref('int_customer_months_signals_measured') }}
),

final as (
    select
        customer_id,
        month_start_date,
        signal_date,
        is_complete_month,
        month_average_aum,
        prior_3m_average_aum,
        aum_trend_3m,
        other_bank_outflow_share_3m,
        maturing_time_deposit_count_30d,
        maturing_time_deposit_amount_30d,
        is_payroll_missing,
        complaint_count_90d,
        active_months_3m,
        active_months_fall,
        matured_campaign_deposit_count_3m,
        largest_real_estate_payment_amount_3m,
        real_estate_payment_share_of_prior_aum_3m,
        investment_account_share,
        is_churned,
        churn_label_3m
    from signal_months
)

select * from final
