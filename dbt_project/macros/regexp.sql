{#
    Regular expressions (POSIX-style patterns both engines read alike), whose
    function names differ: DuckDB's regexp_matches is a boolean test where
    PostgreSQL's returns a set of rows, not allowed in a WHERE.
    regexp_contains: true when `pattern` matches anywhere in `string`.
    regexp_capture: capture group `group` of the first match, '' when none
    (DuckDB's regexp_extract; PostgreSQL's regexp_match gives null, coalesced).
    Arguments are SQL expressions (quote a literal pattern: "'a+'").
#}
{% macro regexp_contains(string, pattern) -%}
    {{ return(adapter.dispatch('regexp_contains', 'bank_customer_ops')(string, pattern)) }}
{%- endmacro %}

{% macro default__regexp_contains(string, pattern) -%}
    (({{ string }}) ~ ({{ pattern }}))
{%- endmacro %}

{% macro duckdb__regexp_contains(string, pattern) -%}
    regexp_matches({{ string }}, {{ pattern }})
{%- endmacro %}

{% macro regexp_capture(string, pattern, group=1) -%}
    {{ return(adapter.dispatch('regexp_capture', 'bank_customer_ops')(string, pattern, group)) }}
{%- endmacro %}

{% macro default__regexp_capture(string, pattern, group) -%}
    coalesce((regexp_match({{ string }}, {{ pattern }}))[{{ group }}], '')
{%- endmacro %}

{% macro duckdb__regexp_capture(string, pattern, group) -%}
    regexp_extract({{ string }}, {{ pattern }}, {{ group }})
{%- endmacro %}
