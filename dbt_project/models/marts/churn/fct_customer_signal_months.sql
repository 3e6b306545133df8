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
-- The signals are measured in int_customer_months_signals_measured (incremental: a
-- daily run rebuilds the months its changes reach); the churn flag, the label and
-- the AUM figures come from int_customer_months_churn_flagged, whose labels look
-- ahead and so change in months the signals keep.
with

signal_months as (
    select * from {{ ref('int_customer_months_signals_measured') }}
),

churn_months as (
    select * from {{ ref('int_customer_months_churn_flagged') }}
),

final as (
    select
        signal_months.customer_id,
        signal_months.month_start_date,
        signal_months.signal_date,
        churn_months.is_complete_month,
        churn_months.month_average_aum,
        churn_months.prior_3m_average_aum,
        churn_months.aum_trend_3m,
        signal_months.other_bank_outflow_share_3m,
        signal_months.maturing_time_deposit_count_30d,
        signal_months.maturing_time_deposit_amount_30d,
        signal_months.is_payroll_missing,
        signal_months.complaint_count_90d,
        signal_months.active_months_3m,
        signal_months.active_months_fall,
        signal_months.matured_campaign_deposit_count_3m,
        signal_months.largest_real_estate_payment_amount_3m,
        cast(
            case
                when churn_months.prior_3m_average_aum > 0
                    then {{ round_half_up(
                        'signal_months.largest_real_estate_payment_amount_3m',
                        'churn_months.prior_3m_average_aum',
                        scale=4, input_scale=2
                    ) }}
            end as decimal(12, 4)
        ) as real_estate_payment_share_of_prior_aum_3m,
        signal_months.investment_account_share,
        churn_months.is_churned,
        churn_months.churn_label_3m
    from signal_months
    inner join churn_months
        on
            signal_months.customer_id = churn_months.customer_id
            and signal_months.month_start_date = churn_months.month_start_date
)

select * from final
