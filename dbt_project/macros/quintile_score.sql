{#
    Score 1-5 by quintile of a window ordered from worst to best:
    ceil(5 x position / n), where n is the rows in the partition and position is
    the row's place from the worst (1) to the best (n). Tied rows share the
    middle position of their tie, (first + last) / 2: rank() is the first,
    count(*) with the default frame (running to the last peer) the last. So a
    large tie of the best value (R = 0 days) scores high and a large tie of the
    worst (F = 0) scores low, instead of being split at random as ntile would.
    order_by is the window's ORDER BY list, worst first.
#}
{% macro quintile_score(order_by, partition_by=none) -%}
    {%- set partition -%}
        {%- if partition_by %}partition by {{ partition_by }}{% endif -%}
    {%- endset -%}
    cast(
        ceil(
            5.0 * (
                rank() over ({{ partition }} order by {{ order_by }})
                + count(*) over ({{ partition }} order by {{ order_by }})
            )
            / (2 * count(*) over ({{ partition }}))
        ) as integer
    )
{%- endmacro %}
