{#
    The project's one rounding rule for money, rates and scores: numerator /
    denominator rounded half up (half away from zero, as Python's
    decimal.ROUND_HALF_UP) to `scale` decimals, once, at the end, computed
    exactly in integers.

    Engines divide decimals in floating point (DuckDB does), where
    round(15726.00 * 0.0100 / 12, 2) gives 13.10 instead of 13.11. Here both
    sides are scaled to integers by 10^input_scale (exact: they must be decimals
    or integers with at most `input_scale` decimals, i.e. sums and products of
    the landed figures, never a quotient), then
        q = (2 x |numerator| x 10^scale + |denominator|) div (2 x |denominator|)
    is the half-up quotient in units of 10^-scale. A zero denominator gives null.
#}
{% macro round_half_up(numerator, denominator=1, scale=2, input_scale=6) -%}
    {%- set numerator_units = bank_customer_ops.exact_integer(numerator, input_scale) -%}
    {%- set denominator_units = bank_customer_ops.exact_integer(denominator, input_scale) -%}
    {%- set step = '1' if scale == 0 else '0.' ~ '0' * (scale - 1) ~ '1' -%}
    cast(
        case
            when {{ denominator_units }} <> 0
                then sign({{ numerator_units }}) * sign({{ denominator_units }})
                * cast({{ bank_customer_ops.integer_divide(
                    '2 * abs(' ~ numerator_units ~ ') * ' ~ 10 ** scale
                    ~ ' + abs(' ~ denominator_units ~ ')',
                    '2 * abs(' ~ denominator_units ~ ')'
                ) }} as decimal(38, 0))
                * cast({{ step }} as decimal(38, {{ scale }}))
        end
        as decimal(38, {{ scale }})
    )
{%- endmacro %}

{# An exact expression with at most `input_scale` decimals, times
   10^input_scale, as an integer type that divides exactly. #}
{% macro exact_integer(expression, input_scale) -%}
    {{ return(adapter.dispatch('exact_integer', 'bank_customer_ops')(expression, input_scale)) }}
{%- endmacro %}

{% macro default__exact_integer(expression, input_scale) -%}
    cast(cast({{ expression }} as decimal(38, {{ input_scale }})) * {{ 10 ** input_scale }} as decimal(38, 0))
{%- endmacro %}

{% macro duckdb__exact_integer(expression, input_scale) -%}
    {#- widened to 38 digits first so the scaling cannot overflow an 18-digit input type -#}
    cast(cast({{ expression }} as decimal(38, {{ input_scale }})) * {{ 10 ** input_scale }} as hugeint)
{%- endmacro %}

{# Integer division, truncated (the operands are never negative here). #}
{% macro integer_divide(dividend, divisor) -%}
    {{ return(adapter.dispatch('integer_divide', 'bank_customer_ops')(dividend, divisor)) }}
{%- endmacro %}

{% macro default__integer_divide(dividend, divisor) -%}
    div({{ dividend }}, {{ divisor }})
{%- endmacro %}

{% macro duckdb__integer_divide(dividend, divisor) -%}
    {#- // on hugeint is exact; on decimals DuckDB would divide in floating point -#}
    (({{ dividend }}) // ({{ divisor }}))
{%- endmacro %}
