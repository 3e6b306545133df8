{#
    Fails on every combination of the given columns that appears more than once
    (dbt_utils is unavailable offline, so the few generic tests live here).
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    select
        {{ combination_of_columns | join(', ') }},
        count(*) as occurrences
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}
