-- One row per customer and calendar month, from the month of the customer's
-- first account (at the earliest the month the warehouse history starts) to the
-- month of the as-of date: AUM, activity and value tier (docs/metrics.md
-- "Month-average AUM", "Active in a month", "Value tier").
-- A month is covered from its first day (or the history start) to its last day
-- (or the as-of date); a month not covered in full is partial
-- (is_complete_month false). Tiers "as of" a date use the latest complete month.
-- AUM (the balance day totals and month-end balances of the AUM accounts),
-- money flows, payroll credits, fees and contribution are the sums of the
-- customer's account months (int_account_months_aggregated, from balance
-- intervals: no row per day); dormancy (docs/metrics.md "Dormant") is judged on
-- the last covered day of the month. fct_customer_months publishes these rows;
-- the churn intermediates read them here.
-- Incremental (folder intermediate/incremental): a run rebuilds the months from
-- macro months_to_rebuild_from on (the open month, the month just closed, the
-- months late rows touch; from a customer's first month when its customer type
-- changed or its record arrived after its accounts) and keeps the others;
-- delete+insert on month_start_date. A change of the seed value_tier_thresholds
-- or of the vars active_transaction_threshold, digital_channels or
-- dormant_after_days needs `dbt build --full-refresh`.
-- depends_on: {{ ref('int_account_balance_intervals') }}
{{ config(
    unique_key='month_start_date',
    post_hook="delete from {{ this }} where month_start_date > (select max(reporting_window.as_of_date) from {{ ref('int_reporting_window') }} as reporting_window)",
) }}
{%- set active_threshold = var('active_transaction_threshold') %}
{%- set dormant_after_days = var('dormant_after_days') %}
{%- set covered_day_count = dbt.datediff(
    'customer_months.first_covered_date', 'customer_months.last_covered_date', 'day'
) ~ ' + 1' %}

with

customers as (
    select * from {{ ref('stg_core_banking__customers') }}
),

accounts as (
    select * from {{ ref('int_accounts_classified') }}
),

calendar as (
    select * from {{ ref('int_calendar_days') }}
),

reporting_window as (
    select * from {{ ref('int_reporting_window') }}
),

transactions as (
    select * from {{ ref('int_transactions_classified') }}
),

account_months as (
    select * from {{ ref('int_account_months_aggregated') }}
),

value_tier_thresholds as (
    select * from {{ ref('value_tier_thresholds') }}
),

months as (
    select distinct
        calendar.month_start_date,
        calendar.month_end_date
    from calendar
    {% if is_incremental() %}
        where calendar.month_start_date >= {{ months_to_rebuild_from(
            this,
            ref('int_transactions_classified'),
            ref('int_account_balance_intervals'),
            ref('int_accounts_classified'),
            extra_dates_sql=customer_months_to_rebuild_from(this),
        ) }}
    {% endif %}
),

customer_first_accounts as (
    select
        customer_id,
        min(opened_date) as first_opened_date
    from accounts
    group by customer_id
),

-- customers without a customer record are left out (see the relationships
-- test on stg_core_banking__accounts.customer_id)
customer_months as (
    select
        customers.customer_id,
        customers.customer_type,
        customer_first_accounts.first_opened_date,
        months.month_start_date,
        months.month_end_date,
        case
            when months.month_start_date >= reporting_window.history_start_date
                then months.month_start_date
            else reporting_window.history_start_date
        end as first_covered_date,
        case
            when months.month_end_date <= reporting_window.as_of_date then months.month_end_date
            else reporting_window.as_of_date
        end as last_covered_date,
        (
            months.month_start_date >= reporting_window.history_start_date
            and months.month_end_date <= reporting_window.as_of_date
        ) as is_complete_month
    from customers
    inner join customer_first_accounts
        on customers.customer_id = customer_first_accounts.customer_id
    cross join reporting_window
    -- a customer exists from the first account opened by the as-of date: a re-run of a
    -- past date with later files loaded has no month for customers who came after it
    inner join months
        on
            customer_first_accounts.first_opened_date <= months.month_end_date
            and customer_first_accounts.first_opened_date <= reporting_window.as_of_date
),

-- the earliest and latest customer-initiated transaction before the months rebuilt
-- (kept rows)
earlier_activity as (
    {% if is_incremental() %}
        select
            kept.customer_id,
            min(kept.first_customer_initiated_date) as first_customer_initiated_date,
            max(kept.last_customer_initiated_date) as last_customer_initiated_date
        from {{ this }} as kept
        where kept.month_start_date < (select min(months.month_start_date) from months)
        group by kept.customer_id
    {% else %}
        select
            cast(null as {{ dbt.type_string() }}) as customer_id,
            cast(null as date) as first_customer_initiated_date,
            cast(null as date) as last_customer_initiated_date
        where 1 = 0
    {% endif %}
),

monthly_transactions as (
    select
        customer_months.customer_id,
        customer_months.month_start_date,
        sum(case when transactions.is_customer_initiated then 1 else 0 end)
            as customer_initiated_transaction_count,
        sum(
            case
                when transactions.is_customer_initiated and transactions.is_digital_channel then 1
                else 0
            end
        ) as digital_transaction_count,
        count(
            distinct case when transactions.is_customer_initiated then transactions.transaction_date end
        ) as customer_initiated_transaction_days,
        min(case when transactions.is_customer_initiated then transactions.transaction_date end)
            as first_customer_initiated_date,
        max(case when transactions.is_customer_initiated then transactions.transaction_date end)
            as last_customer_initiated_date
    from transactions
    inner join customer_months
        on
            transactions.customer_id = customer_months.customer_id
            and transactions.transaction_date >= customer_months.first_covered_date
            and transactions.transaction_date <= customer_months.last_covered_date
    group by customer_months.customer_id, customer_months.month_start_date
),

-- per customer-month, from one join of the accounts open at some covered day
-- (opened by the last covered day and not closed before the first: an account
-- closing on the 1st was open that day): whether one is still open on the last
-- covered day (not closed on or before it: the closing day's balance is 0)
open_accounts as (
    select
        customer_months.customer_id,
        customer_months.month_start_date,
        max(
            case
                when
                    accounts.closed_date is null
                    or customer_months.last_covered_date < accounts.closed_date
                    then 1
                else 0
            end
        ) = 1 as has_open_account_at_month_end
    from customer_months
    inner join accounts
        on
            customer_months.customer_id = accounts.customer_id
            and customer_months.last_covered_date >= accounts.opened_date
            and (
                accounts.closed_date is null
                or customer_months.first_covered_date <= accounts.closed_date
            )
    group by customer_months.customer_id, customer_months.month_start_date
),

monthly_account_figures as (
    select
        account_months.customer_id,
        account_months.month_start_date,
        sum(account_months.inflow_amount) as inflow_amount,
        sum(account_months.outflow_amount) as outflow_amount,
        sum(account_months.other_bank_outflow_amount) as other_bank_outflow_amount,
        sum(account_months.payroll_credit_count) as payroll_credit_count,
        sum(account_months.payroll_credit_amount) as payroll_credit_amount,
        sum(account_months.margin_income_amount) as margin_income_amount,
        sum(account_months.fee_income_amount) as fee_income_amount,
        sum(account_months.contribution_amount) as contribution_amount,
        sum(case when account_months.is_aum then account_months.balance_day_total else 0 end)
            as aum_day_total,
        sum(case when account_months.is_aum then account_months.month_end_balance_amount else 0 end)
            as month_end_aum,
        max(account_months.loaded_at) as loaded_at
    from account_months
    group by account_months.customer_id, account_months.month_start_date
),

measured as (
    select
        customer_months.customer_id,
        customer_months.month_start_date,
        customer_months.month_end_date,
        customer_months.customer_type,
        customer_months.is_complete_month,
        -- rounded half up to cents first, so the tier follows the figure BI shows
        -- (macro round_half_up: exact, where round(x / days, 2) in floating point
        -- can turn 820,266.705 into 820,266.70).
        cast(
            {{ round_half_up(
                'coalesce(monthly_account_figures.aum_day_total, 0)', covered_day_count, input_scale=2
            ) }}
            as decimal(18, 2)
        ) as month_average_aum,
        cast(coalesce(monthly_account_figures.month_end_aum, 0) as decimal(18, 2)) as month_end_aum,
        cast(coalesce(monthly_transactions.customer_initiated_transaction_count, 0) as integer)
            as customer_initiated_transaction_count,
        cast(coalesce(monthly_transactions.digital_transaction_count, 0) as integer)
            as digital_transaction_count,
        cast(coalesce(monthly_transactions.customer_initiated_transaction_days, 0) as integer)
            as customer_initiated_transaction_days,
        -- earliest customer-initiated transaction up to the month's last covered day (the
        -- kept months' first, when there is one, is earlier than any rebuilt month's)
        min(
            coalesce(
                earlier_activity.first_customer_initiated_date,
                monthly_transactions.first_customer_initiated_date
            )
        ) over (
            partition by customer_months.customer_id
            order by customer_months.month_start_date
            rows between unbounded preceding and current row
        ) as first_customer_initiated_date,
        -- latest customer-initiated transaction up to the month's last covered day
        max(
            coalesce(
                monthly_transactions.last_customer_initiated_date,
                earlier_activity.last_customer_initiated_date
            )
        ) over (
            partition by customer_months.customer_id
            order by customer_months.month_start_date
            rows between unbounded preceding and current row
        ) as last_customer_initiated_date,
        -- the latest load among the month's balances and transactions (the
        -- incremental watermark; deterministic, so a full refresh gives the same)
        monthly_account_figures.loaded_at,
        customer_months.first_opened_date,
        customer_months.last_covered_date,
        open_accounts.customer_id is not null as has_open_account,
        coalesce(open_accounts.has_open_account_at_month_end, false)
            as has_open_account_at_month_end,
        cast(coalesce(monthly_account_figures.inflow_amount, 0) as decimal(18, 2)) as inflow_amount,
        cast(coalesce(monthly_account_figures.outflow_amount, 0) as decimal(18, 2))
            as outflow_amount,
        cast(coalesce(monthly_account_figures.other_bank_outflow_amount, 0) as decimal(18, 2))
            as other_bank_outflow_amount,
        cast(coalesce(monthly_account_figures.payroll_credit_count, 0) as integer)
            as payroll_credit_count,
        cast(coalesce(monthly_account_figures.payroll_credit_amount, 0) as decimal(18, 2))
            as payroll_credit_amount,
        cast(coalesce(monthly_account_figures.margin_income_amount, 0) as decimal(18, 2))
            as margin_income_amount,
        cast(coalesce(monthly_account_figures.fee_income_amount, 0) as decimal(18, 2))
            as fee_income_amount,
        cast(coalesce(monthly_account_figures.contribution_amount, 0) as decimal(18, 2))
            as contribution_amount
    from customer_months
    left join earlier_activity
        on customer_months.customer_id = earlier_activity.customer_id
    left join monthly_transactions
        on
            customer_months.customer_id = monthly_transactions.customer_id
            and customer_months.month_start_date = monthly_transactions.month_start_date
    left join open_accounts
        on
            customer_months.customer_id = open_accounts.customer_id
            and customer_months.month_start_date = open_accounts.month_start_date
    left join monthly_account_figures
        on
            customer_months.customer_id = monthly_account_figures.customer_id
            and customer_months.month_start_date = monthly_account_figures.month_start_date
),

-- days without a customer-initiated transaction, counted from the latest one,
-- or from the first account's opening for a customer who never made one
inactivity as (
    select
        measured.*,
        {{ dbt.datediff(
            'case when measured.last_customer_initiated_date is null'
            ~ ' or measured.last_customer_initiated_date < measured.first_opened_date'
            ~ ' then measured.first_opened_date'
            ~ ' else measured.last_customer_initiated_date end',
            'measured.last_covered_date',
            'day',
        ) }} as days_since_last_activity
    from measured
),

-- highest tier whose minimum the month average reaches, for the customer's type
tiers_reached as (
    select
        measured.customer_id,
        measured.month_start_date,
        value_tier_thresholds.value_tier,
        row_number() over (
            partition by measured.customer_id, measured.month_start_date
            order by value_tier_thresholds.min_month_average_aum desc
        ) as tier_rank
    from measured
    inner join value_tier_thresholds
        on
            measured.customer_type = value_tier_thresholds.customer_type
            and measured.month_average_aum >= value_tier_thresholds.min_month_average_aum
    where measured.has_open_account
),

final as (
    select
        measured.customer_id,
        measured.month_start_date,
        measured.month_end_date,
        measured.customer_type,
        measured.is_complete_month,
        measured.month_average_aum,
        measured.month_end_aum,
        measured.customer_initiated_transaction_count,
        measured.digital_transaction_count,
        measured.customer_initiated_transaction_days,
        measured.customer_initiated_transaction_count >= {{ active_threshold }} as is_active,
        (
            measured.customer_initiated_transaction_count >= {{ active_threshold }}
            and measured.digital_transaction_count >= 1
        ) as is_digitally_active,
        measured.has_open_account,
        tiers_reached.value_tier,
        measured.has_open_account_at_month_end,
        measured.first_customer_initiated_date,
        measured.last_customer_initiated_date,
        cast(
            {{ dbt.datediff(
                'measured.last_customer_initiated_date', 'measured.last_covered_date', 'day'
            ) }} as integer
        ) as days_since_last_customer_initiated,
        (
            measured.has_open_account_at_month_end
            and measured.days_since_last_activity > {{ dormant_after_days }}
        ) as is_dormant,
        measured.inflow_amount,
        measured.outflow_amount,
        measured.other_bank_outflow_amount,
        measured.payroll_credit_count,
        measured.payroll_credit_amount,
        measured.margin_income_amount,
        measured.fee_income_amount,
        measured.contribution_amount,
        measured.loaded_at
    from inactivity as measured
    left join tiers_reached
        on
            measured.customer_id = tiers_reached.customer_id
            and measured.month_start_date = tiers_reached.month_start_date
            and tiers_reached.tier_rank = 1
)

select * from final
