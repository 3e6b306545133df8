{#
    A date project var (e.g. as_of_date) as a SQL date literal, or none when it is
    unset. The var comes from --vars '{as_of_date: YYYY-MM-DD}' (YAML may turn it into
    a date object; its text form is the same) or, when no var is given, from the
    environment variable WAREHOUSE_<NAME> (WAREHOUSE_AS_OF_DATE), which the DAG sets:
    dbt parses the whole project again when a var changes, but only the files that
    read an environment variable when it changes (3 s of every daily run's build).
#}
{% macro date_var_literal(name) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none -%}
        {%- set value = env_var('WAREHOUSE_' ~ (name | upper), '') -%}
    {%- endif -%}
    {%- if (value | string | trim) in ('', 'None', 'null') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set text = value | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " must be YYYY-MM-DD, got '" ~ text ~ "'"
        ) }}
    {%- endif -%}
    {{ return("cast('" ~ text ~ "' as date)") }}
{%- endmacro %}
