{#
    Fails on every row where the SQL expression is not true (e.g. a date order).
#}
{% test expression_is_true(model, expression) %}
    select *
    from {{ model }}
    where not ({{ expression }})
{% endtest %}
