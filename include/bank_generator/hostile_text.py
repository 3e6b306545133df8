"""Hostile text: values that break code which quotes, templates, escapes or counts badly.

With ``GeneratorConfig.hostile_text`` the generator puts every value of
:data:`CATALOGUE` into the free-text fields of the landing files (names and
addresses of customers, the city, transaction counterparties, the names of
branches, products, campaigns and transaction types) and lists in
``ground_truth/hostile_text.csv`` which value went to which file, line and column
(:data:`MANIFEST_COLUMNS`). The pipeline must store each value verbatim, byte for
byte, in every layer that carries its field, and show it escaped (or not at all) in
the run report (``tests/dags/test_hostile_values.py``).

The landing contract accepts every character in text except the control characters
other than tab, line feed and carriage return (``include/landing/README.md``,
"Text"): a value holding one is quarantined by the rule in :attr:`HostileValue.rule`.
Those values are planted in *extra* rows (a copy of a real row with a fresh key
ending in ``-H<n>``), like the generator's dirt, so the clean data stays whole. NUL is
not in the catalogue: a NUL byte refuses the whole file (binary content), so it
cannot be a value.

Which rows get a value is decided by the seed alone (customers drawn by number,
reference rows by place), never by the block size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A value the landing contract refuses names the rule (``raw._quarantine.rule``); the
# column is filled in where it is planted.
CONTROL_CHARACTER_RULE = "expect_column_values_to_be_in_set({column}__is_text)"
VERBATIM = "verbatim"
MANIFEST = "hostile_text.csv"
MANIFEST_COLUMNS = ("file", "line", "entity", "column", "key", "value_name", "outcome")
EXTRA_KEY_SUFFIX = "-H"


@dataclass(frozen=True)
class HostileValue:
    name: str
    text: str
    rejected: bool = False  # the landing contract quarantines it (a control character)

    def outcome(self, column: str) -> str:
        """``verbatim``, or the rule that quarantines the value in ``column``."""
        return CONTROL_CHARACTER_RULE.format(column=column) if self.rejected else VERBATIM


LONG_TEXT_LENGTH = 10_000
_LONG = "长文本 long text, \"quoted\" 'and' {{ braces }} 🙂 " * 300

CATALOGUE: tuple[HostileValue, ...] = (
    HostileValue("single_quote", "O'Brien & Sons' 'quoted'"),
    HostileValue("double_quote", 'The "Best" Shop ""doubled"" "'),
    HostileValue("sql_injection", "'; drop table raw.customers; --"),
    HostileValue("sql_comment", "Robert'); delete from marts.dim_customers where ''=' /* x */"),
    HostileValue("jinja_expression", "{{ var('x') }}"),
    HostileValue("jinja_raw", "{% raw %}{{ not rendered }}"),
    HostileValue("jinja_comment", "{# comment #}{% if true %}x{% endif %}"),
    HostileValue("shell_expansion", "${HOME} $(id) `whoami` %PATH% $1"),
    HostileValue("format_string", "%s %d %(name)s {0} {name!r}"),
    HostileValue("long_text", _LONG[:LONG_TEXT_LENGTH]),
    HostileValue("emoji", "💰🏦 😀👍🏽"),
    HostileValue("emoji_zwj", "👨\u200d👩\u200d👧\u200d👦 🏳️\u200d🌈 👩🏽\u200d💻"),
    HostileValue("arabic", "مصرف الشعب التجاري"),
    HostileValue("hebrew", "בנק הפועלים בע״מ"),
    HostileValue("mixed_scripts", "Bank of China 中国银行 بنك الصين בנק סין 123"),
    HostileValue("bidi_controls", "\u202eevil\u202c \u200fRLM\u200e LRM \u2067isolate\u2069"),
    HostileValue("combining", "Zoe\u0308 Ame\u0301lie Z\u0335\u0321a\u0336lgo\u0338"),
    HostileValue("zero_width", "zero\u200bwidth\ufeffno\u2060break"),
    HostileValue("line_separators", "one\u2028two\u2029three"),
    HostileValue("tab", "before\tafter\t"),
    HostileValue("newline", "first line\nsecond line\n"),
    HostileValue("crlf", "first line\r\nsecond line"),
    HostileValue("carriage_return", "before\rafter"),
    HostileValue("html_script", "<script>alert(1)</script>"),
    HostileValue("html_breakout", '</script><img src=x onerror="alert(2)">'),
    HostileValue("html_entities", "&amp; &lt;b&gt; &#x3C;i&#x3E; &nbsp;"),
    HostileValue("backslashes", "C:\\new\\table \\N \\\\ \\x01 \\u0000 \\"),
    HostileValue("spreadsheet_formula", '=HYPERLINK("http://x","y")+cmd|\' /C calc\'!A0'),
    HostileValue("padded_spaces", "  leading and trailing  "),
    HostileValue("null_words", "NULL"),
    HostileValue("leading_zeros", "000123"),
    HostileValue("comma_and_semicolon", "a,b;c|d"),
    # control characters the landing contract refuses (quarantined, never cleaned)
    HostileValue("start_of_heading", "before\x01after", rejected=True),
    HostileValue("escape_sequence", "\x1b[31mred\x1b[0m", rejected=True),
    HostileValue("form_feed", "page\x0cbreak", rejected=True),
    HostileValue("delete", "del\x7fete", rejected=True),
    HostileValue("next_line_c1", "next\x85line", rejected=True),
)
BY_NAME = {value.name: value for value in CATALOGUE}
ACCEPTED = tuple(value for value in CATALOGUE if not value.rejected)
REJECTED = tuple(value for value in CATALOGUE if value.rejected)

# Where the accepted values go. Customers: both personal-data fields of one customer,
# the (published) city of another; transactions: the counterparty of a customer's
# first transaction that names one; reference rows: their names, one value per row.
PERSONAL_DATA_COLUMNS = ("full_name", "address")
PUBLISHED_COLUMNS = ("city",)
COUNTERPARTY_TYPES = ("other_bank", "merchant", "employer", "government")
REFERENCE_SLOTS = (
    ("branches", "branch_name"),
    ("products", "product_name"),
    ("campaigns", "campaign_name"),
    ("transaction_types", "description"),
    ("branches", "region"),
)
# Where the refused values go: extra rows of these (entity, column).
REJECTED_SLOTS = (("customers", "full_name"), ("transactions", "counterparty_name"))


@dataclass(frozen=True)
class HostilePlan:
    """Which customer's rows (bank-wide customer index) and which reference rows (place
    in key order) get which value; the same for a seed whatever the block size."""

    customer_values: dict[int, tuple[tuple[str, HostileValue], ...]]  # customers entity
    counterparty_values: dict[int, HostileValue]  # transactions entity
    reference_values: dict[str, dict[int, tuple[str, HostileValue]]]  # entity -> place -> ...


def plan(seed: int, customers: int, reference_rows: dict[str, int]) -> HostilePlan:
    """Draw the rows of the accepted values from ``seed`` (``reference_rows``: rows per
    snapshot entity). A small bank reuses customers when it has too few."""
    rng = np.random.default_rng([seed, 8])
    count = len(ACCEPTED)
    people = rng.permutation(customers)
    picked = [int(people[i % customers]) for i in range(2 * count)]
    customer_values: dict[int, list[tuple[str, HostileValue]]] = {}
    for i, value in enumerate(ACCEPTED):
        for column in PERSONAL_DATA_COLUMNS:
            customer_values.setdefault(picked[i], []).append((column, value))
        for column in PUBLISHED_COLUMNS:
            customer_values.setdefault(picked[count + i], []).append((column, value))
    # one value per cell: a customer drawn twice (a tiny bank) keeps the first
    cells = {
        number: tuple({column: (column, value) for column, value in reversed(pairs)}.values())
        for number, pairs in customer_values.items()
    }
    payers = rng.permutation(customers)
    counterparty_values = {int(payers[i % customers]): v for i, v in enumerate(ACCEPTED)}
    reference_values: dict[str, dict[int, tuple[str, HostileValue]]] = {}
    places: dict[str, list[int]] = {}  # rows of each entity not given a value yet
    for i, value in enumerate(ACCEPTED):
        entity, column = REFERENCE_SLOTS[i % len(REFERENCE_SLOTS)]
        rows = reference_rows.get(entity, 0)
        if not rows:
            continue
        free = places.setdefault(entity, rng.permutation(rows).tolist())
        if not free:
            continue
        reference_values.setdefault(entity, {})[int(free.pop())] = (column, value)
    return HostilePlan(cells, counterparty_values, reference_values)
