-- One row per customer with an account: tenure, product depth, active months
-- (12), primary-bank status, the loyalty score 0-100 (weights in the seed
-- loyalty_score_weights) and the dormant flag, as of the as-of date
-- (METRICS.md "Activity and loyalty"; rules in _business_definitions.md).
{%- set active_lookback = var('active_months_lookback_months') | int %}
{%- set primary_lookback = var('primary_bank_lookback_months') | int %}
{%- set primary_min_months = var('primary_bank_min_payroll_months') | int %}

with

customer_months as (
    select * from {{ ref('fct_customer_months') }}
),

reporting_months as (
    select * from {{ ref('int_reporting_months') }}
),

accounts as (
    select * from {{ ref('stg_core_banking__accounts') }}
),

products as (
    select * from {{ ref('stg_reference__products') }}
),

loyalty_score_weights as (
    select * from {{ ref('loyalty_score_weights') }}
),

as_of_dates as (
    select max(as_of_date) as as_of_date from reporting_months
),

month_totals as (
    select
        customer_months.customer_id,
        sum(
            case
                when
                    reporting_months.months_back between 0 and {{ active_lookback - 1 }}
                    and customer_months.is_active
                    then 1
                else 0
            end
        ) as active_months_12,
        sum(
            case
                when
                    reporting_months.months_back between 0 and {{ primary_lookback - 1 }}
                    and customer_months.payroll_credit_count > 0
                    then 1
                else 0
            end
        ) as payroll_months,
        -- the as-of month's row: its last covered day is the as-of date
        max(
            case
                when reporting_months.last_covered_date = reporting_months.as_of_date
                    then case when customer_months.is_dormant then 1 else 0 end
            end
        ) as dormant_indicator
    from customer_months
    inner join reporting_months
        on customer_months.month_start_date = reporting_months.month_start_date
    group by customer_months.customer_id
),

first_accounts as (
    select
        customer_id,
        min(opened_date) as first_opened_date
    from accounts
    group by customer_id
),

-- categories with an account open at the end of the as-of date
open_categories as (
    select
        accounts.customer_id,
        count(distinct products.product_category) as product_depth
    from accounts
    cross join as_of_dates
    inner join products
        on accounts.product_code = products.product_code
    where
        accounts.opened_date <= as_of_dates.as_of_date
        and (accounts.closed_date is null or accounts.closed_date > as_of_dates.as_of_date)
    group by accounts.customer_id
),

measured as (
    select
        month_totals.customer_id,
        first_accounts.first_opened_date,
        cast(
            {{ dbt.datediff(
                'first_accounts.first_opened_date', 'as_of_dates.as_of_date', 'month'
            ) }}
            - case
                when
                    extract(day from as_of_dates.as_of_date)
                    < extract(day from first_accounts.first_opened_date)
                    then 1
                else 0
            end
            as integer
        ) as tenure_months,
        cast(coalesce(open_categories.product_depth, 0) as integer) as product_depth,
        cast(month_totals.active_months_12 as integer) as active_months_12,
        cast(month_totals.payroll_months as integer) as payroll_months,
        month_totals.payroll_months >= {{ primary_min_months }} as is_primary_bank,
        coalesce(month_totals.dormant_indicator = 1, false) as is_dormant
    from month_totals
    cross join as_of_dates
    inner join first_accounts
        on month_totals.customer_id = first_accounts.customer_id
    left join open_categories
        on month_totals.customer_id = open_categories.customer_id
),

-- each component capped at full_score_at and scaled to 0-1, weighted
components as (
    select
        measured.customer_id,
        loyalty_score_weights.weight
        * case
            when loyalty_score_weights.loyalty_component = 'tenure_months'
                then measured.tenure_months
            when loyalty_score_weights.loyalty_component = 'product_depth'
                then measured.product_depth
            when loyalty_score_weights.loyalty_component = 'active_months_12'
                then measured.active_months_12
            when loyalty_score_weights.loyalty_component = 'is_primary_bank'
                then case when measured.is_primary_bank then 1 else 0 end
        end
        / loyalty_score_weights.full_score_at as uncapped_points,
        loyalty_score_weights.weight as full_points
    from measured
    cross join loyalty_score_weights
),

scores as (
    select
        customer_id,
        round(
            100.0 * sum(
                case when uncapped_points > full_points then full_points else uncapped_points end
            )
            / sum(full_points),
            1
        ) as loyalty_score
    from components
    group by customer_id
),

final as (
    select
        measured.customer_id,
        measured.first_opened_date,
        measured.tenure_months,
        measured.product_depth,
        measured.active_months_12,
        measured.payroll_months,
        measured.is_primary_bank,
        cast(scores.loyalty_score as decimal(5, 1)) as loyalty_score,
        measured.is_dormant
    from measured
    inner join scores
        on measured.customer_id = scores.customer_id
)

select * from final
