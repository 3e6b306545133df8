-- One row per customer and month of int_customer_months_aggregated: the early-warning
-- signals of churn (docs/metrics.md "Churn") as they stood at the month's last
-- covered day; fct_customer_signal_months publishes them with the month's churn flag
-- and label (see there for the windows and the evidences).
-- Incremental (folder intermediate/incremental): a signal of a month looks only
-- backwards or at accounts (opened, closed, maturing), so a change reaches the
-- months from its own on. A run rebuilds the months from the earliest customer month
-- that changed (macro customer_months_changed_from), or from the month of a complaint
-- loaded since when that is earlier, and keeps the others; delete+insert on
-- month_start_date. The rebuilt months' windows read the 2 x churn_signal_months - 1
-- customer months before them (the context), and the transactions from the first
-- rebuilt window on. The labels look ahead, which is why they are joined in the
-- published table, not kept here. A change of the churn_signal_* vars needs
-- `dbt build --full-refresh`.
-- depends_on: {{ ref('stg_core_banking__customers') }}
{{ config(
    unique_key='month_start_date',
    post_hook="delete from {{ this }} where month_start_date > (select max(reporting_months.month_start_date) from {{ ref('int_reporting_months') }} as reporting_months)",
) }}
{%- set n = var('churn_signal_months') | int %}
{%- set maturity_days = var('churn_signal_maturity_days') | int %}
{%- set complaint_days = var('churn_signal_complaint_days') | int %}
{%- if is_incremental() %}
    {%- set rebuild_from = customer_months_changed_from(
        this,
        ref('int_customer_months_aggregated'),
        ref('stg_core_banking__customers'),
        ref('int_accounts_classified'),
        extra_dates_sql=complaint_changes_from(this),
    ) %}
{%- endif %}

with

customer_months as (
    select * from {{ ref('int_customer_months_aggregated') }}
    {% if is_incremental() %}
        where month_start_date >= {{ dbt.dateadd('month', 1 - 2 * n, rebuild_from) }}
    {% endif %}
),

reporting_months as (
    select * from {{ ref('int_reporting_months') }}
),

-- on a daily run, from the first day of the earliest window rebuilt
transactions as (
    select * from {{ ref('int_transactions_classified') }}
    {% if is_incremental() %}
        where transaction_date >= {{ dbt.dateadd('month', 1 - n, rebuild_from) }}
    {% endif %}
),

accounts as (
    select * from {{ ref('int_accounts_classified') }}
),

complaints as (
    select * from {{ ref('stg_crm__complaints') }}
),

month_ends as (
    select
        customer_months.customer_id,
        customer_months.month_start_date,
        reporting_months.last_covered_date as signal_date,
        customer_months.outflow_amount,
        customer_months.other_bank_outflow_amount,
        customer_months.is_active,
        customer_months.loaded_at,
        case when customer_months.payroll_credit_count > 0 then 1 else 0 end as has_payroll
    from customer_months
    inner join reporting_months
        on customer_months.month_start_date = reporting_months.month_start_date
),

-- the months rebuilt (on a daily run, month_ends also holds the windows' context)
rebuilt_month_ends as (
    select * from month_ends
    {% if is_incremental() %}
        where month_start_date >= {{ rebuild_from }}
    {% endif %}
),

-- months are consecutive per customer (fct_customer_months), so row windows are month windows
rolling as (
    select
        customer_id,
        month_start_date,
        signal_date,
        sum(outflow_amount) over recent as outflow_amount_3m,
        sum(other_bank_outflow_amount) over recent as other_bank_outflow_amount_3m,
        sum(case when is_active then 1 else 0 end) over recent as active_months_3m,
        sum(case when is_active then 1 else 0 end) over previous as active_months_previous_3m,
        sum(has_payroll) over months_before as payroll_months_before,
        loaded_at,
        count(*) over months_before as months_before_count,
        has_payroll
    from month_ends
    window
        recent as (partition by customer_id order by month_start_date rows between {{ n - 1 }} preceding and current row),
        previous as (partition by customer_id order by month_start_date rows between {{ 2 * n - 1 }} preceding and {{ n }} preceding),
        months_before as (partition by customer_id order by month_start_date rows between {{ n }} preceding and 1 preceding)
),

time_deposits as (
    select
        accounts.customer_id,
        accounts.campaign_id,
        accounts.opened_date,
        accounts.closed_date,
        accounts.maturity_date,
        accounts.principal_amount
    from accounts
    where accounts.product_category = 'time_deposit'
),

maturing_deposits as (
    select
        rebuilt_month_ends.customer_id,
        rebuilt_month_ends.month_start_date,
        count(*) as maturing_time_deposit_count,
        sum(time_deposits.principal_amount) as maturing_time_deposit_amount
    from rebuilt_month_ends
    inner join time_deposits
        on
            rebuilt_month_ends.customer_id = time_deposits.customer_id
            and time_deposits.opened_date <= rebuilt_month_ends.signal_date
            and (time_deposits.closed_date is null or time_deposits.closed_date > rebuilt_month_ends.signal_date)
            and time_deposits.maturity_date > rebuilt_month_ends.signal_date
            and time_deposits.maturity_date <= {{ dbt.dateadd('day', maturity_days, 'rebuilt_month_ends.signal_date') }}
    group by rebuilt_month_ends.customer_id, rebuilt_month_ends.month_start_date
),

matured_campaign_deposits as (
    select
        rebuilt_month_ends.customer_id,
        rebuilt_month_ends.month_start_date,
        count(*) as matured_campaign_deposit_count
    from rebuilt_month_ends
    inner join time_deposits
        on
            rebuilt_month_ends.customer_id = time_deposits.customer_id
            and time_deposits.campaign_id is not null
            and time_deposits.maturity_date <= rebuilt_month_ends.signal_date
            and time_deposits.maturity_date > {{ dbt.dateadd('month', -n, 'rebuilt_month_ends.signal_date') }}
    group by rebuilt_month_ends.customer_id, rebuilt_month_ends.month_start_date
),

recent_complaints as (
    select
        rebuilt_month_ends.customer_id,
        rebuilt_month_ends.month_start_date,
        count(*) as complaint_count
    from rebuilt_month_ends
    inner join complaints
        on
            rebuilt_month_ends.customer_id = complaints.customer_id
            and complaints.complaint_date <= rebuilt_month_ends.signal_date
            and complaints.complaint_date > {{ dbt.dateadd('day', -complaint_days, 'rebuilt_month_ends.signal_date') }}
    group by rebuilt_month_ends.customer_id, rebuilt_month_ends.month_start_date
),

real_estate_payments as (
    select
        rebuilt_month_ends.customer_id,
        rebuilt_month_ends.month_start_date,
        max(transactions.transaction_amount) as largest_real_estate_payment_amount
    from rebuilt_month_ends
    inner join transactions
        on
            rebuilt_month_ends.customer_id = transactions.customer_id
            and transactions.transaction_date <= rebuilt_month_ends.signal_date
            and transactions.transaction_date >= {{ dbt.dateadd('month', 1 - n, 'rebuilt_month_ends.month_start_date') }}
    where
        transactions.merchant_category = 'real_estate'
        and transactions.direction = 'debit'
    group by rebuilt_month_ends.customer_id, rebuilt_month_ends.month_start_date
),

-- AUM accounts open at the end of signal_date (opened by then, not closed on or before it)
open_aum_accounts as (
    select
        rebuilt_month_ends.customer_id,
        rebuilt_month_ends.month_start_date,
        count(*) as aum_account_count,
        sum(case when accounts.is_investment then 1 else 0 end) as investment_account_count
    from rebuilt_month_ends
    inner join accounts
        on
            rebuilt_month_ends.customer_id = accounts.customer_id
            and accounts.opened_date <= rebuilt_month_ends.signal_date
            and (accounts.closed_date is null or accounts.closed_date > rebuilt_month_ends.signal_date)
    where accounts.is_aum
    group by rebuilt_month_ends.customer_id, rebuilt_month_ends.month_start_date
),

final as (
    select
        rolling.customer_id,
        rolling.month_start_date,
        rolling.signal_date,
        cast(
            case
                when rolling.outflow_amount_3m > 0
                    then {{ round_half_up(
                        'rolling.other_bank_outflow_amount_3m', 'rolling.outflow_amount_3m',
                        scale=4, input_scale=2
                    ) }}
            end as decimal(9, 4)
        ) as other_bank_outflow_share_3m,
        cast(coalesce(maturing_deposits.maturing_time_deposit_count, 0) as integer)
            as maturing_time_deposit_count_30d,
        cast(coalesce(maturing_deposits.maturing_time_deposit_amount, 0) as decimal(18, 2))
            as maturing_time_deposit_amount_30d,
        (rolling.has_payroll = 0 and rolling.months_before_count = {{ n }} and rolling.payroll_months_before = {{ n }})
            as is_payroll_missing,
        cast(coalesce(recent_complaints.complaint_count, 0) as integer) as complaint_count_90d,
        cast(rolling.active_months_3m as integer) as active_months_3m,
        cast(coalesce(rolling.active_months_previous_3m, 0) - rolling.active_months_3m as integer)
            as active_months_fall,
        cast(coalesce(matured_campaign_deposits.matured_campaign_deposit_count, 0) as integer)
            as matured_campaign_deposit_count_3m,
        cast(coalesce(real_estate_payments.largest_real_estate_payment_amount, 0) as decimal(18, 2))
            as largest_real_estate_payment_amount_3m,
        cast(
            {{ round_half_up(
                'open_aum_accounts.investment_account_count',
                'open_aum_accounts.aum_account_count',
                scale=4, input_scale=0
            ) }} as decimal(9, 4)
        ) as investment_account_share,
        rolling.loaded_at
    from rolling
    left join maturing_deposits
        on
            rolling.customer_id = maturing_deposits.customer_id
            and rolling.month_start_date = maturing_deposits.month_start_date
    left join matured_campaign_deposits
        on
            rolling.customer_id = matured_campaign_deposits.customer_id
            and rolling.month_start_date = matured_campaign_deposits.month_start_date
    left join recent_complaints
        on
            rolling.customer_id = recent_complaints.customer_id
            and rolling.month_start_date = recent_complaints.month_start_date
    left join real_estate_payments
        on
            rolling.customer_id = real_estate_payments.customer_id
            and rolling.month_start_date = real_estate_payments.month_start_date
    left join open_aum_accounts
        on
            rolling.customer_id = open_aum_accounts.customer_id
            and rolling.month_start_date = open_aum_accounts.month_start_date
    {% if is_incremental() %}
        where rolling.month_start_date >= {{ rebuild_from }}
    {% endif %}
)

select * from final
