"""Every DAG imports cleanly, cheaply and with the settings the team relies on."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import duckdb
import pytest

from include.config import REPO_ROOT

DAGS_FOLDER = REPO_ROOT / "dags"


@pytest.fixture(scope="module")
def dag_bag(dbt_manifest: Path):
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=DAGS_FOLDER, bundle_path=DAGS_FOLDER)


def test_every_dag_file_imports_without_errors(dag_bag) -> None:
    assert dag_bag.import_errors == {}
    assert {"customer_operations_daily", "churn_model_training"} <= set(dag_bag.dag_ids)


def test_dag_id_matches_its_file_name(dag_bag) -> None:
    for dag_id, dag in dag_bag.dags.items():
        assert Path(dag.fileloc).stem == dag_id


def test_every_dag_has_tags_and_every_task_retries(dag_bag) -> None:
    for dag in dag_bag.dags.values():
        assert dag.tags, f"{dag.dag_id} has no tags"
        assert not dag.catchup or dag.max_active_runs == 1
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag.dag_id}.{task.task_id} never retries"


def test_warehouse_writers_share_the_one_slot_pool(dag_bag) -> None:
    for dag_id in ("customer_operations_daily", "churn_model_training"):
        writers = [t for t in dag_bag.dags[dag_id].tasks if t.task_type != "EmptyOperator"]
        assert writers
        for task in writers:
            assert task.pool == "duckdb_writer", f"{task.task_id} writes outside the writer pool"


def test_training_is_monthly_and_its_own_dag(dag_bag) -> None:
    training = dag_bag.dags["churn_model_training"]
    assert training.task_ids == ["train_scoring_models"]
    assert training.schedule == "0 3 1 * *"
    daily = dag_bag.dags["customer_operations_daily"]
    assert not any("train" in task_id for task_id in daily.task_ids)


def test_the_dag_runs_the_whole_flow_in_order(dag_bag) -> None:
    dag = dag_bag.dags["customer_operations_daily"]
    order = [
        "load_landing_files",
        "validate_marts",
        "score_customers",
        "validate_scored_marts",
        "publish_for_bi",
        "write_run_report",
    ]
    ids = set(dag.task_ids)
    assert set(order) <= ids
    assert any(t.startswith("transform.") for t in ids)
    assert any(t.startswith("scored_marts.") for t in ids)
    for upstream, downstream in pairwise(order):
        assert downstream in dag.get_task(upstream).get_flat_relative_ids(upstream=False)


def test_importing_dags_does_no_database_work(monkeypatch, dbt_manifest: Path) -> None:
    from airflow.dag_processing.dagbag import BundleDagBag

    def refuse(*args, **kwargs):
        raise AssertionError("a DAG file opened the warehouse at import time")

    monkeypatch.setattr(duckdb, "connect", refuse)
    bag = BundleDagBag(dag_folder=DAGS_FOLDER, bundle_path=DAGS_FOLDER)
    assert bag.import_errors == {}


def test_dbt_runs_once_per_group_and_every_model_keeps_its_own_task(dag_bag) -> None:
    """Watcher mode (the default): one producer task runs `dbt build` for its group;
    each model still has a task of its own, for its status and retries."""
    import os

    if os.environ.get("DBT_EXECUTION_MODE", "watcher").lower() == "local":
        pytest.skip("DBT_EXECUTION_MODE=local: one task per node, no producer")
    dag = dag_bag.dags["customer_operations_daily"]
    for group in ("transform", "scored_marts"):
        producer = dag.get_task(f"{group}.dbt_producer_watcher")
        assert producer.pool == "duckdb_writer"
        assert producer.retries >= 1
        in_group = [t for t in dag.tasks if t.task_id.startswith(f"{group}.")]
        ids = {t.task_id for t in in_group}
        sensors = [t for t in in_group if t is not producer and t.task_type != "EmptyOperator"]
        assert sensors
        for sensor in sensors:
            upstream_in_group = set(sensor.upstream_task_ids) & ids
            # the first sensors wait for the build to end, whatever its outcome
            if upstream_in_group == {producer.task_id}:
                assert sensor.trigger_rule == "all_done", sensor.task_id
            assert upstream_in_group, f"{sensor.task_id} could start before the build"
    task_ids = set(dag.task_ids)
    for name in ("stg_core_banking__balances", "fct_customer_months", "mart_customer_360"):
        assert any(
            f".{name}." in task_id or task_id.endswith(f".{name}_run") for task_id in task_ids
        ), name


def test_execution_mode_is_watcher_by_default_and_refuses_unknown_values() -> None:
    import sys

    sys.path.insert(0, str(DAGS_FOLDER))
    try:
        from pipeline_defaults import dbt_execution_mode
    finally:
        sys.path.remove(str(DAGS_FOLDER))
    assert dbt_execution_mode({}) == "watcher"
    assert dbt_execution_mode({"DBT_EXECUTION_MODE": "Local"}) == "local"
    with pytest.raises(ValueError, match="DBT_EXECUTION_MODE='threads' is not one of"):
        dbt_execution_mode({"DBT_EXECUTION_MODE": "threads"})
