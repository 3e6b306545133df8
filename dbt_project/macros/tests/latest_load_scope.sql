{#
    Data tests of the tables that grow by millions of rows a day (the core
    banking staging tables, the transaction facts) check the rows of the latest
    load, not the whole history, once the history has been tested: dbt_project.yml
    gives them `where: "loaded_at >= __latest_load__"`. A row of these tables is
    the latest delivery of its key and carries that delivery's loaded_at, so a
    row that is new or changed since the previous run is among them; rows that
    were there before were tested when they were loaded, and delete+insert on the
    key keeps a key once across loads.

    `__latest_load__` becomes, as a timestamp literal, the first load
    (raw._load_registry, status loaded or rechecked) of any run whose marts have
    not passed their Great Expectations checks (audit.validation_runs, suites
    marts__*; a run that stopped before them, or failed them, is re-tested by the
    next one), or when every run has passed, the first load of the latest run
    that loaded rows. It becomes 1900-01-01 (every row tested) on a
    `--full-refresh`, with `--vars '{data_tests_on_all_rows: true}'`, and when
    nothing has been loaded yet (or by dbt alone, with no validation recorded:
    every loading run is then unvalidated).

    dbt allows no custom macro in a `where` config, so this overrides
    get_where_subquery, the macro that applies `where` (dbt's documented
    workaround, https://docs.getdbt.com/reference/resource-configs/where).
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- if '__latest_load__' in where -%}
            {%- set where = where | replace('__latest_load__', latest_load_started_at()) -%}
        {%- endif -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{% macro latest_load_started_at() -%}
    {%- set everything = "cast('1900-01-01 00:00:00' as timestamp)" -%}
    {%- if not execute or flags.FULL_REFRESH or var('data_tests_on_all_rows', false) -%}
        {{- return(everything) -}}
    {%- endif -%}
    {%- set registry = _existing_relation(source('pipeline', 'load_registry')) -%}
    {%- if registry is none -%}
        {{- return(everything) -}}
    {%- endif -%}
    {%- set validation_runs = _existing_relation(source('audit', 'validation_runs')) -%}
    {%- set since_sql -%}
        with

        loads as (
            select run_id, loaded_at
            from {{ registry }}
            where status in ('loaded', 'rechecked')
        ),

        {% if validation_runs is not none -%}
        validated_runs as (
            select run_id
            from {{ validation_runs }}
            where suite like 'marts%'
            group by run_id
            having min(case when success then 1 else 0 end) = 1
        ),
        {%- endif %}

        unvalidated_loads as (
            select loads.loaded_at
            from loads
            {% if validation_runs is not none -%}
            where loads.run_id not in (select validated_runs.run_id from validated_runs)
            {%- endif %}
        ),

        latest_loading_run as (
            select loads.loaded_at
            from loads
            where loads.run_id = (
                select latest.run_id from loads as latest order by latest.loaded_at desc limit 1
            )
        )

        select coalesce(
            (select min(unvalidated_loads.loaded_at) from unvalidated_loads),
            (select min(latest_loading_run.loaded_at) from latest_loading_run)
        )
    {%- endset -%}
    {%- set since = run_query(since_sql).columns[0].values()[0] -%}
    {%- if since is none -%}
        {{- return(everything) -}}
    {%- endif -%}
    {{- return("cast('" ~ since.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "' as timestamp)") -}}
{%- endmacro %}

{% macro _existing_relation(relation) -%}
    {{- return(adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
    )) -}}
{%- endmacro %}
