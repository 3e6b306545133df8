{#
    One row per day (column date_day) from start_date to end_date inclusive.
    Both arguments are SQL expressions of type date (literals, columns of a
    one-row relation, or scalar subqueries). Covers up to 100,000 days.

    The default builds the numbers from a cross join of digits and uses dbt's
    cross-database dateadd/datediff, so it runs unchanged on DuckDB and
    PostgreSQL; an adapter can override it (e.g. postgres__date_spine with
    generate_series) through adapter.dispatch.
#}
{% macro date_spine(start_date, end_date) -%}
    {{ return(adapter.dispatch('date_spine')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__date_spine(start_date, end_date) -%}
    select cast({{ dbt.dateadd('day', 'day_offsets.day_offset', start_date) }} as date) as date_day
    from (
        select
            ones.digit
            + 10 * tens.digit
            + 100 * hundreds.digit
            + 1000 * thousands.digit
            + 10000 * ten_thousands.digit as day_offset
        from {{ _spine_digits() }} as ones
        cross join {{ _spine_digits() }} as tens
        cross join {{ _spine_digits() }} as hundreds
        cross join {{ _spine_digits() }} as thousands
        cross join {{ _spine_digits() }} as ten_thousands
    ) as day_offsets
    where day_offsets.day_offset <= {{ dbt.datediff(start_date, end_date, 'day') }}
{%- endmacro %}

{% macro _spine_digits() -%}
    (
        select 0 as digit union all select 1 union all select 2 union all select 3
        union all select 4 union all select 5 union all select 6 union all select 7
        union all select 8 union all select 9
    )
{%- endmacro %}
