"""The sample bank's dirt is real dirt: the real landing load quarantines exactly the manifest.

A small, very dirty bank is generated and loaded by ``load_landing`` (the function
the DAG calls) into an isolated warehouse. Then, row for row:

- ``raw._quarantine`` holds exactly the manifest's injected defects (same file and
  line, nothing missing, nothing extra), each quarantined by the rule its kind
  breaks and by no other rule;
- every other record of every file is in its raw table under the same file and
  line, late-arriving transactions included;
- every re-delivered byte copy is registered as a duplicate and loads nothing.

A random sample rarely copies the awkward rows (a zero amount, a missing optional
value), so every defect kind is also applied to every column it can hit of a real
row with such values, and checked against the landing suites directly.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from expectations.runner import gx_context
from include.bank_generator import GeneratorConfig, generate_bank
from include.bank_generator.dirt import (
    FOREIGN_KEYS,
    LATE,
    REDELIVERED,
    ROW_KINDS,
    KeySpace,
    defect_line,
    kind_columns,
)
from include.bank_generator.tables import ACCOUNT_ID, CUSTOMER_ID
from include.config import load_settings
from include.landing.entities import DECIMAL, ENTITIES, INTEGER, REFERENCES, STRING, Entity
from loading.loader import CSV_RULE, load_landing
from loading.reader import read_landed_file
from tests.expectations.test_landing_suites import check

START = "2025-01-01"
MONTHS = 3
LAST_DAY = "2025-03-31"
BY_NAME = {entity.name: entity for entity in ENTITIES}
CSV_KINDS = ("malformed_field_count", "broken_quoting")
PARENT_OF = {"customer_id": "customers", "account_id": "accounts"}


def expected_rule(kind: str, column: str) -> str:
    """The landing rule (``raw._quarantine.rule``) a defect of ``kind`` in ``column`` breaks."""
    rules = {
        "malformed_field_count": CSV_RULE,
        "broken_quoting": CSV_RULE,
        "orphan_key": f"expect_column_values_to_be_in_set({column}__is_known)",
        "negative_value": f"expect_column_values_to_be_between({column}__value)",
        "unparseable_date": f"expect_column_values_to_be_in_set({column}__is_valid)",
        "unparseable_number": f"expect_column_values_to_be_in_set({column}__is_valid)",
        "future_birth_date": (
            f"expect_column_pair_values_a_to_be_greater_than_b(_business_date, {column}__value)"
        ),
        "unknown_enum": f"expect_column_values_to_be_in_set({column})",
    }
    return rules[kind]


def business_date(relative: str) -> str:
    return re.search(r"business_date=(\d{4}-\d{2}-\d{2})", relative).group(1)


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A dirty bank (10 % dirt: hundreds of each kind), loaded in one run like a first DAG run."""
    root = tmp_path_factory.mktemp("dirty_bank")
    generate_bank(
        GeneratorConfig(
            customers=300,
            months=MONTHS,
            start_date=START,
            seed=1,
            dirt_rate=0.1,
            out=root,
            show_progress=False,
        )
    )
    settings = load_settings({"BANK_DATA_DIR": str(root)})
    summary = load_landing(settings, pd.Timestamp(LAST_DAY).date(), "dirt-manifest")
    assert not summary.rejected and not summary.unknown and not summary.files_for_later_dates
    raw_lines = " union all ".join(
        f"select _source_file, _source_line from raw.{entity.raw_table}" for entity in ENTITIES
    )
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        quarantine = con.execute(
            "select source_file, source_line, rule, reason from raw._quarantine"
        ).df()
        raw = con.execute(raw_lines).df()
        registry = con.execute("select file_path, status, rows_landed from raw._load_registry").df()
        parent_keys = {
            column: con.execute(
                f"select distinct {column} from raw.{BY_NAME[name].raw_table}"
            ).df()[column]
            for column, name in PARENT_OF.items()
        }
    lines = {}  # every landed file's physical lines (header = line 1)
    for path in sorted((root / "landing").rglob("*.csv")):
        text = path.read_text(encoding="utf-8")
        assert text.endswith("\n") and "\r" not in text, path
        lines[path.relative_to(root / "landing").as_posix()] = text.split("\n")[:-1]
    manifest = pd.read_csv(root / "ground_truth" / "dirt.csv", dtype=str, keep_default_na=False)
    return {
        "manifest": manifest,
        "injected": manifest[manifest["kind"].isin(ROW_KINDS)].assign(
            line=lambda m: m["line"].astype(int)
        ),
        "quarantine": quarantine,
        "raw": raw,
        "registry": registry,
        "parent_keys": parent_keys,
        "lines": lines,
    }


def test_every_defect_kind_occurs(bank: dict) -> None:
    kinds = bank["manifest"]["kind"].value_counts()
    assert set(kinds.index) == {*ROW_KINDS, LATE, REDELIVERED}, kinds.to_dict()
    assert (kinds[list(ROW_KINDS)] >= 3).all(), kinds.to_dict()


def test_quarantine_equals_the_manifest_row_for_row(bank: dict) -> None:
    injected, quarantine = bank["injected"], bank["quarantine"]
    expected = {
        (row.file, row.line): (row.kind, row.column, expected_rule(row.kind, row.column))
        for row in injected.itertuples()
    }
    assert len(expected) == len(injected), "two defects share a line"
    found = {
        (row.source_file, int(row.source_line)): (row.rule, row.reason)
        for row in quarantine.itertuples()
    }
    assert len(found) == len(quarantine), "a line is quarantined twice"
    missing = {key: value for key, value in expected.items() if key not in found}
    extra = {key: value for key, value in found.items() if key not in expected}
    assert missing == {}, f"injected, but loaded as a valid row: {missing}"
    assert extra == {}, f"quarantined, but not injected: {extra}"
    wrong = {
        key: (kind, column, found[key])
        for key, (kind, column, rule) in expected.items()
        if found[key][0] != rule
    }
    assert wrong == {}, f"quarantined by another rule than the defect's: {wrong}"
    # the reason names the column the defect hit
    unnamed = [
        (key, found[key][1])
        for key, (_, column, _) in expected.items()
        if column and column not in found[key][1]
    ]
    assert unnamed == []
    # the same, counted: rows injected per rule == rows quarantined per rule
    assert Counter(rule for _, _, rule in expected.values()) == Counter(quarantine["rule"])


def test_every_other_record_is_loaded_at_its_line(bank: dict) -> None:
    manifest, registry, injected = bank["manifest"], bank["registry"], bank["injected"]
    copies = set(manifest.loc[manifest["kind"] == REDELIVERED, "file"])
    records = {
        (file, number)
        for file, lines in bank["lines"].items()
        if file not in copies
        for number in range(2, len(lines) + 1)
    }
    dirty = set(zip(injected["file"], injected["line"], strict=True))
    assert dirty <= records
    raw = bank["raw"]
    in_raw = list(zip(raw["_source_file"], raw["_source_line"].astype(int), strict=True))
    assert len(set(in_raw)) == len(in_raw), "a record is loaded twice"
    assert set(in_raw) == records - dirty
    late = manifest[manifest["kind"] == LATE]
    assert len(late)
    assert set(zip(late["file"], late["line"].astype(int), strict=True)) <= set(in_raw)
    # landed = loaded + quarantined, file by file, as the registry counts it
    loaded = registry[registry["status"] == "loaded"].set_index("file_path")["rows_landed"]
    assert loaded.to_dict() == {
        file: len(lines) - 1 for file, lines in bank["lines"].items() if file not in copies
    }


def test_redelivered_copies_are_duplicates_and_load_nothing(bank: dict) -> None:
    manifest, registry = bank["manifest"], bank["registry"]
    copies = set(manifest.loc[manifest["kind"] == REDELIVERED, "file"])
    duplicates = set(registry.loc[registry["status"] == "duplicate", "file_path"])
    assert copies and duplicates == copies
    assert not set(bank["raw"]["_source_file"]) & copies
    assert not set(bank["quarantine"]["source_file"]) & copies


def test_clean_children_never_precede_their_parents(bank: dict) -> None:
    """A daily run loads one date at a time, so no clean row may name a parent delivered
    later: then the quarantine above is also what day-by-day runs produce."""
    injected = bank["injected"]
    dirty = set(zip(injected["file"], injected["line"], strict=True))
    copies = set(bank["manifest"].loc[bank["manifest"]["kind"] == REDELIVERED, "file"])

    def clean_rows(entity: Entity) -> pd.DataFrame:
        rows = []
        for file, lines in bank["lines"].items():
            if file.split("/")[1] != entity.name or file in copies:
                continue
            parsed = csv.reader(lines[1:])
            rows += [
                (business_date(file), *fields)
                for number, fields in enumerate(parsed, start=2)
                if (file, number) not in dirty
            ]
        return pd.DataFrame(rows, columns=["_date", *entity.column_names])

    first = {
        column: clean_rows(BY_NAME[name]).groupby(column)["_date"].min()
        for column, name in PARENT_OF.items()
    }
    for name, column in FOREIGN_KEYS.items():
        rows = clean_rows(BY_NAME[name])
        delivered = rows[column].map(first[column])
        assert delivered.notna().all(), name
        assert (delivered <= rows["_date"]).all(), name


# ---- every kind on every column it can hit, including zero and missing values ----


def source_rows(bank: dict, entity: Entity) -> list[tuple[str, dict[str, str | None]]]:
    """(business date, row) variants of a clean landed row of ``entity``: as landed, and
    with each column that has a minimum set to it (``0.00``, ``0``, ``1``) or left missing."""
    injected = bank["injected"]
    dirty = set(zip(injected["file"], injected["line"], strict=True))
    file, number = next(
        (file, number)
        for file, lines in bank["lines"].items()
        if file.split("/")[1] == entity.name and "redelivered" not in file
        for number in range(2, len(lines) + 1)
        if (file, number) not in dirty
    )
    fields = next(csv.reader([bank["lines"][file][number - 1]]))
    row = {name: value or None for name, value in zip(entity.column_names, fields, strict=True)}
    variants = [row]
    for column in entity.columns:
        if column.min_value is None:
            continue
        scale = len((row[column.name] or "0.00").partition(".")[2])
        lowest = f"{column.min_value:.{0 if column.type == INTEGER else scale}f}"
        variants.append({**row, column.name: lowest})
        if not column.required:
            variants.append({**row, column.name: None})
    return [(business_date(file), variant) for variant in variants]


def delta_entities() -> list[Entity]:
    return [entity for entity in ENTITIES if entity.delivery == "delta"]


@pytest.mark.parametrize("entity", delta_entities(), ids=lambda e: e.name)
def test_every_defect_of_every_column_breaks_its_rule(bank: dict, entity: Entity) -> None:
    rng = np.random.default_rng(5)
    parents = {
        "customer_id": KeySpace(*CUSTOMER_ID, len(bank["parent_keys"]["customer_id"])),
        "account_id": KeySpace(*ACCOUNT_ID, len(bank["parent_keys"]["account_id"])),
    }
    checked, expected = [], []
    for date, row in source_rows(bank, entity):
        for kind in ROW_KINDS:
            if kind in CSV_KINDS:
                continue
            for column in kind_columns(entity, kind):
                line = defect_line(rng, entity, row, kind, column, 1, date, parents)
                fields = next(csv.reader([line]))
                checked.append(
                    {
                        **{
                            name: value or None
                            for name, value in zip(entity.column_names, fields, strict=True)
                        },
                        "_source_file": f"{entity.name}_{date}.csv",
                        "_business_date": date,
                    }
                )
                expected.append((kind, column, row[column], expected_rule(kind, column)))
    assert {kind for kind, *_ in expected} == {
        kind for kind in ROW_KINDS if kind not in CSV_KINDS and kind_columns(entity, kind)
    }
    known = {
        ref.column: list(bank["parent_keys"][ref.column])
        for ref in REFERENCES.get(entity.raw_table, ())
    }
    frame = pd.DataFrame(checked)
    _, failures = check(gx_context(), entity, frame, known)
    got = failures["rule"].reindex(range(len(frame))).tolist()
    wrong = [
        (*case, frame.loc[index, case[1]], got[index])
        for index, case in enumerate(expected)
        if got[index] != case[3]
    ]
    assert wrong == []


def test_negative_value_is_below_the_minimum_for_zeros_and_missing_values(bank: dict) -> None:
    rng = np.random.default_rng(0)
    for entity in delta_entities():
        for date, row in source_rows(bank, entity):
            for column in kind_columns(entity, "negative_value"):
                line = defect_line(rng, entity, row, "negative_value", column, 1, date, {})
                value = dict(zip(entity.column_names, next(csv.reader([line])), strict=True))
                text = value[column]
                spec = entity.column(column)
                assert spec.type in (INTEGER, DECIMAL)
                assert re.fullmatch(r"-\d+(\.\d+)?", text), text
                assert float(text) < spec.min_value, (entity.name, column, row[column], text)


def with_awkward_text(entity: Entity, row: dict[str, str | None]) -> dict[str, str | None]:
    """``row`` with its free-text columns holding commas and quotes (valid, quoted CSV)."""
    texts = ['Wang, "Li"', 'x"', "p,q", '"', ","]
    free = [c.name for c in entity.columns if c.type == STRING and not c.allowed]
    free = [name for name in free if name not in entity.key and name not in FOREIGN_KEYS.values()]
    return {**row, **{name: texts[i % len(texts)] for i, name in enumerate(free)}}


def test_orphans_name_no_existing_parent() -> None:
    space = KeySpace("C", 8, 99_999_990)
    assert space.absent(0) == "C99999991"
    assert all(int(space.absent(offset)[1:]) > space.count for offset in (0, 5, 10**7))


@pytest.mark.parametrize("kind", CSV_KINDS)
def test_csv_defects_are_bad_records_of_every_entity(bank: dict, kind: str, tmp_path: Path) -> None:
    """Whatever the copied row holds (here also commas and quotes), one bad record."""
    rng = np.random.default_rng(3)
    for entity in delta_entities():
        rows = source_rows(bank, entity)
        for date, row in rows + [(date, with_awkward_text(entity, row)) for date, row in rows]:
            clean = io.StringIO()
            csv.writer(clean, lineterminator="\n").writerow(value or "" for value in row.values())
            bad = defect_line(rng, entity, row, kind, "", 1, date, {})
            path = tmp_path / f"{entity.name}.csv"
            path.write_text(
                ",".join(entity.column_names) + "\n" + clean.getvalue() + bad, encoding="utf-8"
            )
            parsed = read_landed_file(path, entity)
            assert len(parsed.rows) == 1 and [b.line for b in parsed.bad_rows] == [3], bad
