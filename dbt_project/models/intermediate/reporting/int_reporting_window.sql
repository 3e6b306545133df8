-- One row: the window of days the warehouse reports on.
-- history_start_date: the first day with balances in the warehouse (var
--   history_start_date overrides it). Accounts opened years before it have no
--   known balance earlier, so nothing is reported before it.
-- as_of_date: the run's logical date (var as_of_date, passed by the DAG; never
--   now()), else the latest transaction or balance date in the data.
-- The import CTEs are always there, so the lineage does not depend on the vars.
{%- set history_start_literal = date_var_literal('history_start_date') %}
{%- set as_of_literal = date_var_literal('as_of_date') %}

with

transactions as (
    select * from {{ ref('stg_core_banking__transactions') }}
),

balances as (
    select * from {{ ref('stg_core_banking__balances') }}
),

data_dates as (
    select
        min(balances.balance_date) as first_data_date,
        max(balances.balance_date) as last_data_date
    from balances
    union all
    select
        cast(null as date) as first_data_date,
        max(transactions.transaction_date) as last_data_date
    from transactions
),

final as (
    select
        {{ history_start_literal or 'min(data_dates.first_data_date)' }} as history_start_date,
        {{ as_of_literal or 'max(data_dates.last_data_date)' }} as as_of_date
    from data_dates
)

select * from final
