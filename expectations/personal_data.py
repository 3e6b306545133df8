"""No analyst- or BI-facing table may carry a personal-data column (docs/metrics.md "Personal data").

The checked dataset is the warehouse's column catalogue (information_schema.columns)
for the staging, intermediate and marts schemas; personal data lives only in the
restricted schema. Column names come from the landing contract's personal-data flags.
"""

from __future__ import annotations

import great_expectations as gx

from include.landing.entities import ENTITIES

SUITE = "warehouse__no_personal_data"
CHECKED_SCHEMAS = ("staging", "intermediate", "marts")
PERSONAL_DATA_COLUMNS = tuple(
    sorted(
        {column.name for entity in ENTITIES for column in entity.columns if column.is_personal_data}
    )
)


def catalogue_query(schemas: tuple[str, ...] = CHECKED_SCHEMAS) -> str:
    """Columns of every table and view in ``schemas`` (names lower-cased for the comparison)."""
    listed = ", ".join(f"'{schema}'" for schema in schemas)
    return (
        "select table_schema, table_name, lower(column_name) as column_name "
        "from information_schema.columns "
        f"where table_catalog = current_database() and table_schema in ({listed}) "
        "order by 1, 2, 3"  # not ``order by all``: PostgreSQL has no such form
    )


def build_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name=SUITE)
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToNotBeInSet(
            column="column_name", value_set=list(PERSONAL_DATA_COLUMNS)
        )
    )
    return suite
