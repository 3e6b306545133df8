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
    latest_delivery for an incremental staging model: on an incremental run only
    the keys with a delivery loaded since the model's latest loaded_at, each
    re-ranked over all its deliveries (so a late delivery for an older business
    date still loses to the newer one); a full build ranks every key. With
    delete+insert on the key the table then equals the full build
    (tests/dbt/test_incremental_equality.py). `>=` re-takes the last load's keys:
    harmless under delete+insert.
#}
{% macro latest_delivery_since_last_build(relation, key_columns) -%}
    {%- if is_incremental() -%}
        {%- set keys = key_columns | join(', ') -%}
        {%- set delivered_since -%}
            (
                select * from {{ relation }} as all_deliveries
                where ({{ keys }}) in (
                    select {{ keys }} from {{ relation }} as new_deliveries
                    where new_deliveries._loaded_at >= {{ built_through(this) }}
                )
            )
        {%- endset -%}
        {{ _ranked_latest_delivery(delivered_since, key_columns) }}
    {%- else -%}
        {{ latest_delivery(relation, key_columns) }}
    {%- endif -%}
{%- endmacro %}
