{#
    The warehouse's database roles (PostgreSQL), created idempotently by
    `dbt run-operation create_warehouse_roles` and by on-run-start before every
    build (dbt's `grants` config in dbt_project.yml names them, so they must exist):
      - engineer: reads and writes every schema of the project;
      - analyst, bi_reader: read the marts schema (the contract) only; no usage
        on restricted (personal data), raw or any other schema.
    Roles are NOLOGIN groups: people and tools log in as their own users,
    members of one of them (`grant analyst to alice`).
    dbt's grants cover the relations dbt builds; schema USAGE, and the tables
    other writers create (the loader's raw and audit tables, scoring's scores
    tables), are granted here, with default privileges for the ones created later
    by the same user. On DuckDB (one file, no roles; BI reads a published copy)
    this is a no-op, and so are grants (duckdb__apply_grants below).
    The dbt user needs CREATEROLE (or superuser) the first time.
#}
{# `dbt run-operation create_warehouse_roles`: run the statements. #}
{% macro create_warehouse_roles() -%}
    {%- set sql = bank_customer_ops.warehouse_roles_sql() -%}
    {%- if sql | trim -%}
        {%- do run_query(sql) -%}
        {%- do run_query('commit') -%}
        {{ log('warehouse roles engineer, analyst and bi_reader in place', info=true) }}
    {%- else -%}
        {{ log('no warehouse roles on ' ~ target.type, info=true) }}
    {%- endif -%}
{%- endmacro %}

{# The statements, for on-run-start (empty where there are no roles). #}
{% macro warehouse_roles_sql() -%}
    {{ return(adapter.dispatch('warehouse_roles_sql', 'bank_customer_ops')()) }}
{%- endmacro %}

{% macro default__warehouse_roles_sql() -%}
    {%- set all_schemas = bank_customer_ops.warehouse_schemas() -%}
    {%- set written_elsewhere = ['raw', 'scores', 'audit'] -%}
    {%- set statements = [] -%}
    {%- for role in ['engineer', 'analyst', 'bi_reader'] -%}
        {%- do statements.append(
            "do $$ begin if not exists (select from pg_roles where rolname = '" ~ role
            ~ "') then create role " ~ role ~ " nologin; end if; end $$"
        ) -%}
    {%- endfor -%}
    {%- for schema in all_schemas -%}
        {%- do statements.append('create schema if not exists ' ~ schema) -%}
        {%- do statements.append('grant usage, create on schema ' ~ schema ~ ' to engineer') -%}
    {%- endfor -%}
    {%- for schema in written_elsewhere -%}
        {%- do statements.append('grant all on all tables in schema ' ~ schema ~ ' to engineer') -%}
        {%- do statements.append(
            'alter default privileges in schema ' ~ schema ~ ' grant all on tables to engineer'
        ) -%}
    {%- endfor -%}
    {%- do statements.append('grant usage on schema marts to analyst, bi_reader') -%}
    {{ return(statements | join(';\n') ~ ';') }}
{%- endmacro %}

{% macro duckdb__warehouse_roles_sql() -%}
    {{ return('') }}
{%- endmacro %}

{# The schemas of the project (generate_schema_name keeps these plain names). #}
{% macro warehouse_schemas() -%}
    {{ return(['raw', 'staging', 'intermediate', 'marts', 'restricted', 'scores',
               'audit', 'snapshots', 'seeds']) }}
{%- endmacro %}

{# DuckDB has no roles: grants config is silent there instead of warning on every model. #}
{% macro duckdb__apply_grants(relation, grant_config, should_revoke=True) -%}
{%- endmacro %}
