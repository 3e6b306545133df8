{#
    Incremental month models (int_account_months_aggregated,
    int_customer_months_aggregated) rebuild every month from the one returned
    here and keep the months before it. A month changes when
      - it is the latest month built (the open month, or the month that has
        just closed: a new as-of date changes its covered days), or the month
        of the as-of date when that is earlier (a re-run of a past date: its
        month is partial again, and the months after it are deleted);
      - a row loaded since the build touches it: a transaction on one of its
        days, a balance from one of its days on (the balance holds until the
        next one), an account delivery (a closing) from its business date or
        closing date, whichever is earlier; an account new to the warehouse
        from its opening date.
    Late rows for past dates therefore move the window back to their month.
    "Since the build" is the latest loaded_at in `this`: each row there carries
    the latest load among the rows it is built from (deterministic, so a
    full refresh gives the same value), and `>=` re-takes the last load's rows.
    Returns a scalar SQL expression (a date, first day of a month).
#}
{% macro months_to_rebuild_from(this_relation, transactions, balance_intervals, accounts, extra_dates_sql=none) -%}
    (
        select cast({{ dbt.date_trunc('month', 'min(changed.changed_date)') }} as date)
        from (
            select max(built.month_start_date) as changed_date
            from {{ this_relation }} as built
            {%- if as_of_month_sql() %}
            union all
            select {{ as_of_month_sql() }} as changed_date
            {%- endif %}
            union all
            select min(new_transactions.transaction_date) as changed_date
            from {{ transactions }} as new_transactions
            where new_transactions.loaded_at >= {{ built_through(this_relation) }}
            union all
            select min(new_intervals.valid_from_date) as changed_date
            from {{ balance_intervals }} as new_intervals
            where new_intervals.loaded_at >= {{ built_through(this_relation) }}
            union all
            {{ account_changes_from(this_relation, accounts) }}
            {%- if extra_dates_sql %}
            union all
            {{ extra_dates_sql }}
            {%- endif %}
        ) as changed
    )
{%- endmacro %}

{#
    The earliest date an account delivery loaded since changes, as a union member
    (one row, changed_date): a new account (maybe late, after its transactions) from
    its opening, a closing from its closing date or business date, whichever is
    earlier, any other change from its business date.
#}
{% macro account_changes_from(this_relation, accounts) -%}
    select
        min(
            case
                when new_accounts.first_loaded_at >= {{ built_through(this_relation) }}
                    then new_accounts.opened_date
                when new_accounts.closed_date < new_accounts.delivered_date
                    then new_accounts.closed_date
                else new_accounts.delivered_date
            end
        ) as changed_date
    from {{ accounts }} as new_accounts
    where new_accounts.loaded_at >= {{ built_through(this_relation) }}
{%- endmacro %}

{#
    The earliest date complaints loaded since change, as a union member (one row,
    changed_date): the first day of the month of the earliest of them (a complaint
    counts from its date on).
#}
{% macro complaint_changes_from(this_relation) -%}
    select cast({{ dbt.date_trunc('month', 'min(new_complaints.complaint_date)') }} as date)
        as changed_date
    from {{ ref('stg_crm__complaints') }} as new_complaints
    where new_complaints.loaded_at >= {{ built_through(this_relation) }}
{%- endmacro %}

{#
    The latest load the rows of an incremental model were built from: the
    latest loaded_at in `this` (1900-01-01 when it is empty). When dbt executes,
    it is read once, before the model is written, and inlined as a timestamp
    literal: a filter `loaded_at >= <literal>` lets the engine skip the storage
    blocks loaded before it (and each use does not re-scan `this`), where a
    scalar subquery would be evaluated against every row. At parse time it is
    the equivalent subquery.
#}
{% macro built_through(this_relation) -%}
    {%- set latest_load_sql -%}
        select coalesce(max(built.loaded_at), cast('1900-01-01' as timestamp))
        from {{ this_relation }} as built
    {%- endset -%}
    {%- if execute -%}
        {%- set latest_load = run_query(latest_load_sql).columns[0].values()[0] -%}
        cast('{{ latest_load.strftime('%Y-%m-%d %H:%M:%S.%f') }}' as timestamp)
    {%- else -%}
        ({{ latest_load_sql }})
    {%- endif -%}
{%- endmacro %}

{#
    More changed dates for customer months, as SQL union members over the
    model's import CTEs `customers` and `accounts`: a customer whose type changed
    changes from its first month built (the tier follows the type); a customer
    record that arrived after its accounts, from its first account's opening.
#}
{% macro customer_months_to_rebuild_from(this_relation) -%}
    select min(built.month_start_date) as changed_date
    from {{ this_relation }} as built
    inner join customers as changed_customers
        on built.customer_id = changed_customers.customer_id
    where
        changed_customers.loaded_at >= {{ built_through(this_relation) }}
        and changed_customers.customer_type <> built.customer_type
    union all
    select min(new_customer_accounts.opened_date) as changed_date
    from accounts as new_customer_accounts
    inner join customers as new_customers
        on new_customer_accounts.customer_id = new_customers.customer_id
    where new_customers.first_loaded_at >= {{ built_through(this_relation) }}
{%- endmacro %}

{#
    The earliest customer month that changed since the build of `this`, as a date
    literal: it is the latest built or the as-of month (as in months_to_rebuild_from),
    was rebuilt from rows loaded since (its loaded_at), is of a customer whose record
    arrived since (its months are new, their loaded_at is the accounts'), or an
    account delivered since changes it (a closing: the month's loaded_at is that of
    its balances and transactions, not of the account). int_customer_months_signals_measured
    rebuilds from it (its measures look backwards only). Evaluated once when dbt
    executes and inlined as a date literal, like built_through; `months_back` moves
    it back that many months.
#}
{% macro customer_months_changed_from(this_relation, customer_months, customers, accounts, extra_dates_sql=none, months_back=0) -%}
    {%- set changed_sql -%}
        select cast({{ dbt.dateadd('month', -months_back, 'min(changed.changed_date)') }} as date)
        from (
            select max(built.month_start_date) as changed_date
            from {{ this_relation }} as built
            {%- if as_of_month_sql() %}
            union all
            select {{ as_of_month_sql() }} as changed_date
            {%- endif %}
            union all
            select min(changed_months.month_start_date) as changed_date
            from {{ customer_months }} as changed_months
            where changed_months.loaded_at >= {{ built_through(this_relation) }}
            union all
            select min(new_customer_months.month_start_date) as changed_date
            from {{ customer_months }} as new_customer_months
            inner join {{ customers }} as new_customers
                on new_customer_months.customer_id = new_customers.customer_id
            where new_customers.first_loaded_at >= {{ built_through(this_relation) }}
            union all
            {{ account_changes_from(this_relation, accounts) }}
            {%- if extra_dates_sql %}
            union all
            {{ extra_dates_sql }}
            {%- endif %}
        ) as changed
    {%- endset -%}
    {%- if execute -%}
        {%- set changed = run_query(changed_sql).columns[0].values()[0] -%}
        cast('{{ changed or '1900-01-01' }}' as date)
    {%- else -%}
        ({{ changed_sql }})
    {%- endif -%}
{%- endmacro %}

{#
    Churn months (int_customer_months_churn_flagged, and the reasons attributed to
    them, int_churn_reasons_attributed) rebuild from churn_label_horizon_months
    before the earliest customer month that changed (customer_months_changed_from):
    a month's label looks that far ahead, and the last months of the window lose or
    gain their label as the as-of date moves.
#}
{% macro churn_months_to_rebuild_from(this_relation, customer_months, customers, accounts, extra_dates_sql=none) -%}
    {{- customer_months_changed_from(
        this_relation, customer_months, customers, accounts, extra_dates_sql,
        months_back=var('churn_label_horizon_months') | int
    ) -}}
{%- endmacro %}

{#
    The first day of the as-of date's month (var as_of_date, which the DAG always
    passes), or none when the var is unset (the as-of date is then the data's
    latest day, never a past date).
#}
{% macro as_of_month_sql() -%}
    {%- set as_of = date_var_literal('as_of_date') -%}
    {%- if as_of is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return('cast(' ~ dbt.date_trunc('month', as_of) ~ ' as date)') }}
{%- endmacro %}

{#
    Pre-hook of int_account_balance_intervals (incremental runs only): deletes the
    intervals the run rebuilds. Of an account with a balance loaded since the
    table's latest loaded_at, the intervals from the one holding the earliest new
    balance's date on (or from that date, when it is before the first interval):
    the kept intervals stay whole, the last of them ends on the first rebuilt one's
    start, and a late or re-delivered balance re-chains only what follows it. Of
    an account with an account delivery loaded since (a closing, a new or moved
    opening date), every interval. The model appends the account's balances after
    the kept intervals, in the same transaction.
#}
{% macro delete_balance_intervals_to_rebuild(this_relation) -%}
    {%- if is_incremental() -%}
        delete from {{ this_relation }} as built
        using (
            select
                new_balances.account_id,
                coalesce(max(held.valid_from_date), min(new_balances.first_new_date))
                    as rebuild_from_date
            from (
                select
                    balances.account_id,
                    min(balances.balance_date) as first_new_date
                from {{ ref('stg_core_banking__balances') }} as balances
                where balances.loaded_at >= {{ built_through(this_relation) }}
                group by balances.account_id
            ) as new_balances
            left join {{ this_relation }} as held
                on
                    new_balances.account_id = held.account_id
                    and held.valid_from_date <= new_balances.first_new_date
            group by new_balances.account_id
            union all
            select
                accounts.account_id,
                cast('1900-01-01' as date) as rebuild_from_date
            from {{ ref('int_accounts_classified') }} as accounts
            where accounts.loaded_at >= {{ built_through(this_relation) }}
        ) as rebuilt
        where
            built.account_id = rebuilt.account_id
            and built.valid_from_date >= rebuilt.rebuild_from_date
    {%- endif -%}
{%- endmacro %}
