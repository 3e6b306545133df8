"""Write-audit-publish: a mart that fails validation never replaces the published copy."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from expectations.marts import MartValidationError, validate_marts
from include.config import Settings, load_settings
from include.publish import PublishRefusedError, publish_marts
from tests.expectations.test_marts import GOOD_MONTHS


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = load_settings({"BANK_DATA_DIR": str(tmp_path)})
    settings.warehouse_path.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute(GOOD_MONTHS)
    return settings


def published_rows(settings: Settings) -> list[tuple]:
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        return con.execute(
            "select customer_id, value_tier from marts.dim_customers order by all"
        ).fetchall()


def test_a_broken_mart_leaves_the_published_copy_untouched(settings: Settings) -> None:
    validate_marts(settings, "run-1")
    publish_marts(settings, "run-1")
    published = settings.published_path.read_bytes()
    before = published_rows(settings)

    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("update marts.dim_customers set value_tier = 'gold' where customer_id = 'C2'")
    with pytest.raises(MartValidationError, match="value_tier"):
        validate_marts(settings, "run-2")
    with pytest.raises(PublishRefusedError, match="marts__dim_customers failed"):
        publish_marts(settings, "run-2")  # e.g. the task run by hand despite the failure

    assert settings.published_path.read_bytes() == published
    assert published_rows(settings) == before
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        audit = con.execute(
            "select run_id, success from audit.validation_runs "
            "where suite = 'marts__dim_customers' order by checked_at"
        ).fetchall()
    assert audit == [("run-1", True), ("run-2", False)]


def test_a_run_without_mart_validation_does_not_publish(settings: Settings) -> None:
    with pytest.raises(PublishRefusedError, match="no mart validation recorded for run run-9"):
        publish_marts(settings, "run-9")
    assert not settings.published_path.exists()


def test_the_latest_validation_of_a_run_decides(settings: Settings) -> None:
    """Fixed and re-validated within the same run (a cleared task): it may publish."""
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("update marts.fct_customer_months set month_average_aum = -1")
    with pytest.raises(MartValidationError):
        validate_marts(settings, "run-1")
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("update marts.fct_customer_months set month_average_aum = 1")
    validate_marts(settings, "run-1")
    publish_marts(settings, "run-1")
    assert published_rows(settings) == [("C1", "mid_value"), ("C2", None)]
