"""The catalogue of bad landing input (docs/data_quality.md lists the same cases).

One scenario serves every case, as a real delivery would: a clean day 1 is
loaded; on day 2 every case lands as its own file next to the others and one
run loads them all (refused files must not hold back the rest); then each case
is fixed the way a bank would fix it (a correction file for bad rows, the whole
file re-delivered for a refused one, under the same name or a new one, the
child file re-delivered once an orphan's parent arrived) and the next run loads
the fixes; a last run must change nothing. Each case then checks: the outcome
(quarantined with its rule and reason, refused naming file, line and column, or
loaded verbatim), that nothing was lost (landed = loaded + quarantined, and the
tables hold exactly that), that the corrected data is in raw exactly once, that
a refused file ends up superseded by its fix, and that every row the gate let
through casts to the types of the dbt staging models.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from include.config import Settings, load_settings
from include.landing.control import control_file_text
from include.landing.entities import ENTITIES_BY_TABLE
from loading.loader import LandingRejectedError, load_landing
from tests.loading.test_loader import (
    ACCOUNTS,
    CUSTOMERS,
    DAY1,
    DAY2,
    assert_staging_casts,
    csv_text,
    land,
    query,
    snapshot,
    transaction,
)

TX = "core_banking__transactions"
HEADER = ",".join(ENTITIES_BY_TABLE[TX].column_names) + "\n"


def body(table: str, rows: list[dict]) -> str:
    """CSV data lines (no header) of ``rows``."""
    return csv_text(table, rows).split("\n", 1)[1]


def tx(case: str, **extra: str) -> dict:
    return transaction(f"T-{case}", day=DAY2, **extra)


def good(case: str) -> dict:
    return tx(f"{case}-ok")


@dataclass(frozen=True)
class Case:
    name: str
    table: str
    content: str | bytes
    outcome: str  # "quarantined", "refused" or "loaded" (verbatim)
    expected: str  # part of the quarantine reason or of the refusal message
    line: int  # quarantined line, or the line the refusal names
    column: int = 0  # refusals: the column the message names
    rule: str = ""  # quarantined: part of the rule
    records: int = 0  # records landed (quarantined and loaded cases)
    fix: list[tuple[str, str]] = field(default_factory=list)  # (table, content) corrections
    replacement: str = ""  # refused cases: the re-delivered file
    keys: tuple[str, ...] = ()  # keys that must be loaded exactly once after the fix
    control: str = ""  # a control file delivered with the case's file
    replacement_suffix: str = ""  # the fixed file comes under this new name (default: same)
    replacement_control: str = ""  # ... with this control file
    redeliver: bool = False  # the fix re-delivers the same bytes under a new name
    verbatim: tuple[tuple[str, str], ...] = ()  # loaded cases: (column, exact text in raw)


def row_case(
    name: str, bad: dict, expected: str, rule: str, table: str = TX, key: str = ""
) -> Case:
    """A file with one good row and one bad row (line 3), fixed by a correction file."""
    entity = ENTITIES_BY_TABLE[table]
    key_column = entity.key[0]
    if table == TX:
        rows, fixed = [good(name), tx(name, **bad)], tx(name)
    else:
        base = {"core_banking__customers": CUSTOMERS[0], "core_banking__accounts": ACCOUNTS[0]}
        template = base.get(table) or {**bad, **FIXED_VALUES[table]}
        rows = [{**template, key_column: f"{key}-ok"}, {**template, **bad, key_column: key}]
        fixed = {**template, key_column: key}
    return Case(
        name,
        table,
        csv_text(table, rows),
        "quarantined",
        expected,
        3,
        rule=rule,
        records=2,
        fix=[(table, csv_text(table, [fixed]))],
        keys=(rows[0][key_column], fixed[key_column]),
    )


FIXED_VALUES = {"loans__repayments": {"days_past_due": "0"}, "crm__complaints": {"severity": "low"}}
REPAYMENT = {"repayment_id": "R-negative_days_past_due", "account_id": "A1",
             "due_date": DAY2, "amount_due": "10", "amount_paid": "10"}  # fmt: skip
COMPLAINT = {"complaint_id": "K-unknown_severity", "customer_id": "C1", "complaint_date": DAY2,
             "category": "fees", "channel": "app"}  # fmt: skip
ORPHAN_PARENT = {**ACCOUNTS[0], "account_id": "A-late-parent", "opened_date": DAY2}
GOOD_LINE = body(TX, [good("refused")])


BALANCES = "core_banking__balances"
BALANCE_TEXT = csv_text(
    BALANCES, [{"account_id": "A1", "balance_date": DAY2, "balance": "66812.50"}]
)
CUT_TEXT = csv_text(TX, [tx("truncated_with_control-1"), tx("truncated_with_control-2")])
COUNT_TEXT = csv_text(TX, [tx("control_count_mismatch-1")])
COUNT_FIXED = csv_text(TX, [tx("control_count_mismatch-1"), tx("control_count_mismatch-2")])
REDELIVERY_PARENT = {**ACCOUNTS[0], "account_id": "A-redelivery-parent", "opened_date": DAY2}
LONG_TEXT = 'a name, with "quotes",\nand a line break ' + "长" * 200_000  # about 600 KiB


def sha256(content: str | bytes) -> str:
    return hashlib.sha256(content.encode() if isinstance(content, str) else content).hexdigest()


def control_text(case: str, records: int, content: str) -> str:
    """The control file a sender writes for ``content`` (case file name, count, sha256)."""
    return control_file_text(f"transactions_20250102_{case}.csv", records, sha256(content))


def refused(name: str, content: str | bytes, expected: str, line: int, column: int) -> Case:
    """A file refused whole; the fix re-delivers it under the same name."""
    return Case(
        name,
        TX,
        content,
        "refused",
        expected,
        line,
        column,
        replacement=csv_text(TX, [tx(name)]),
        keys=(f"T-{name}",),
    )


IS_VALID = "expect_column_values_to_be_in_set("
CASES: list[Case] = [
    row_case("missing_required", {"amount": ""}, "amount is missing but required",
             "expect_column_values_to_not_be_null(amount)"),
    row_case("unknown_enum", {"direction": "sideways"},
             "direction 'sideways' is not one of credit, debit", f"{IS_VALID}direction)"),
    row_case("negative_amount", {"amount": "-5.00"}, "amount -5.00 is below the minimum 0",
             "expect_column_values_to_be_between(amount__value)"),
    row_case("unparseable_number", {"amount": "12.5.0"},
             "amount '12.5.0' is not a valid decimal", f"{IS_VALID}amount__is_valid)"),
    row_case("thousands_separator", {"amount": "1 000.00"},
             "amount '1 000.00' is not a valid decimal", f"{IS_VALID}amount__is_valid)"),
    row_case("impossible_date", {"transaction_date": "2025-02-30"},
             "transaction_date '2025-02-30' is not a valid date",
             f"{IS_VALID}transaction_date__is_valid)"),
    row_case("wrong_date_format", {"transaction_date": "02/01/2025"},
             "transaction_date '02/01/2025' is not a valid date",
             f"{IS_VALID}transaction_date__is_valid)"),
    row_case("future_business_date", {"transaction_date": "2025-01-05"},
             "transaction_date 2025-01-05 is after the file's business date 2025-01-02",
             "expect_column_pair_values_a_to_be_greater_than_b"),
    row_case("bad_timestamp", {"transaction_at": "2025-01-02T10:00"},
             "transaction_at '2025-01-02T10:00' is not a valid timestamp",
             f"{IS_VALID}transaction_at__is_valid)"),
    row_case("orphan_account", {"account_id": "A-late-parent"},
             "account_id 'A-late-parent' is not a known account_id",
             f"{IS_VALID}account_id__is_known)"),
    row_case("future_birth_date", {"birth_date": "2030-01-01"},
             "birth_date 2030-01-01 is after the file's business date",
             "expect_column_pair_values_a_to_be_greater_than_b", "core_banking__customers",
             "C-future_birth_date"),
    row_case("orphan_customer", {"customer_id": "C404"},
             "customer_id 'C404' is not a known customer_id", f"{IS_VALID}customer_id__is_known)",
             "core_banking__accounts", "A-orphan_customer"),
    row_case("non_integer_term", {"term_months": "12.5"},
             "term_months '12.5' is not a valid integer", f"{IS_VALID}term_months__is_valid)",
             "core_banking__accounts", "A-non_integer_term"),
    row_case("negative_days_past_due", {**REPAYMENT, "days_past_due": "-1"},
             "days_past_due -1 is below the minimum 0",
             "expect_column_values_to_be_between(days_past_due__value)", "loans__repayments",
             "R-negative_days_past_due"),
    row_case("unknown_severity", {**COMPLAINT, "severity": "urgent"},
             "severity 'urgent' is not one of low, medium, high", f"{IS_VALID}severity)",
             "crm__complaints", "K-unknown_severity"),
    Case("duplicate_key", TX, csv_text(TX, [good("duplicate_key"), tx("duplicate_key"),
                                            tx("duplicate_key", amount="7.00")]),
         "quarantined", "transaction_id T-duplicate_key appears more than once", 3,
         rule="expect_compound_columns_to_be_unique", records=3,
         fix=[(TX, csv_text(TX, [tx("duplicate_key", amount="7.00")]))],
         keys=("T-duplicate_key-ok", "T-duplicate_key")),
    Case("too_few_fields", TX, HEADER + GOOD_LINE.replace("refused", "too_few_fields")
         + "T-too_few_fields,A1,2025-01-02,cut\n", "quarantined", "expected 12 fields, found 4",
         3, rule="csv_structure", records=2, fix=[(TX, csv_text(TX, [tx("too_few_fields")]))],
         keys=("T-too_few_fields-ok", "T-too_few_fields")),
    Case("too_many_fields", TX, HEADER + GOOD_LINE.replace("refused", "too_many_fields")
         + body(TX, [tx("too_many_fields")]).replace("\n", ",extra\n"), "quarantined",
         "expected 12 fields, found 13", 3, rule="csv_structure", records=2,
         fix=[(TX, csv_text(TX, [tx("too_many_fields")]))],
         keys=("T-too_many_fields-ok", "T-too_many_fields")),
    Case("unbalanced_quote", TX, HEADER + GOOD_LINE.replace("refused", "unbalanced_quote")
         + body(TX, [tx("unbalanced_quote")]).replace(",none", ',"none'), "quarantined",
         "broken CSV", 3, rule="csv_structure", records=2,
         fix=[(TX, csv_text(TX, [tx("unbalanced_quote")]))],
         keys=("T-unbalanced_quote-ok", "T-unbalanced_quote")),
    Case("blank_line", TX, HEADER + "\n" + GOOD_LINE.replace("refused", "blank_line"),
         "quarantined", "blank line", 2, rule="csv_structure", records=2,
         keys=("T-blank_line-ok",)),
    refused("not_utf8", (HEADER + GOOD_LINE.replace("mobile", "手机")).encode("gbk"),
            "not valid UTF-8", 2, 0),
    refused("binary_content", HEADER + "T-binary\x00\x01,A1\n", "NUL byte", 2, 9),
    refused("empty_file", b"", "file is empty", 1, 1),
    refused("header_renamed", HEADER.replace("amount", "amt") + GOOD_LINE,
            "header has column 'amt'", 1, 7),
    refused("missing_column", HEADER.replace(",merchant_category", "")
            + GOOD_LINE.rsplit(",", 1)[0] + "\n", "header lacks column(s) merchant_category",
            1, 12),
    refused("repeated_column", HEADER.replace("channel", "amount") + GOOD_LINE,
            "header repeats column 'amount'", 1, 8),
    refused("semicolon_delimiter", HEADER.replace(",", ";") + GOOD_LINE.replace(",", ";"),
            "header has column 'transaction_id;account_id", 1, 1),
    refused("truncated", HEADER + GOOD_LINE + GOOD_LINE.replace("refused-ok", "cut")[:40],
            "file is truncated", 3, 41),
    # Numbers the staging types cannot hold: quarantined by a rule derived from the type.
    row_case("amount_too_large", {"amount": "12345678901234567890.00"},
             "amount '12345678901234567890.00' is too large for decimal(18, 2) (at most 16 "
             "digits before the decimal point)", f"{IS_VALID}amount__fits_type)"),
    row_case("too_many_decimals", {"amount": "100.12345678901234567891"},
             "amount '100.12345678901234567891' has more than 2 decimal places: decimal(18, 2) "
             "would round it", f"{IS_VALID}amount__fits_scale)"),
    row_case("interest_rate_too_large", {"interest_rate": "1650"},
             "interest_rate '1650' is too large for decimal(9, 6)",
             f"{IS_VALID}interest_rate__fits_type)", "core_banking__accounts",
             "A-interest_rate_too_large"),
    row_case("interest_rate_as_percent", {"interest_rate": "16.5"},
             "interest_rate 16.5 is above the maximum 1",
             "expect_column_values_to_be_between(interest_rate__value)", "core_banking__accounts",
             "A-interest_rate_as_percent"),
    row_case("term_too_large", {"term_months": "99999999999"},
             "term_months '99999999999' is outside the range of integer (-2147483648 to "
             "2147483647)", f"{IS_VALID}term_months__fits_type)", "core_banking__accounts",
             "A-term_too_large"),
    # Completeness: a cut inside the last number looks like a complete record.
    Case("truncated_in_number", BALANCES, BALANCE_TEXT[:-6], "refused",
         "file is possibly truncated: it does not end with a newline", 2, 18,
         replacement=BALANCE_TEXT, keys=("A1",)),
    Case("truncated_with_control", TX, CUT_TEXT[:-20], "refused",
         "differs from " + sha256(CUT_TEXT) + " in its control file "
         "transactions_20250102_truncated_with_control.ctl (line 2, column 3)", 1, 1,
         control=control_text("truncated_with_control", 2, CUT_TEXT), replacement=CUT_TEXT,
         keys=("T-truncated_with_control-1", "T-truncated_with_control-2")),
    Case("control_count_mismatch", TX, COUNT_TEXT, "refused",
         "the file's record count is 1 but its control file "
         "transactions_20250102_control_count_mismatch.ctl says 2", 3, 1,
         control=control_text("control_count_mismatch", 2, COUNT_TEXT), replacement=COUNT_FIXED,
         replacement_control=control_text("control_count_mismatch", 2, COUNT_FIXED),
         keys=("T-control_count_mismatch-1", "T-control_count_mismatch-2")),
    # The refusal life-cycle: fixed under a new name, the refused original is superseded.
    Case("refused_fixed_under_new_name", TX, (HEADER + GOOD_LINE).encode("utf-16"), "refused",
         "not valid UTF-8", 1, 1, replacement=csv_text(TX, [tx("refused_fixed_under_new_name")]),
         replacement_suffix="refused_fixed_under_new_name_fix1",
         keys=("T-refused_fixed_under_new_name",)),
    # Orphans recovered the documented way: the child file re-delivered after the parent.
    Case("orphan_redelivered", TX, csv_text(TX, [good("orphan_redelivered"), tx(
         "orphan_redelivered", account_id="A-redelivery-parent")]), "quarantined",
         "account_id 'A-redelivery-parent' is not a known account_id", 3,
         rule=f"{IS_VALID}account_id__is_known)", records=2, redeliver=True,
         fix=[("core_banking__accounts", csv_text("core_banking__accounts", [REDELIVERY_PARENT]))],
         keys=("T-orphan_redelivered-ok", "T-orphan_redelivered")),
    # Valid input that must load as it is.
    Case("delta_equal_to_earlier_day", "core_banking__customers",
         csv_text("core_banking__customers", CUSTOMERS), "loaded", "", 0, records=2,
         verbatim=(("phone", "138"), ("phone", "139"))),
    Case("long_field", TX, csv_text(TX, [tx("long_field", counterparty_name=LONG_TEXT)]),
         "loaded", "", 0, records=1, verbatim=(("counterparty_name", LONG_TEXT),),
         keys=("T-long_field",)),
]  # fmt: skip
# The orphan's parent arrives with the fix (parents load first in the same run).
next(c for c in CASES if c.name == "orphan_account").fix.insert(
    0, ("core_banking__accounts", csv_text("core_banking__accounts", [ORPHAN_PARENT]))
)


def case_path(case: Case) -> str:
    entity = ENTITIES_BY_TABLE[case.table]
    return (
        f"{entity.system}/{entity.name}/business_date={DAY2}/{entity.name}_20250102_{case.name}.csv"
    )


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict:
    settings = load_settings({"BANK_DATA_DIR": str(tmp_path_factory.mktemp("catalogue"))})
    land(settings, "core_banking__customers", DAY1, csv_text("core_banking__customers", CUSTOMERS))
    land(settings, "core_banking__accounts", DAY1, csv_text("core_banking__accounts", ACCOUNTS))
    load_landing(settings, date(2025, 1, 1), "run-0")

    for case in CASES:
        relative = land(settings, case.table, DAY2, case.content, suffix=case.name)
        if case.control:
            land_control(settings, relative, case.control)
    with pytest.raises(LandingRejectedError) as rejected:
        load_landing(settings, date(2025, 1, 2), "run-1")
    after_bad_run = {
        "registry": registry(settings),
        "quarantine": query(
            settings, "select source_file, source_line, raw_row, rule, reason from raw._quarantine"
        ),
    }

    for case in CASES:  # the bank fixes each problem
        for number, (table, content) in enumerate(case.fix):
            land(settings, table, "2025-01-03", content, suffix=f"{case.name}-fix{number}")
        if case.replacement:
            suffix = case.replacement_suffix or case.name
            relative = land(settings, case.table, DAY2, case.replacement, suffix=suffix)
            if case.replacement_control:
                land_control(settings, relative, case.replacement_control)
        if case.redeliver:
            land(settings, case.table, DAY2, case.content, suffix=f"{case.name}-redelivered")
    fixed = load_landing(settings, date(2025, 1, 3), "run-2")
    before_rerun = snapshot(settings)
    rerun = load_landing(settings, date(2025, 1, 3), "run-3")
    return {
        "settings": settings,
        "rejected": rejected.value,
        "bad_run": after_bad_run,
        "fixed": fixed,
        "rerun_changed": snapshot(settings) != before_rerun or rerun.files_loaded != 0,
    }


def land_control(settings: Settings, relative: str, text: str) -> None:
    """A control file beside the landed data file ``relative``."""
    (settings.landing_path / relative).with_suffix(".ctl").write_text(text, encoding="utf-8")


def registry(settings: Settings) -> dict[str, tuple]:
    rows = query(
        settings,
        "select file_path, status, rows_landed, rows_loaded, rows_quarantined, message "
        "from raw._load_registry where run_id = 'run-1'",
    )
    return {row[0]: row[1:] for row in rows}


def test_the_catalogue_has_at_least_twenty_cases() -> None:
    assert len({case.name for case in CASES}) == len(CASES) >= 20


def test_catalogue_matches_the_documented_table() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "data_quality.md").read_text()
    missing = [case.name for case in CASES if f"`{case.name}`" not in doc]
    assert missing == []


def test_refused_files_held_back_nothing_else(scenario: dict) -> None:
    refused_names = {case_path(c) for c in CASES if c.outcome == "refused"}
    assert set(scenario["rejected"].summary.rejected) == refused_names
    assert scenario["rejected"].summary.files_loaded == sum(c.outcome != "refused" for c in CASES)


def test_fixes_load_and_a_rerun_changes_nothing(scenario: dict) -> None:
    assert scenario["fixed"].rejected == {}
    assert scenario["fixed"].rows_quarantined == 0
    assert set(scenario["fixed"].superseded) == {
        case_path(c) for c in CASES if c.outcome == "refused"
    }
    assert scenario["fixed"].rechecked == [
        case_path(c).replace(".csv", "-redelivered.csv") for c in CASES if c.redeliver
    ]
    assert not scenario["rerun_changed"]
    assert query(
        scenario["settings"], "select count(*) from audit.reconciliation where not is_balanced"
    ) == [(0,)]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input(scenario: dict, case: Case) -> None:
    settings, path = scenario["settings"], case_path(case)
    status, landed, loaded, held, message = scenario["bad_run"]["registry"][path]
    if case.outcome == "refused":
        assert status == "rejected" and (landed, loaded, held) == (0, 0, 0)
        assert message.startswith(f"{path}: line {case.line}, column ")
        if case.column:
            assert message.startswith(f"{path}: line {case.line}, column {case.column}: ")
        assert case.expected in message
        assert f"{path}: {message}" in str(scenario["rejected"]) or message in str(
            scenario["rejected"]
        )
        # Once its fix loaded, the refused version is superseded and stops failing runs.
        [(final_status, final_message)] = query(
            settings,
            "select status, message from raw._load_registry where file_path = ? "
            "and file_checksum = ?",
            [path, sha256(case.content)],
        )
        fix = case_path(case).replace(case.name, case.replacement_suffix or case.name)
        assert final_status == "superseded" and final_message.startswith(f"superseded by {fix} ")
    elif case.outcome == "loaded":
        assert status == "loaded" and (landed, loaded, held) == (case.records, case.records, 0)
        table = f"raw.{ENTITIES_BY_TABLE[case.table].raw_table}"
        for column, text in case.verbatim:
            assert query(
                settings,
                f"select count(*) from {table} where _source_file = ? and {column} = ?",
                [path, text],
            ) == [(1,)], column
    else:
        assert status == "loaded"
        # Nothing lost: every record landed is loaded or quarantined, and the tables agree.
        assert landed == case.records == loaded + held
        table = f"raw.{ENTITIES_BY_TABLE[case.table].raw_table}"
        in_raw = query(settings, f"select count(*) from {table} where _source_file = ?", [path])
        mine = [row for row in scenario["bad_run"]["quarantine"] if row[0] == path]
        assert in_raw == [(loaded,)] and len(mine) == held
        lines = {row[1]: row for row in mine}
        assert case.line in lines, mine
        _, _, raw_row, rule, reason = lines[case.line]
        assert case.rule in rule and case.expected in reason
        text = case.content if isinstance(case.content, str) else case.content.decode()
        assert raw_row == text.split("\n")[case.line - 1]
    balanced = query(
        settings,
        "select bool_and(is_balanced) from audit.reconciliation where run_id = 'run-1'",
    )
    assert balanced == [(True,)]
    # After the fix, the corrected data is in raw exactly once.
    entity = ENTITIES_BY_TABLE[case.table]
    for key in case.keys:
        assert query(
            settings,
            f"select count(*) from raw.{entity.raw_table} where {entity.key[0]} = ?",
            [key],
        ) == [(1,)], key


def test_every_row_the_gate_let_through_casts_in_staging(scenario: dict) -> None:
    """No case may break a later stage: the staging models' casts succeed on all of raw."""
    assert_staging_casts(scenario["settings"])
