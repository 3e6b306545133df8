-- One row per customer with an account: tenure, product depth, active months
-- (12), primary-bank status, the loyalty score 0-100 (weights in the seed
-- loyalty_score_weights) and the dormant flag, as of the as-of date
-- (docs/metrics.md "Activity and loyalty"; rules in _business_definitions.md).
{%- set active_lookback = var('active_months_lookback_months') | int %}
{%- set primary_lookback = var('primary_bank_lookback_months') | int %}
{%- set primary_min_months = var('primary_bank_min_payroll_months') | int %}
{#- the components the seed weights, and each one's value per customer -#}
{%- set loyalty_components = [
    'tenure_months', 'product_depth', 'active_months_12', 'is_primary_bank'
] %}
{%- set component_values = {
    'tenure_months': 'measured.tenure_months',
    'product_depth': 'measured.product_depth',
    'active_months_12': 'measured.active_months_12',
    'is_primary_bank': 'case when measured.is_primary_bank then 1 else 0 end',
} %}

with

customer_months as (
    select * from {{ ref('fct_customer_months') }}
),

reporting_months as (
    select * from {{ ref('int_reporting_months') }}
),

accounts as (
    select * from {{ ref('int_accounts_classified') }}
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
        accounts.customer_id,
        min(accounts.opened_date) as first_opened_date
    from accounts
    cross join as_of_dates
    where accounts.opened_date <= as_of_dates.as_of_date
    group by accounts.customer_id
),

-- categories with an account open at the end of the as-of date
open_categories as (
    select
        accounts.customer_id,
        count(distinct accounts.product_category) as product_depth
    from accounts
    cross join as_of_dates
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

-- the seed's weights and full-score points side by side, one column pair per
-- component
weights as (
    select
        {%- for component in loyalty_components %}
        max(case when loyalty_component = '{{ component }}' then weight end)
            as {{ component }}_weight,
        max(case when loyalty_component = '{{ component }}' then full_score_at end)
            as {{ component }}_full_score_at{{ "," if not loop.last }}
        {%- endfor %}
    from loyalty_score_weights
),

-- each component capped at full_score_at
capped as (
    select
        measured.customer_id,
        {%- for component in loyalty_components %}
        case
            when {{ component_values[component] }} > weights.{{ component }}_full_score_at
                then weights.{{ component }}_full_score_at
            else {{ component_values[component] }}
        end as {{ component }}_points{{ "," if not loop.last }}
        {%- endfor %}
    from measured
    cross join weights
),

-- score = 100 x sum(weight x capped / full_score_at) / sum(weight), brought to
-- one exact fraction over the product of the full-score points
score_fractions as (
    select
        capped.customer_id,
        100 * (
            {%- for component in loyalty_components %}
            weights.{{ component }}_weight * capped.{{ component }}_points
            {%- for other in loyalty_components if other != component %}
            * weights.{{ other }}_full_score_at
            {%- endfor %}
            {{- " +" if not loop.last }}
            {%- endfor %}
        ) as weighted_points,
        (
            {%- for component in loyalty_components %}
            weights.{{ component }}_weight{{ " +" if not loop.last }}
            {%- endfor %}
        )
        {%- for component in loyalty_components %}
        * weights.{{ component }}_full_score_at
        {%- endfor %} as full_points
    from capped
    cross join weights
),

-- rounded half up to one decimal, once (macro round_half_up)
scores as (
    select
        customer_id,
        {{ round_half_up('weighted_points', 'full_points', scale=1, input_scale=12) }}
            as loyalty_score
    from score_fractions
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
