{#
    Filter (a boolean SQL expression over a transactions relation's columns
    loaded_at, account_id, counterparty_name) for an incremental run of a
    transaction model: the rows loaded since the latest loaded_at already in
    `this`, and the rows of accounts delivered since then. `>=` re-takes the last
    load's rows: harmless under delete+insert, and safe when a load wrote rows
    on both sides of the previous run. An account delivered later than its
    transactions (an orphan recovered by re-delivery) gives them their customer;
    an account delivered later than a transfer naming it makes that transfer an
    own-account leg.
#}
{% macro transactions_to_reclassify(this_relation, accounts_relation) -%}
    (
        loaded_at >= {{ built_through(this_relation) }}
        or account_id in ({{ _accounts_delivered_since(this_relation, accounts_relation) }})
        or counterparty_name in ({{ _accounts_delivered_since(this_relation, accounts_relation) }})
    )
{%- endmacro %}

{% macro _accounts_delivered_since(this_relation, accounts_relation) -%}
    select delivered_accounts.account_id
    from {{ accounts_relation }} as delivered_accounts
    where
        delivered_accounts.loaded_at >= {{ built_through(this_relation) }}
{%- endmacro %}
