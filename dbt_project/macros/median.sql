{#
    Median of a numeric expression as an aggregate. The default is the SQL
    standard ordered-set aggregate (PostgreSQL and DuckDB); an adapter without it
    overrides <adapter>__median through adapter.dispatch.
#}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}
