"""Tests of the synthetic bank generator (small scales, a few seconds in all)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from include.bank_generator import GeneratorConfig, generate_bank
from include.bank_generator.__main__ import main
from include.bank_generator.churn import REASONS
from include.bank_generator.dirt import ROW_KINDS
from include.bank_generator.hostile_text import BY_NAME as HOSTILE
from include.bank_generator.hostile_text import MANIFEST
from include.landing.entities import ENTITIES, landing_dir, landing_file_name

SMALL = {
    "customers": 200,
    "months": 3,
    "start_date": "2025-01-01",
    "show_progress": False,
    "workers": 0,
}
BY_NAME = {e.name: e for e in ENTITIES}
TRUTH_COLUMNS = [
    "customer_id",
    "archetype",
    "customer_type",
    "onboarded_date",
    "planted_churn_reason",
    "planted_churn_month",
    "is_planted_dormant",
    "is_planted_upgrade",
    "planted_closed_date",
]


def run(tmp_path_factory: pytest.TempPathFactory, name: str, **kwargs: object) -> Path:
    out = tmp_path_factory.mktemp(name)
    generate_bank(GeneratorConfig(out=out, **{**SMALL, **kwargs}))  # type: ignore[arg-type]
    return out


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run(tmp_path_factory, "clean", seed=7, dirt_rate=0.0)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run(tmp_path_factory, "dirty", seed=7, dirt_rate=0.02)


@pytest.fixture(scope="module")
def churn_scale(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 6 months leave 3 months of history before churn; 400 customers give every reason
    return run(tmp_path_factory, "churn", seed=11, dirt_rate=0.0, customers=400, months=6)


def files_of(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.csv"))}


def entity_files(out: Path, entity: str) -> list[Path]:
    e = BY_NAME[entity]
    return sorted((out / "landing" / e.system / e.name).glob("business_date=*/*.csv"))


def read_entity(out: Path, entity: str, redelivered: bool = False) -> pd.DataFrame:
    frames = []
    for path in entity_files(out, entity):
        if "redelivered" in path.name and not redelivered:
            continue
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame["_file"] = path.relative_to(out / "landing").as_posix()
        frame["_business_date"] = path.parent.name.split("=")[1]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def test_same_seed_gives_identical_bytes(
    clean: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    again = run(tmp_path_factory, "again", seed=7, dirt_rate=0.0)
    first, second = files_of(clean), files_of(again)
    assert len(first) > 50
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_same_seed_gives_identical_dirt(
    dirty: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    again = run(tmp_path_factory, "dirty_again", seed=7, dirt_rate=0.02)
    first, second = files_of(dirty), files_of(again)
    assert first["ground_truth/dirt.csv"].count(b"\n") > 100
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_different_seed_gives_different_data(
    clean: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    other = files_of(run(tmp_path_factory, "other", seed=8, dirt_rate=0.0))
    first = files_of(clean)
    name = "landing/core_banking/customers/business_date=2025-01-01/customers_20250101.csv"
    assert first[name] != other[name]
    assert first["ground_truth/customers.csv"] != other["ground_truth/customers.csv"]


def test_every_entity_has_files_with_contract_headers_and_layout(clean: Path) -> None:
    for entity in ENTITIES:
        paths = entity_files(clean, entity.name)
        assert paths, f"no files for {entity.name}"
        for path in paths:
            date = path.parent.name.removeprefix("business_date=")
            rel = path.relative_to(clean / "landing").as_posix()
            assert (
                rel == f"{landing_dir(entity.system, entity.name, date)}/"
                f"{landing_file_name(entity.name, date)}"
            )
            header = path.read_text(encoding="utf-8").split("\n", 1)[0]
            assert header == ",".join(entity.column_names), rel
        if entity.delivery == "snapshot":
            assert [p.parent.name for p in paths] == ["business_date=2025-01-01"]


def test_keys_unique_in_a_clean_run(clean: Path) -> None:
    for entity in ENTITIES:
        frame = read_entity(clean, entity.name)
        key = list(entity.key)
        # within one delivery a key appears once
        assert not frame.duplicated(key + ["_file"]).any(), entity.name
        if entity.name in ("transactions", "balances", "campaign_contacts"):
            assert not frame.duplicated(key).any(), entity.name  # never re-delivered


def test_balances_only_on_change_days_and_consistent_with_transactions(clean: Path) -> None:
    tx = read_entity(clean, "transactions")
    bal = read_entity(clean, "balances")
    acc = read_entity(clean, "accounts").drop_duplicates("account_id")
    products = read_entity(clean, "products").set_index("product_code")["product_category"]
    liability = (
        acc.set_index("account_id")["product_code"].map(products).isin(["loan", "credit_card"])
    )
    sign = tx["direction"].map({"credit": 1, "debit": -1}) * (
        1 - 2 * tx["account_id"].map(liability).astype(int)
    )
    tx["delta"] = sign * tx["amount"].astype(float)
    net = tx.groupby(["account_id", "transaction_date"])["delta"].sum()
    tx_days = set(net.index)
    start = "2025-01-01"
    opened = dict(
        zip(
            acc["account_id"],
            acc["opened_date"].where(acc["opened_date"] > start, start),
            strict=True,
        )
    )
    closes = read_entity(clean, "accounts").query("status == 'closed'")
    closed = set(zip(closes["account_id"], closes["closed_date"], strict=True))
    keys = list(zip(bal["account_id"], bal["balance_date"], strict=True))
    unexplained = [k for k in keys if k not in tx_days and opened[k[0]] != k[1] and k not in closed]
    assert unexplained == []
    # every account's change days all have a balance row
    assert tx_days <= set(keys)
    bal = bal.sort_values(["account_id", "balance_date"])
    bal["balance"] = bal["balance"].astype(float)
    bal["change"] = bal.groupby("account_id")["balance"].diff()
    later = bal[bal["change"].notna()]
    expected = [
        net.get((a, d), 0.0)
        for a, d in zip(later["account_id"], later["balance_date"], strict=True)
    ]
    assert len(later) > 1000
    assert (later["change"] - pd.Series(expected, index=later.index)).abs().max() < 0.005
    deposits = bal[~bal["account_id"].map(liability)]
    assert (deposits["balance"] >= 0).all()


def test_planted_churn_reasons_present_when_scale_allows(churn_scale: Path) -> None:
    truth = pd.read_csv(
        churn_scale / "ground_truth" / "customers.csv", dtype=str, keep_default_na=False
    )
    planted = truth[truth["planted_churn_reason"] != ""]
    assert set(planted["planted_churn_reason"]) == set(REASONS)
    assert (planted["planted_churn_month"] >= "2025-04").all()  # >= 3 months of history
    tx = read_entity(churn_scale, "transactions")
    acc = read_entity(churn_scale, "accounts").drop_duplicates("account_id")
    owner = acc.set_index("account_id")["customer_id"]
    tx["customer_id"] = tx["account_id"].map(owner)
    buyers = planted.loc[planted["planted_churn_reason"] == "property_purchase", "customer_id"]
    property_paid = tx[(tx["merchant_category"] == "real_estate")]["customer_id"]
    assert set(buyers) <= set(property_paid)
    movers = planted.loc[planted["planted_churn_reason"] == "rate_competition", "customer_id"]
    out = tx[tx["customer_id"].isin(movers) & (tx["transaction_type_code"] == "transfer_out")]
    assert (out["counterparty_type"] == "other_bank").mean() > 0.5
    unhappy = planted.loc[
        planted["planted_churn_reason"] == "service_dissatisfaction", "customer_id"
    ]
    complaints = read_entity(churn_scale, "complaints")
    assert set(unhappy) <= set(complaints["customer_id"])


def test_archetype_ages_and_customer_types(clean: Path) -> None:
    truth = pd.read_csv(clean / "ground_truth" / "customers.csv", dtype=str, keep_default_na=False)
    customers = read_entity(clean, "customers").drop_duplicates("customer_id", keep="last")
    merged = customers.merge(truth, on="customer_id", suffixes=("", "_truth"))
    assert (merged["customer_type"] == merged["customer_type_truth"]).all()
    young = merged[merged["archetype"] == "young_digital"]
    age = (pd.Timestamp("2025-01-01") - pd.to_datetime(young["birth_date"])).dt.days / 365.25
    assert age.between(19.5, 33).all() and len(young) > 10
    corporate = merged[merged["customer_type"] == "corporate"]
    assert (corporate["birth_date"] == "").all()
    assert corporate["national_id"].str.fullmatch(r"91[0-9A-Z]{16}").all()
    retail = merged[merged["customer_type"] == "retail"]
    assert retail["national_id"].str.fullmatch(r"\d{17}[\dX]").all()


def test_ground_truth_holds_no_personal_data(clean: Path) -> None:
    text = (clean / "ground_truth" / "customers.csv").read_text(encoding="utf-8")
    assert text.split("\n", 1)[0].split(",") == TRUTH_COLUMNS
    customers = read_entity(clean, "customers")
    for column in ("full_name", "national_id", "phone", "email", "address"):
        values = [v for v in customers[column].unique() if v]
        assert not any(v in text for v in values[:500]), column
    assert not (clean / "landing" / "ground_truth").exists()


def test_clean_run_has_no_dirt(clean: Path) -> None:
    manifest = (clean / "ground_truth" / "dirt.csv").read_text(encoding="utf-8")
    assert manifest == "file,line,kind,column\n"
    assert not list((clean / "landing").rglob("*redelivered*"))
    tx = read_entity(clean, "transactions")
    assert (tx["transaction_date"] == tx["_business_date"]).all()
    assert not tx["transaction_id"].str.contains("-D").any()


def _line(landing: Path, rel: str, line: int) -> str:
    return (landing / rel).read_text(encoding="utf-8").split("\n")[line - 1]


def _is_date(value: str) -> bool:
    try:
        dt.datetime.strptime(value[:19], "%Y-%m-%d %H:%M:%S" if len(value) > 10 else "%Y-%m-%d")
        return True
    except ValueError:
        return False


def test_dirt_manifest_matches_injected_defects(dirty: Path) -> None:
    landing = dirty / "landing"
    manifest = pd.read_csv(dirty / "ground_truth" / "dirt.csv", dtype=str, keep_default_na=False)
    assert set(ROW_KINDS) | {"late_arriving", "redelivered_file"} == set(manifest["kind"])
    ids = {
        line.split(",", 1)[0]
        for name in ("customers", "accounts")
        for path in entity_files(dirty, name)
        for line in path.read_text(encoding="utf-8").split("\n")
    }
    for row in manifest.itertuples():
        entity = BY_NAME[row.file.split("/")[1]]
        if row.kind == "redelivered_file":
            original = row.file.replace("_redelivered", "")
            assert (landing / row.file).read_bytes() == (landing / original).read_bytes()
            continue
        text = _line(landing, row.file, int(row.line))
        if row.kind == "broken_quoting":
            assert text.count('"') % 2 == 1
            continue
        fields = next(csv.reader(io.StringIO(text)))
        if row.kind == "malformed_field_count":
            assert len(fields) != len(entity.columns), text
            continue
        value = dict(zip(entity.column_names, fields, strict=True))[row.column]
        business_date = row.file.split("business_date=")[1][:10]
        if row.kind == "orphan_key":
            assert value not in ids
        elif row.kind == "negative_value":
            # below the minimum: "-0.00" would be a valid zero
            assert float(value) < entity.column(row.column).min_value, value
        elif row.kind == "unparseable_date":
            assert not _is_date(value)
        elif row.kind == "unparseable_number":
            with pytest.raises(ValueError):
                float(value)
        elif row.kind == "future_birth_date":
            assert value > business_date
        elif row.kind == "unknown_enum":
            assert value not in entity.column(row.column).allowed
        elif row.kind == "late_arriving":
            assert "-D" not in fields[0] and value < business_date
    # every injected row (fresh key ending -D<n>) is listed, and nothing else is
    listed = set(zip(manifest["file"], manifest["line"], strict=True))
    for name in ("customers", "transactions", "complaints"):
        for path in entity_files(dirty, name):
            if "redelivered" in path.name:
                continue
            rel = path.relative_to(landing).as_posix()
            for number, text in enumerate(path.read_text(encoding="utf-8").split("\n")[1:], 2):
                if re.match(r'^"?[A-Z]+\d+-D\d+,', text):
                    assert (rel, str(number)) in listed, (rel, number)


def test_dirt_rate_scales_defects(dirty: Path) -> None:
    manifest = pd.read_csv(dirty / "ground_truth" / "dirt.csv", dtype=str, keep_default_na=False)
    rows = sum(
        path.read_bytes().count(b"\n") - 1
        for e in ENTITIES
        if e.delivery == "delta"
        for path in entity_files(dirty, e.name)
        if "redelivered" not in path.name
    )
    injected = manifest["kind"].isin(ROW_KINDS).sum()
    assert 0.01 * rows < injected < 0.04 * rows


def test_cli_prints_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(
        [
            "--customers",
            "40",
            "--months",
            "1",
            "--seed",
            "3",
            "--dirt-rate",
            "0",
            "--out",
            str(tmp_path),
            "--block-size",
            "15",
            "--workers",
            "0",
            "--quiet",
        ]
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"]["customers"] >= 40
    assert summary["files"] == len(list((tmp_path / "landing").rglob("*.csv")))
    assert (tmp_path / "ground_truth" / "customers.csv").exists()


def test_block_size_and_workers_do_not_change_a_byte(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Customers are simulated in blocks with random numbers keyed by customer, and
    files are appended block after block: any block size (and any number of worker
    processes) gives the same bank."""
    settings = {"seed": 5, "dirt_rate": 0.02, "customers": 250, "months": 5}
    small = files_of(run(tmp_path_factory, "blocks_37", block_size=37, **settings))
    large = files_of(run(tmp_path_factory, "blocks_1000", block_size=1000, workers=2, **settings))
    assert len(small) > 100 and small["ground_truth/dirt.csv"].count(b"\n") > 50
    assert small.keys() == large.keys()
    assert [name for name in small if small[name] != large[name]] == []


def landed_records(path: Path) -> dict[int, dict[str, str]]:
    """Records of a landed file by their first physical line (read as bytes: no newline
    translation, so a carriage return stays one)."""
    lines = [line + "\n" for line in path.read_bytes().decode("utf-8").split("\n")[:-1]]
    reader = csv.reader(iter(lines), strict=True)
    header, records, first = next(reader), {}, 2
    while True:
        try:
            fields = next(reader)
        except (StopIteration, csv.Error):  # a broken-quoting defect ends a file
            return records
        records[first] = dict(zip(header, fields, strict=False))
        first = reader.line_num + 1


def test_hostile_text_is_where_its_manifest_says_and_the_same_for_any_block_size(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings = {"seed": 3, "dirt_rate": 0.02, "hostile_text": True}
    out = run(tmp_path_factory, "hostile_37", block_size=37, **settings)
    other = run(tmp_path_factory, "hostile_1000", block_size=1000, workers=2, **settings)
    assert files_of(out) == files_of(other)
    manifest = pd.read_csv(out / "ground_truth" / MANIFEST, dtype=str, keep_default_na=False)
    assert set(manifest["value_name"]) == set(HOSTILE)
    records: dict[str, dict[int, dict[str, str]]] = {}
    for row in manifest.itertuples():
        if row.file not in records:
            records[row.file] = landed_records(out / "landing" / row.file)
        record = records[row.file][int(row.line)]
        assert record[row.column] == HOSTILE[row.value_name].text, row
        assert record[BY_NAME[row.entity].key[0]] == row.key
    # the dirt manifest still points at the lines it names, hostile line breaks or not
    dirt = pd.read_csv(out / "ground_truth" / "dirt.csv", dtype=str, keep_default_na=False)
    for row in dirt[dirt["kind"].isin(ROW_KINDS) & (dirt["kind"] != "broken_quoting")].itertuples():
        if row.file not in records:
            records[row.file] = landed_records(out / "landing" / row.file)
        key = next(iter(records[row.file][int(row.line)].values()))  # the key comes first
        assert "/balances/" in row.file or re.search(r"-D\d+$", key), row


def test_without_hostile_text_there_is_no_hostile_manifest(clean: Path) -> None:
    assert not (clean / "ground_truth" / MANIFEST).exists()
