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
-- Incremental (folder intermediate/incremental), appending what the pre-hook
-- (macro delete_balance_intervals_to_rebuild) deleted: of an account with a
-- balance loaded since the table's latest loaded_at, the intervals from the one
-- holding the earliest new balance's date on (a late balance splits an older
-- interval); of an account with an account delivery (a closing), all of them.
-- The kept intervals end where the rebuilt ones begin, so a run re-chains a few
-- intervals per account, not its history. loaded_at is the balance's: an
-- account delivery (a closing) rebuilds the account's intervals without making
-- its older balances look new to the month models (macro months_to_rebuild_from
-- dates an account delivery by its business or closing date). A change of var
-- history_start_date needs `dbt build --full-refresh`.
{{ config(
    incremental_strategy='append',
    pre_hook="{{ delete_balance_intervals_to_rebuild(this) }}",
) }}

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

    -- the latest interval the pre-hook kept of each changed account: the rebuilt
    -- intervals are the account's balances after it
    kept_through as (
        select
            built.account_id,
            max(built.valid_from_date) as kept_through_date
        from {{ this }} as built
        where built.account_id in (select changed_accounts.account_id from changed_accounts)
        group by built.account_id
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
    {% if is_incremental() %}
        left join kept_through
            on balances.account_id = kept_through.account_id
    {% endif %}
    where
        balances.balance_date >= accounts.opened_date
        and balances.balance_date >= reporting_window.history_start_date
        and (accounts.closed_date is null or balances.balance_date < accounts.closed_date)
        {% if is_incremental() %}
            and balances.account_id in (select changed_accounts.account_id from changed_accounts)
            and (
                kept_through.kept_through_date is null
                or balances.balance_date > kept_through.kept_through_date
            )
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
