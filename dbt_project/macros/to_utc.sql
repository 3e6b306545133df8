{#
    Convert a timestamp recorded in bank local time (no offset) to UTC.
    "at time zone" is SQL standard and works on PostgreSQL and on DuckDB (ICU);
    dispatched so another adapter can supply its own form.
#}
{% macro to_utc(column, time_zone='Asia/Shanghai') -%}
    {{ return(adapter.dispatch('to_utc')(column, time_zone)) }}
{%- endmacro %}

{% macro default__to_utc(column, time_zone) -%}
    cast((({{ column }}) at time zone '{{ time_zone }}') at time zone 'UTC' as timestamp)
{%- endmacro %}
