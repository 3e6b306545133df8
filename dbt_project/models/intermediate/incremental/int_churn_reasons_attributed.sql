-- One row per churned customer-month (int_customer_months_churn_flagged.is_churned)
-- with the evidence for each churn reason and the primary reason: the first
-- match in the docs/metrics.md order (property_purchase, campaign_deposit_maturity,
-- rate_competition, service_dissatisfaction, disengagement). Thresholds and
-- the window come from the one-row seed churn_reason_thresholds.
-- The window: the churn month and the window_months - 1 months before it (first
-- day of the first to the last day of the churn month). The decline starts on
-- the first day of the month before the churn month (month averages lag: money
-- that leaves late in that month pulls the churn month's average below the
-- line). Nothing after the as-of date counts (a re-run of a past date with later
-- files loaded): the window of the partial as-of month ends on the as-of date, and so
-- does the look at the money leaving after a maturity. Rules spelled out in
-- _business_definitions.md (churn_reason).
-- Incremental (folder intermediate/incremental): a run attributes the churn months
-- from the churn flags' rebuild month on (macro churn_months_to_rebuild_from), or
-- from the month of a complaint loaded since when that is earlier, and keeps the
-- others; delete+insert on month_start_date. A change of the seed
-- churn_reason_thresholds needs `dbt build --full-refresh`.
-- depends_on: {{ ref('stg_core_banking__customers') }}
{{ config(
    unique_key='month_start_date',
    post_hook="delete from {{ this }} where month_start_date > (select max(reporting_months.month_start_date) from {{ ref('int_reporting_months') }} as reporting_months)",
) }}
{%- if is_incremental() %}
    {%- set rebuild_from = churn_months_to_rebuild_from(
        this,
        ref('int_customer_months_aggregated'),
        ref('stg_core_banking__customers'),
        ref('int_accounts_classified'),
        extra_dates_sql=complaint_changes_from(this),
    ) %}
{%- endif %}
with

churn_months as (
    select * from {{ ref('int_customer_months_churn_flagged') }}
    where
        is_churned
        {% if is_incremental() %}
            and month_start_date >= {{ rebuild_from }}
        {% endif %}
),

customer_months as (
    select * from {{ ref('int_customer_months_aggregated') }}
),

-- only the churned customers' (every use below joins them to their windows); on a
-- daily run, from the first day of the earliest window rebuilt
transactions as (
    select * from {{ ref('int_transactions_classified') }}
    where
        customer_id in (select churn_months.customer_id from churn_months)
        {% if is_incremental() %}
            and transaction_date >= (
                select {{ dbt.dateadd('month', '1 - window_months', rebuild_from) }}
                from {{ ref('churn_reason_thresholds') }}
            )
        {% endif %}
),

accounts as (
    select * from {{ ref('int_accounts_classified') }}
),

complaints as (
    select * from {{ ref('stg_crm__complaints') }}
),

churn_reason_thresholds as (
    select * from {{ ref('churn_reason_thresholds') }}
),

reporting_window as (
    select * from {{ ref('int_reporting_window') }}
),

windows as (
    select
        churn_months.customer_id,
        churn_months.month_start_date,
        churn_months.month_end_date,
        churn_months.prior_3m_average_aum,
        churn_months.loaded_at,
        reporting_window.as_of_date,
        case
            when churn_months.month_end_date <= reporting_window.as_of_date
                then churn_months.month_end_date
            else reporting_window.as_of_date
        end as window_end_date,
        {{ dbt.dateadd(
            'month',
            '1 - churn_reason_thresholds.window_months',
            'churn_months.month_start_date'
        ) }} as window_start_date,
        {{ dbt.dateadd('month', -1, 'churn_months.month_start_date') }} as decline_start_date
    from churn_months
    cross join churn_reason_thresholds
    cross join reporting_window
),

aum_accounts as (
    select
        accounts.account_id,
        accounts.customer_id
    from accounts
    where accounts.is_aum
),

-- money leaving the customer's AUM accounts (see doc money_flows)
aum_outflows as (
    select
        transactions.customer_id,
        transactions.transaction_date,
        transactions.transaction_amount
    from transactions
    inner join aum_accounts
        on transactions.account_id = aum_accounts.account_id
    where
        transactions.direction = 'debit'
        and not transactions.is_own_account_transfer
),

-- 1. a single payment to a real-estate merchant in the window
property_purchases as (
    select distinct
        windows.customer_id,
        windows.month_start_date
    from windows
    cross join churn_reason_thresholds
    inner join transactions
        on
            windows.customer_id = transactions.customer_id
            and transactions.transaction_date >= windows.window_start_date
            and transactions.transaction_date <= windows.window_end_date
    where
        transactions.direction = 'debit'
        and not transactions.is_own_account_transfer
        and transactions.merchant_category = 'real_estate'
        and windows.prior_3m_average_aum > 0
        and transactions.transaction_amount
        >= churn_reason_thresholds.property_min_share_of_prior_aum * windows.prior_3m_average_aum
),

-- 2. a campaign time deposit maturing in the window
campaign_maturities as (
    select
        windows.customer_id,
        windows.month_start_date,
        windows.as_of_date,
        accounts.account_id,
        accounts.principal_amount,
        accounts.maturity_date
    from windows
    inner join accounts
        on
            windows.customer_id = accounts.customer_id
            and accounts.maturity_date >= windows.window_start_date
            and accounts.maturity_date <= windows.window_end_date
    where
        accounts.product_category = 'time_deposit'
        and accounts.campaign_id is not null
        and accounts.principal_amount > 0
),

-- ... with at least campaign_min_share_left of its amount leaving the customer's
-- AUM accounts from its maturity date to campaign_days_after_maturity days later
campaign_deposit_outflows as (
    select
        campaign_maturities.customer_id,
        campaign_maturities.month_start_date
    from campaign_maturities
    cross join churn_reason_thresholds
    inner join aum_outflows
        on
            campaign_maturities.customer_id = aum_outflows.customer_id
            and aum_outflows.transaction_date >= campaign_maturities.maturity_date
            and aum_outflows.transaction_date <= {{ dbt.dateadd(
                'day',
                'churn_reason_thresholds.campaign_days_after_maturity',
                'campaign_maturities.maturity_date'
            ) }}
            and aum_outflows.transaction_date <= campaign_maturities.as_of_date
    group by
        campaign_maturities.customer_id,
        campaign_maturities.month_start_date,
        campaign_maturities.account_id,
        campaign_maturities.principal_amount
    having
        sum(aum_outflows.transaction_amount)
        >= max(churn_reason_thresholds.campaign_min_share_left) * campaign_maturities.principal_amount
),

campaign_outflows as (
    select distinct
        customer_id,
        month_start_date
    from campaign_deposit_outflows
),

-- 3. outflows of the window's months and the part that went to other banks
window_outflows as (
    select
        windows.customer_id,
        windows.month_start_date,
        sum(customer_months.outflow_amount) as outflow_amount,
        sum(customer_months.other_bank_outflow_amount) as other_bank_outflow_amount
    from windows
    inner join customer_months
        on
            windows.customer_id = customer_months.customer_id
            and customer_months.month_start_date >= windows.window_start_date
            and customer_months.month_start_date <= windows.month_start_date
    group by windows.customer_id, windows.month_start_date
),

-- 4. a complaint from complaint_lookback_days before the decline to its end
decline_complaints as (
    select distinct
        windows.customer_id,
        windows.month_start_date
    from windows
    cross join churn_reason_thresholds
    inner join complaints
        on
            windows.customer_id = complaints.customer_id
            and complaints.complaint_date <= windows.window_end_date
            and complaints.complaint_date >= {{ dbt.dateadd(
                'day',
                '-1 * churn_reason_thresholds.complaint_lookback_days',
                'windows.decline_start_date'
            ) }}
),

evidence as (
    select
        windows.customer_id,
        windows.month_start_date,
        windows.window_start_date,
        windows.decline_start_date,
        windows.loaded_at,
        property_purchases.customer_id is not null as has_property_purchase,
        campaign_outflows.customer_id is not null as has_campaign_deposit_outflow,
        cast(
            case
                when window_outflows.outflow_amount > 0
                    then {{ round_half_up(
                        'window_outflows.other_bank_outflow_amount',
                        'window_outflows.outflow_amount',
                        scale=4, input_scale=2
                    ) }}
            end as decimal(9, 4)
        ) as other_bank_outflow_share,
        decline_complaints.customer_id is not null as has_decline_complaint
    from windows
    left join property_purchases
        on
            windows.customer_id = property_purchases.customer_id
            and windows.month_start_date = property_purchases.month_start_date
    left join campaign_outflows
        on
            windows.customer_id = campaign_outflows.customer_id
            and windows.month_start_date = campaign_outflows.month_start_date
    left join window_outflows
        on
            windows.customer_id = window_outflows.customer_id
            and windows.month_start_date = window_outflows.month_start_date
    left join decline_complaints
        on
            windows.customer_id = decline_complaints.customer_id
            and windows.month_start_date = decline_complaints.month_start_date
),

final as (
    select
        evidence.customer_id,
        evidence.month_start_date,
        evidence.window_start_date,
        evidence.decline_start_date,
        evidence.has_property_purchase,
        evidence.has_campaign_deposit_outflow,
        evidence.other_bank_outflow_share,
        evidence.has_decline_complaint,
        evidence.loaded_at,
        case
            when evidence.has_property_purchase then 'property_purchase'
            when evidence.has_campaign_deposit_outflow then 'campaign_deposit_maturity'
            when
                evidence.other_bank_outflow_share >= churn_reason_thresholds.rate_min_other_bank_share
                then 'rate_competition'
            when evidence.has_decline_complaint then 'service_dissatisfaction'
            else 'disengagement'
        end as churn_reason
    from evidence
    cross join churn_reason_thresholds
)

select * from final
