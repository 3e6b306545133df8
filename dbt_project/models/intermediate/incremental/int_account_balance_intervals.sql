-- One row per delivered balance of an account: the balance holds from its
-- balance_date (valid_from_date) until the next delivered balance or the
-- account's closing date (valid_to_date, exclusive; empty while neither has
-- come, i.e. up to whatever as-of date the reader uses). This is the
-- carry-forward of docs/metrics.md "Daily AUM" without a row per day: readers sum
-- balance x days of overlap with a period, and look up a day's balance by the
-- interval containing it; before the first delivery the balance is 0 (no row).
-- Only deliveries on days the account is open and inside the reporting window
-- count: from its opening date (at the earliest the history start) to the day
-- before its closing date.
-- Incremental (folder intermediate/incremental): a run rebuilds the intervals of
-- the accounts with a balance or an account delivery loaded since the table's
-- latest loaded_at, whatever dates they are for (a late balance splits an older
-- interval); delete+insert on account_id. loaded_at is the balance's: an
-- account delivery (a closing) rebuilds the account's intervals without making
-- its older balances look new to the month models (macro months_to_rebuild_from
-- dates an account delivery by its business or closing date). A change of var
-- history_start_date needs `dbt build --full-refresh`.
{{ config(unique_key='account_id') }}

with

accounts as (
    select * from {{ ref('int_accounts_classified') }}
),

balances as (
    select * from {{ ref('stg_core_banking__balances') }}
),

reporting_window as (
    select * from {{ ref('int_reporting_window') }}
),

{% if is_incremental() %}
    changed_accounts as (
        select balances.account_id
        from balances
        where balances.loaded_at >= {{ built_through(this) }}
        union
        select accounts.account_id
        from accounts
        where accounts.loaded_at >= {{ built_through(this) }}
    ),
{% endif %}

kept as (
    select
        balances.account_id,
        balances.balance_date,
        balances.balance_amount,
        accounts.closed_date,
        balances.loaded_at
    from balances
    inner join accounts
        on balances.account_id = accounts.account_id
    cross join reporting_window
    where
        balances.balance_date >= accounts.opened_date
        and balances.balance_date >= reporting_window.history_start_date
        and (accounts.closed_date is null or balances.balance_date < accounts.closed_date)
        {% if is_incremental() %}
            and balances.account_id in (select changed_accounts.account_id from changed_accounts)
        {% endif %}
),

chained as (
    select
        kept.*,
        lead(kept.balance_date) over (
            partition by kept.account_id
            order by kept.balance_date
        ) as next_balance_date
    from kept
),

final as (
    select
        -- ids
        account_id,

        -- numerics
        balance_amount,

        -- dates
        balance_date as valid_from_date,
        coalesce(next_balance_date, closed_date) as valid_to_date,

        -- timestamps
        loaded_at
    from chained
)

select * from final
