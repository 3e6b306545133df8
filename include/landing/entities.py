"""The landing format: every entity a bank delivers, its columns and its key.

This module is the single definition of the landing contract. The sample-data
generator writes files with these headers, the loader checks landed files
against them, the Great Expectations suites are built from them, and the dbt
sources (``dbt_project/models/staging/*/_*__sources.yml``) describe the same
columns. See ``include/landing/README.md`` for the prose version.

Layout of a landing area::

    <landing>/<system>/<entity>/business_date=YYYY-MM-DD/<entity>_YYYYMMDD[_<suffix>].csv

Files are UTF-8 CSV with a header row, comma separated, ``"`` quoting, empty
field = missing value, dates ``YYYY-MM-DD``, timestamps ``YYYY-MM-DD HH:MM:SS``
(bank local time, Asia/Shanghai), decimals with ``.`` and no thousands separator.

Each typed column names the SQL type dbt staging casts it to (:attr:`Column.sql_type`);
the landing checks are derived from the same definition, so a value that passes the
gate always casts in staging (``tests/loading/test_loader.py`` checks that the staging
models cast to these types, and the bad-input catalogue casts everything it loaded).
"""

from __future__ import annotations

from dataclasses import dataclass

STRING = "string"
INTEGER = "integer"
DECIMAL = "decimal"
DATE = "date"
TIMESTAMP = "timestamp"

# Staging casts INTEGER columns to SQL ``integer``: 32 bits in DuckDB.
INTEGER_SQL_TYPE = "integer"
INTEGER_MIN = -(2**31)
INTEGER_MAX = 2**31 - 1
SQL_TYPES = {STRING: "varchar", INTEGER: INTEGER_SQL_TYPE, DATE: "date", TIMESTAMP: "timestamp"}


@dataclass(frozen=True)
class DecimalType:
    """An exact SQL ``decimal(precision, scale)``: ``scale`` digits after the point.

    A landed value fits when it has at most ``precision - scale`` digits before the
    point and no non-zero digit after the ``scale``-th decimal (``1.50`` and ``1.500``
    are both 1.50; ``1.505`` would have to be rounded and is refused).
    """

    precision: int
    scale: int

    @property
    def integer_digits(self) -> int:
        return self.precision - self.scale

    @property
    def sql(self) -> str:
        return f"decimal({self.precision}, {self.scale})"


MONEY = DecimalType(18, 2)  # amounts in CNY: up to 9,999,999,999,999,999.99
RATE = DecimalType(9, 6)  # annual rates as fractions: 0.0165 = 1.65 %


@dataclass(frozen=True)
class Column:
    name: str
    type: str = STRING
    required: bool = True
    allowed: tuple[str, ...] | None = None
    min_value: float | None = None
    is_personal_data: bool = False
    max_value: float | None = None  # a business range the contract states, on top of the type
    decimal: DecimalType | None = None  # DECIMAL columns: the exact type staging casts to

    def __post_init__(self) -> None:
        if (self.type == DECIMAL) != (self.decimal is not None):
            raise ValueError(f"{self.name}: a decimal column needs a DecimalType, others none")

    @property
    def sql_type(self) -> str:
        """The SQL type dbt staging casts this column to."""
        return self.decimal.sql if self.decimal is not None else SQL_TYPES[self.type]


@dataclass(frozen=True)
class Entity:
    system: str
    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    # "delta": each daily file holds the rows created or changed that day (the
    # latest delivery of a key wins); "snapshot": each file is the full list.
    delivery: str = "delta"

    @property
    def raw_table(self) -> str:
        """Table in the warehouse's ``raw`` schema that holds the landed rows."""
        return f"{self.system}__{self.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)


CUSTOMER_TYPES = ("retail", "corporate")
ACCOUNT_STATUSES = ("open", "closed")
DIRECTIONS = ("credit", "debit")
CHANNELS = ("branch", "atm", "online", "mobile", "pos", "system")
COUNTERPARTY_TYPES = ("same_bank", "other_bank", "merchant", "employer", "government", "none")
PRODUCT_CATEGORIES = (
    "current_account",
    "time_deposit",
    "wealth_product",
    "fund",
    "insurance",
    "loan",
    "credit_card",
)
COMPLAINT_CATEGORIES = ("fees", "service", "rates", "digital", "product", "other")
SEVERITIES = ("low", "medium", "high")
CONTACT_CHANNELS = ("phone", "sms", "app", "branch", "email")
CONTACT_RESPONSES = ("accepted", "declined", "no_response")
CAMPAIGN_TYPES = ("deposit_push", "cross_sell", "retention", "reactivation", "upgrade")

ENTITIES: tuple[Entity, ...] = (
    Entity(
        system="core_banking",
        name="customers",
        description="Customers created or changed on the business date.",
        key=("customer_id",),
        columns=(
            Column("customer_id"),
            Column("customer_type", allowed=CUSTOMER_TYPES),
            Column("full_name", is_personal_data=True),
            Column("national_id", is_personal_data=True),
            Column("phone", is_personal_data=True),
            Column("email", required=False, is_personal_data=True),
            Column("address", is_personal_data=True),
            Column("city"),
            Column("birth_date", DATE, required=False),
            Column("gender", required=False, allowed=("M", "F")),
            Column("home_branch_id"),
            Column("onboarded_date", DATE),
        ),
    ),
    Entity(
        system="core_banking",
        name="accounts",
        description="Accounts opened or changed (e.g. closed) on the business date.",
        key=("account_id",),
        columns=(
            Column("account_id"),
            Column("customer_id"),
            Column("product_code"),
            Column("branch_id"),
            Column("currency", allowed=("CNY",)),
            Column("opened_date", DATE),
            Column("closed_date", DATE, required=False),
            Column("status", allowed=ACCOUNT_STATUSES),
            Column("term_months", INTEGER, required=False, min_value=1),
            Column("maturity_date", DATE, required=False),
            Column(
                "interest_rate", DECIMAL, required=False, min_value=0, max_value=1, decimal=RATE
            ),
            Column("campaign_id", required=False),
            Column("principal_amount", DECIMAL, required=False, min_value=0, decimal=MONEY),
            Column("credit_limit", DECIMAL, required=False, min_value=0, decimal=MONEY),
        ),
    ),
    Entity(
        system="core_banking",
        name="balances",
        description=(
            "End-of-day balance of an account, delivered only on days it changed "
            "(and on the opening day). Loans and cards carry the amount owed, positive."
        ),
        key=("account_id", "balance_date"),
        columns=(
            Column("account_id"),
            Column("balance_date", DATE),
            Column("balance", DECIMAL, decimal=MONEY),
        ),
    ),
    Entity(
        system="core_banking",
        name="transactions",
        description=(
            "Posted transactions. A file may hold late rows whose transaction_date "
            "is earlier than its business date."
        ),
        key=("transaction_id",),
        columns=(
            Column("transaction_id"),
            Column("account_id"),
            Column("transaction_date", DATE),
            Column("transaction_at", TIMESTAMP),
            Column("transaction_type_code"),
            Column("direction", allowed=DIRECTIONS),
            Column("amount", DECIMAL, min_value=0, decimal=MONEY),
            Column("channel", allowed=CHANNELS),
            Column("counterparty_type", allowed=COUNTERPARTY_TYPES),
            Column("counterparty_name", required=False),
            Column("counterparty_bank_code", required=False),
            Column("merchant_category", required=False),
        ),
    ),
    Entity(
        system="loans",
        name="repayments",
        description="Loan and card instalments that fell due, with what was paid and days past due.",
        key=("repayment_id",),
        columns=(
            Column("repayment_id"),
            Column("account_id"),
            Column("due_date", DATE),
            Column("paid_date", DATE, required=False),
            Column("amount_due", DECIMAL, min_value=0, decimal=MONEY),
            Column("amount_paid", DECIMAL, min_value=0, decimal=MONEY),
            Column("days_past_due", INTEGER, min_value=0),
        ),
    ),
    Entity(
        system="crm",
        name="complaints",
        description="Customer complaints logged on the business date.",
        key=("complaint_id",),
        columns=(
            Column("complaint_id"),
            Column("customer_id"),
            Column("complaint_date", DATE),
            Column("category", allowed=COMPLAINT_CATEGORIES),
            Column("channel", allowed=CONTACT_CHANNELS),
            Column("severity", allowed=SEVERITIES),
            Column("resolved_date", DATE, required=False),
        ),
    ),
    Entity(
        system="crm",
        name="campaign_contacts",
        description="Campaign contacts made on the business date and the customer's response.",
        key=("contact_id",),
        columns=(
            Column("contact_id"),
            Column("customer_id"),
            Column("campaign_id"),
            Column("contact_date", DATE),
            Column("channel", allowed=CONTACT_CHANNELS),
            Column("response", allowed=CONTACT_RESPONSES),
        ),
    ),
    Entity(
        system="reference",
        name="products",
        description="Product catalogue (full list each delivery).",
        key=("product_code",),
        delivery="snapshot",
        columns=(
            Column("product_code"),
            Column("product_name"),
            Column("product_category", allowed=PRODUCT_CATEGORIES),
            Column("customer_type", allowed=CUSTOMER_TYPES),
        ),
    ),
    Entity(
        system="reference",
        name="branches",
        description="Branches (full list each delivery).",
        key=("branch_id",),
        delivery="snapshot",
        columns=(
            Column("branch_id"),
            Column("branch_name"),
            Column("city"),
            Column("region"),
        ),
    ),
    Entity(
        system="reference",
        name="transaction_types",
        description="Transaction type codes used by core banking (full list each delivery).",
        key=("transaction_type_code",),
        delivery="snapshot",
        columns=(
            Column("transaction_type_code"),
            Column("description"),
        ),
    ),
    Entity(
        system="reference",
        name="campaigns",
        description="Marketing campaigns (full list each delivery).",
        key=("campaign_id",),
        delivery="snapshot",
        columns=(
            Column("campaign_id"),
            Column("campaign_name"),
            Column("campaign_type", allowed=CAMPAIGN_TYPES),
            Column("start_date", DATE),
            Column("end_date", DATE),
        ),
    ),
)

ENTITIES_BY_TABLE = {entity.raw_table: entity for entity in ENTITIES}


# Parents: the column of a landed row that must name an existing parent row. The
# loader loads parents first, so children are checked against this run's parents too.
@dataclass(frozen=True)
class Reference:
    """``column`` of a landed row must name an existing row of ``parent_table``."""

    column: str
    parent_table: str
    parent_column: str


REFERENCES: dict[str, tuple[Reference, ...]] = {
    "core_banking__accounts": (Reference("customer_id", "core_banking__customers", "customer_id"),),
    "core_banking__balances": (Reference("account_id", "core_banking__accounts", "account_id"),),
    "core_banking__transactions": (
        Reference("account_id", "core_banking__accounts", "account_id"),
    ),
    "loans__repayments": (Reference("account_id", "core_banking__accounts", "account_id"),),
    "crm__complaints": (Reference("customer_id", "core_banking__customers", "customer_id"),),
    "crm__campaign_contacts": (Reference("customer_id", "core_banking__customers", "customer_id"),),
}


def load_order() -> list[Entity]:
    """Parents first (customers, then accounts), then the rest in contract order.

    Referential checks then see the parents this run has just loaded.
    """
    depth = {table: 0 for table in ENTITIES_BY_TABLE}
    for _ in ENTITIES_BY_TABLE:  # longest path from a root; the graph is tiny and acyclic
        for table, refs in REFERENCES.items():
            depth[table] = max(depth[ref.parent_table] + 1 for ref in refs)
    parents = {ref.parent_table for refs in REFERENCES.values() for ref in refs}
    tables = list(ENTITIES_BY_TABLE)
    return sorted(
        ENTITIES_BY_TABLE.values(),
        key=lambda e: (
            e.raw_table not in parents,
            depth[e.raw_table] if e.raw_table in parents else 0,
            tables.index(e.raw_table),
        ),
    )


def landing_dir(system: str, entity: str, business_date: str) -> str:
    """Relative folder of one entity's files for one business date (YYYY-MM-DD)."""
    return f"{system}/{entity}/business_date={business_date}"


def landing_file_name(entity: str, business_date: str, suffix: str = "") -> str:
    """File name of a delivery; ``suffix`` distinguishes extra deliveries of a day."""
    stamp = business_date.replace("-", "")
    return f"{entity}_{stamp}{'_' + suffix if suffix else ''}.csv"
