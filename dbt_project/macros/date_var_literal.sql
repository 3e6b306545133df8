{#
    A date project var (e.g. as_of_date) as a SQL date literal, or none when the
    var is unset. The DAG passes --vars '{as_of_date: YYYY-MM-DD}' (YAML may turn
    it into a date object; its text form is the same).
#}
{% macro date_var_literal(name) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none or (value | string | trim) in ('', 'None', 'null') -%}
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
