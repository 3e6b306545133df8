"""Defaults shared by the project's DAGs. Cheap to import: no database work here."""

from __future__ import annotations

from datetime import timedelta

from include.warehouse import WRITER_POOL

DEFAULT_ARGS = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
}

# Every task that writes the DuckDB warehouse runs in this one-slot pool.
WRITER_TASK_ARGS = {"pool": WRITER_POOL}
