"""Hostile text through every layer of the real DAG run (the shared ``pipeline_run``).

The tiny bank is generated with ``--hostile-text``: every value of
``include/bank_generator/hostile_text.py`` (quotes, SQL, Jinja, shell, a 10,000-character
string, emoji, right-to-left and mixed scripts, combining marks, tab and line breaks
inside quoted fields, HTML and script tags, backslashes, ...) sits in a few rows' free-text
fields, and ``ground_truth/hostile_text.csv`` says which file, line and column. Per value:

- **raw** (``raw.<system>__<entity>``, found by file and line): the exact text;
- **staging** (the entity's staging model, found by key): the exact text, except for
  personal data, which staging never carries;
- **restricted** (``restricted_customer_personal_data``): names and addresses, exact;
- **intermediate** (``int_transactions_classified``): counterparty names, exact;
- **marts**, the **published DuckDB copy** and its **Parquet** files: the city (the one
  free-text field they publish), exact, in every table that has it; and no hostile value
  in any other cell of any table there, so no name or address leaked;
- **the run report**: it shows none of these fields (its only text from the data is the
  masked id and the playbook's action labels): no hostile value is on the page, and
  what it shows is what the published marts hold;
- **nothing broke**: the values the landing contract refuses (control characters) are
  in ``raw._quarantine`` with the rule and a reason naming the code point, their text kept
  as landed; no other row of the manifest is quarantined, and no quarantined row is
  neither injected dirt nor a refused hostile value. (The DAG runs succeeding is
  ``tests/dags/test_end_to_end.py``'s; ``tests/reporting/test_report_in_browser.py``
  checks no console error and no script dialog in the report.)
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from include.bank_generator.hostile_text import (
    ACCEPTED,
    BY_NAME,
    MANIFEST,
    MANIFEST_COLUMNS,
    REJECTED,
    VERBATIM,
)
from include.config import Settings, load_settings
from include.landing.entities import ENTITIES
from include.publish import current_release, parquet_relations
from reporting.queries import AT_RISK_LIMIT, AT_RISK_SQL
from reporting.reshape import mask_customer_id
from tests.conftest import latest_daily_report

BY_ENTITY = {entity.name: entity for entity in ENTITIES}
# entity -> (staging model, the key column there, column -> its name there)
STAGING = {
    "customers": ("stg_core_banking__customers", "customer_id", {"city": "city"}),
    "transactions": (
        "stg_core_banking__transactions",
        "transaction_id",
        {"counterparty_name": "counterparty_name"},
    ),
    "branches": (
        "stg_reference__branches",
        "branch_id",
        {"branch_name": "branch_name", "region": "region"},
    ),
    "products": ("stg_reference__products", "product_code", {"product_name": "product_name"}),
    "campaigns": ("stg_reference__campaigns", "campaign_id", {"campaign_name": "campaign_name"}),
    "transaction_types": (
        "stg_reference__transaction_types",
        "transaction_type_code",
        {"description": "transaction_type_description"},
    ),
}
PERSONAL_DATA = {"full_name", "address"}
# The marts (and the snapshot over dim_customers) that publish the customer's city.
CITY_TABLES = ("dim_customers", "mart_customer_360", "mart_customer_scores")
CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@pytest.fixture(scope="module")
def settings(pipeline_run: dict) -> Settings:
    return load_settings(pipeline_run["env"])


@pytest.fixture(scope="module")
def manifest(pipeline_run: dict) -> pd.DataFrame:
    path = Path(pipeline_run["data_dir"]) / "ground_truth" / MANIFEST
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(frame.columns) == list(MANIFEST_COLUMNS)
    return frame.assign(
        line=frame["line"].astype(int), text=frame["value_name"].map(lambda n: BY_NAME[n].text)
    )


@pytest.fixture(scope="module")
def warehouse(settings: Settings):
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        yield con


def verbatim(manifest: pd.DataFrame) -> pd.DataFrame:
    return manifest[manifest["outcome"] == VERBATIM]


def same(found: object, expected: str) -> bool:
    """Byte for byte: the UTF-8 of both is equal (no normalisation, no trimming)."""
    return isinstance(found, str) and found.encode() == expected.encode()


def test_every_value_is_planted_in_every_kind_of_field(manifest: pd.DataFrame) -> None:
    kept = verbatim(manifest)
    for value in ACCEPTED:
        mine = kept[kept["value_name"] == value.name]
        fields = set(zip(mine["entity"], mine["column"], strict=True))
        assert {("customers", "full_name"), ("customers", "address")} <= fields, value.name
        assert ("customers", "city") in fields, value.name
        assert ("transactions", "counterparty_name") in fields, value.name
        assert (
            fields
            - {("customers", c) for c in ("full_name", "address", "city")}
            - {("transactions", "counterparty_name")}
        ), f"{value.name}: in no reference name"
    refused = manifest[manifest["outcome"] != VERBATIM]
    assert set(refused["value_name"]) == {value.name for value in REJECTED}
    assert len(BY_NAME["long_text"].text) == 10_000


def test_raw_holds_every_accepted_value_verbatim_at_its_line(
    manifest: pd.DataFrame, warehouse: duckdb.DuckDBPyConnection
) -> None:
    wrong = []
    for row in verbatim(manifest).itertuples():
        table = BY_ENTITY[row.entity].raw_table
        found = warehouse.execute(
            f"select {row.column} from raw.{table} where _source_file = ? and _source_line = ?",
            [row.file, row.line],
        ).fetchall()
        if len(found) != 1 or not same(found[0][0], row.text):
            wrong.append((row.file, row.line, row.column, row.value_name, found[:1]))
    assert wrong == []


def test_staging_holds_every_value_of_the_fields_it_carries(
    manifest: pd.DataFrame, warehouse: duckdb.DuckDBPyConnection
) -> None:
    wrong, checked = [], 0
    for row in verbatim(manifest).itertuples():
        if row.column in PERSONAL_DATA:
            continue
        model, key, columns = STAGING[row.entity]
        [(found,)] = warehouse.execute(
            f"select {columns[row.column]} from staging.{model} where {key} = ?", [row.key]
        ).fetchall()
        checked += 1
        if not same(found, row.text):
            wrong.append((model, row.key, row.column, row.value_name, found))
    assert wrong == [] and checked


def test_personal_data_is_verbatim_in_the_restricted_layer_only(
    manifest: pd.DataFrame, warehouse: duckdb.DuckDBPyConnection
) -> None:
    staged = {
        column
        for (column,) in warehouse.execute(
            "select column_name from information_schema.columns where table_schema = 'staging' "
            "and table_name = 'stg_core_banking__customers'"
        ).fetchall()
    }
    assert staged and not PERSONAL_DATA & staged
    wrong, checked = [], 0
    for row in verbatim(manifest).itertuples():
        if row.column not in PERSONAL_DATA:
            continue
        [(found,)] = warehouse.execute(
            f"select {row.column} from restricted.restricted_customer_personal_data "
            "where customer_id = ?",
            [row.key],
        ).fetchall()
        checked += 1
        if not same(found, row.text):
            wrong.append((row.key, row.column, row.value_name, found))
    assert wrong == [] and checked


def test_counterparty_names_are_verbatim_in_the_intermediate_layer(
    manifest: pd.DataFrame, warehouse: duckdb.DuckDBPyConnection
) -> None:
    rows = verbatim(manifest)
    rows = rows[rows["column"] == "counterparty_name"]
    assert len(rows)
    for row in rows.itertuples():
        [(found,)] = warehouse.execute(
            "select counterparty_name from intermediate.int_transactions_classified "
            "where transaction_id = ?",
            [row.key],
        ).fetchall()
        assert same(found, row.text), (row.key, row.value_name, found)


def city_targets(manifest: pd.DataFrame) -> dict[str, str]:
    """customer_id -> the hostile city it was given."""
    rows = verbatim(manifest)
    rows = rows[(rows["entity"] == "customers") & (rows["column"] == "city")]
    return dict(zip(rows["key"], rows["text"], strict=True))


def tables_of(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> dict[str, str]:
    listed = ", ".join(f"'{schema}'" for schema in schemas)
    return {
        f"{schema}.{table}": f'{schema}."{table}"'
        for schema, table in con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_catalog = current_database() and table_schema in ({listed})"
        ).fetchall()
    }


def hostile_cells(
    con: duckdb.DuckDBPyConnection, relations: dict[str, str], texts: list[str]
) -> dict[tuple[str, str], int]:
    """(table, column) -> cells holding exactly one of ``texts``, over every text column."""
    con.execute("create or replace temp table hostile_texts (text varchar)")
    con.executemany("insert into hostile_texts values (?)", [[text] for text in texts])
    found = {}
    for name, relation in relations.items():
        columns = con.execute(f"describe select * from {relation}").fetchall()
        for column, kind, *_ in columns:
            if kind != "VARCHAR":
                continue
            (count,) = con.execute(
                f'select count(*) from {relation} where "{column}" in (select text from hostile_texts)'
            ).fetchone()
            if count:
                found[(name, column)] = count
    return found


def expected_city_cells(
    con: duckdb.DuckDBPyConnection, relations: dict[str, str], targets: dict[str, str]
) -> dict[tuple[str, str], int]:
    """The cells the city targets fill, and each one holds its customer's value."""
    expected = {}
    for name, relation in relations.items():
        table = name.split(".")[-1]
        if table not in (*CITY_TABLES, "snp_customer_value_tiers"):
            continue
        rows = con.execute(
            f"select customer_id, city from {relation} "
            f"where customer_id in (select unnest(?::varchar[]))",
            [list(targets)],
        ).fetchall()
        assert rows, f"no city target in {name}"
        wrong = [(cid, city) for cid, city in rows if not same(city, targets[cid])]
        assert wrong == [], f"{name}: cities not verbatim: {wrong}"
        expected[(name, "city")] = len(rows)
    return expected


@pytest.mark.parametrize("place", ["marts", "duckdb copy", "parquet"])
def test_marts_and_the_published_copy_hold_the_city_verbatim_and_nothing_else(
    place: str, manifest: pd.DataFrame, settings: Settings
) -> None:
    """The city is exact in every table that publishes it, and no other cell of any table
    holds a hostile value: the same texts were names and addresses, which must not leak."""
    targets = city_targets(manifest)
    texts = [value.text for value in ACCEPTED]
    if place == "marts":
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        relations = tables_of(con, ("marts", "snapshots"))
    elif place == "duckdb copy":
        con = duckdb.connect(str(settings.published_path), read_only=True)
        relations = tables_of(con, ("marts", "main"))
    else:
        con = duckdb.connect()
        release = current_release(settings)
        assert release is not None, "the pipeline run published nothing"
        relations = parquet_relations(release)
    try:
        assert relations
        expected = expected_city_cells(con, relations, targets)
        assert {name.split(".")[-1] for name, _ in expected} >= set(CITY_TABLES)
        assert hostile_cells(con, relations, texts) == expected
    finally:
        con.close()


def test_refused_values_are_quarantined_by_the_rule_with_their_text_kept(
    manifest: pd.DataFrame, warehouse: duckdb.DuckDBPyConnection
) -> None:
    refused = manifest[manifest["outcome"] != VERBATIM]
    assert len(refused)
    for row in refused.itertuples():
        found = warehouse.execute(
            "select rule, reason, raw_row from raw._quarantine "
            "where source_file = ? and source_line = ?",
            [row.file, row.line],
        ).fetchall()
        assert len(found) == 1, (row.file, row.line, row.value_name)
        [(rule, reason, raw_row)] = found
        assert rule == row.outcome
        code = f"U+{ord(CONTROL.search(row.text)[0]):04X}"
        assert reason.startswith(f"{row.column} holds the control character {code} at character")
        assert row.text in raw_row  # as landed, not cleaned
        table = BY_ENTITY[row.entity].raw_table
        key = BY_ENTITY[row.entity].key[0]
        assert warehouse.execute(
            f"select count(*) from raw.{table} where {key} = ?", [row.key]
        ).fetchone() == (0,)


def test_no_other_row_is_quarantined(
    manifest: pd.DataFrame, warehouse: duckdb.DuckDBPyConnection, pipeline_run: dict
) -> None:
    """Only injected dirt and the refused hostile values are in the quarantine."""
    dirt = pd.read_csv(
        Path(pipeline_run["data_dir"]) / "ground_truth" / "dirt.csv",
        dtype=str,
        keep_default_na=False,
    )
    dirty = {(f, int(n)) for f, n in zip(dirt["file"], dirt["line"], strict=True) if n}
    refused = manifest[manifest["outcome"] != VERBATIM]
    planted = set(zip(refused["file"], refused["line"], strict=True))
    quarantined = set(
        warehouse.execute("select source_file, source_line from raw._quarantine").fetchall()
    )
    kept = verbatim(manifest)
    assert not quarantined & set(zip(kept["file"], kept["line"], strict=True))
    assert quarantined - dirty - planted == set()
    assert planted <= quarantined


@pytest.fixture(scope="module")
def report(pipeline_run: dict) -> str:
    path = latest_daily_report(pipeline_run["env"])
    return path.read_text(encoding="utf-8")


def test_the_report_shows_no_hostile_field(report: str) -> None:
    """The report shows no free text of the landing files, so no hostile value, raw or
    escaped, is on the page (plotly.js itself, the page's first script, left out)."""
    first_script = re.search(r"<script\b[^>]*>.*?</script>", report, re.DOTALL)
    assert first_script and "plotly" in first_script[0][:2000].lower()
    page = report[: first_script.start()] + report[first_script.end() :]
    generic = {"null_words", "leading_zeros", "comma_and_semicolon"}  # too short to be telling
    shown = [
        value.name
        for value in (*ACCEPTED, *REJECTED)
        if value.name not in generic and (value.text in page or html.escape(value.text) in page)
    ]
    assert shown == []


def cells_of(report: str, table_id: str) -> tuple[list[str], list[list[str]]]:
    """Headers and cell texts (unescaped) of a table of the report."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', report, re.DOTALL)
    assert table, table_id
    headers = [html.unescape(h) for h in re.findall(r"<th>(.*?)</th>", table[1], re.DOTALL)]
    rows = [
        [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)]
        for row in re.findall(r"<tr>(.*?)</tr>", table[1].split("<tbody>", 1)[1], re.DOTALL)
    ]
    return headers, rows


def test_what_the_report_shows_is_what_the_published_marts_hold(
    report: str, settings: Settings, manifest: pd.DataFrame
) -> None:
    """The masked ids and action labels of the at-risk list (the tiny bank may have no
    high-value customer at risk: then the page says so), and the quarantine's rules."""
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        at_risk = con.execute(AT_RISK_SQL.format(marts="marts"), [AT_RISK_LIMIT]).df()
    headers, rows = cells_of(report, "at-risk-table")
    assert len(rows) == len(at_risk)
    if not rows:
        assert "No high-value customer in the medium or high band." in report
    column = {name: headers.index(name) for name in headers}
    assert [r[column["customer"]] for r in rows] == [
        mask_customer_id(c) for c in at_risk["customer_id"]
    ]
    assert [r[column["next best action"]] for r in rows] == at_risk["description_en"].tolist()
    assert [r[column["下一步最佳行动"]] for r in rows] == at_risk["description_zh"].tolist()
    assert [r[column["action"]] for r in rows] == at_risk["action_code"].tolist()
    # the refused values show as their rule, counted, never as their text
    _, quarantine = cells_of(report, "dq-rules")
    refused = manifest[manifest["outcome"] != VERBATIM].groupby(["entity", "outcome"]).size()
    shown = {(entity, rule): int(rows.replace(",", "")) for entity, rule, rows, _ in quarantine}
    assert {key: shown.get(key) for key in refused.index} == refused.to_dict()
