{#
    Rows of a raw landing table keeping only the latest delivery of each key.

    The same key can land several times (customers and accounts are deltas,
    late transactions repeat, reference snapshots re-deliver every row), so the
    winner is the row from the latest business date, then the latest load, then
    the last line of the file. Snapshot entities use the same rule: a code that
    disappears from a later snapshot keeps its last delivered row, so history
    (old accounts on retired products) stays joinable.

    Adds the columns _delivery_rank (always 1) and _first_loaded_at (when the
    key's first delivery was loaded: incremental models tell a key new to the
    warehouse from a re-delivered one); staging models list their columns
    explicitly, so they go only where a staging model passes them on.
#}
{% macro latest_delivery(relation, key_columns) -%}
    {#- Most keys are delivered once: only the keys delivered more than once are
        ranked, so the window (which sorts every column of the rows it ranks, and
        at a bank's scale spills the whole history to disk) sees a few rows, and
        the rest pass through a join against a one-column aggregate. -#}
    with

    repeated_keys as (
        select {{ key_columns | join(', ') }}
        from {{ relation }} as delivered
        group by {{ key_columns | join(', ') }}
        having count(*) > 1
    ),

    delivered_once as (
        select
            landed.*,
            cast(1 as bigint) as _delivery_rank,
            landed._loaded_at as _first_loaded_at
        from {{ relation }} as landed
        left join repeated_keys as repeated
            on {{ _key_match(key_columns) }}
        where repeated.{{ key_columns[0] }} is null
    ),

    delivered_again as (
        select landed.*
        from {{ relation }} as landed
        inner join repeated_keys as repeated
            on {{ _key_match(key_columns) }}
    )

    select * from delivered_once
    union all
    {{ _ranked_latest_delivery('delivered_again', key_columns) }}
{%- endmacro %}

{% macro _key_match(key_columns) -%}
    {%- for key in key_columns %}{{ ' and ' if not loop.first }}landed.{{ key }} = repeated.{{ key }}{% endfor -%}
{%- endmacro %}

{# Every delivery of `relation` ranked per key; the winner of each key. #}
{% macro _ranked_latest_delivery(relation, key_columns) -%}
    select ranked.*
    from (
        select
            landed.*,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by
                    landed._business_date desc,
                    landed._loaded_at desc,
                    landed._source_file desc,
                    landed._source_line desc
            ) as _delivery_rank,
            min(landed._loaded_at) over (
                partition by {{ key_columns | join(', ') }}
            ) as _first_loaded_at
        from {{ relation }} as landed
    ) as ranked
    where ranked._delivery_rank = 1
{%- endmacro %}


{#
    latest_delivery for an incremental staging model. A full build ranks every
    key. An incremental run ranks only the deliveries loaded since the model's
    latest loaded_at; the staging model then keeps each winner only where it is
    not older than the row the key already has in `this`
    (keep_deliveries_newer_than_built). The delivery order is a total order, so
    the winner of all deliveries is the winner of (the previous winner, the new
    winner): the history is never re-read. `>=` re-takes the last load in full,
    so a tie on (business date, load) means both came from that load, and the
    new ranking already saw the row in `this`. With delete+insert on the key the
    table then equals the full build (tests/dbt/test_incremental_equality.py).
#}
{% macro latest_delivery_since_last_build(relation, key_columns) -%}
    {%- if is_incremental() -%}
        {%- set delivered_since -%}
            (
                select * from {{ relation }} as new_deliveries
                where new_deliveries._loaded_at >= {{ built_through(this) }}
            )
        {%- endset -%}
        {{ _ranked_latest_delivery(delivered_since, key_columns) }}
    {%- else -%}
        {{ latest_delivery(relation, key_columns) }}
    {%- endif -%}
{%- endmacro %}


{#
    The rows of `relation` (a staging model's renamed deliveries, with columns
    delivered_date and loaded_at) that win against the row their key already has
    in `this`: keys new to the table, and keys whose new delivery is for a later
    business date, or the same date and a load not older. A late file for an
    older business date loses to the row already built, which delete+insert then
    leaves as it is (its key is not in the result).
#}
{% macro keep_deliveries_newer_than_built(relation, key_columns) -%}
    select candidate.*
    from {{ relation }} as candidate
    left join {{ this }} as built
        on
        {%- for key in key_columns %}
            {{ 'and ' if not loop.first }}candidate.{{ key }} = built.{{ key }}
        {%- endfor %}
    where
        built.{{ key_columns[0] }} is null
        or candidate.delivered_date > built.delivered_date
        or (candidate.delivered_date = built.delivered_date and candidate.loaded_at >= built.loaded_at)
{%- endmacro %}
