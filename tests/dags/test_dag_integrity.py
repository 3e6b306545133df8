"""Every DAG imports cleanly, cheaply and with the settings the team relies on."""

from __future__ import annotations

import json
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import duckdb
import pytest

from include.alerts import WarehouseAlertNotifier
from include.config import DBT_PROJECT_DIR, REPO_ROOT

DAGS_FOLDER = REPO_ROOT / "dags"
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
PROJECT_DAGS = ("customer_operations_daily", "churn_model_training")


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
        (before,) = set(producer.upstream_task_ids) - ids
        for sensor in sensors:
            upstream_in_group = set(sensor.upstream_task_ids) & ids
            # the first sensors wait for the build to end (done or skipped on a second
            # try), and run only if the task before the group succeeded
            if upstream_in_group == {producer.task_id}:
                assert sensor.trigger_rule == "none_failed_min_one_success", sensor.task_id
                assert before in sensor.upstream_task_ids, sensor.task_id
            assert upstream_in_group, f"{sensor.task_id} could start before the build"
    assert dag.get_task("transform.dbt_producer_watcher").upstream_task_ids == {
        "load_landing_files"
    }
    # dbt builds as of the business date (the var as_of_date, given through the environment)
    for group in ("transform", "scored_marts"):
        assert (
            dag.get_task(f"{group}.dbt_producer_watcher").env["WAREHOUSE_AS_OF_DATE"] == "{{ ds }}"
        )
    task_ids = set(dag.task_ids)
    for name in ("stg_core_banking__balances", "fct_customer_months", "mart_customer_360"):
        assert any(
            f".{name}." in task_id or task_id.endswith(f".{name}_run") for task_id in task_ids
        ), name


def test_the_producer_pushes_a_node_event_once_and_keeps_errors(dag_bag) -> None:
    """Of dbt's events about a node, cosmos's producer copies to XCom only those a
    sensor reads (dags/watcher_events.py): the finished node, then any error."""
    import os

    from cosmos.operators._watcher import base

    if os.environ.get("DBT_EXECUTION_MODE", "watcher").lower() == "local":
        pytest.skip("DBT_EXECUTION_MODE=local: no producer")
    assert "customer_operations_daily" in dag_bag.dag_ids  # importing it set the allowlist

    pushed: list[tuple[str, dict]] = []

    class TaskInstance:
        def xcom_push(self, key: str, value: dict) -> None:
            pushed.append((key, value))

    node = {"unique_id": "model.bank_customer_ops.fct_customer_months", "node_status": "run"}
    for event in ("NodeStart", "NodeCompiling", "NodeExecuting", "NodeFinished", "RunResultError"):
        log_line = {"info": {"name": event, "msg": f"{event} message"}, "data": {"node_info": node}}
        base._process_dbt_log_event(TaskInstance(), log_line)
    assert pushed == [
        ("model__bank_customer_ops__fct_customer_months_dbt_event", value)
        for value in (
            {"status": "run", "start_time": None, "finish_time": None, "msg": message}
            for message in ("NodeFinished message", "RunResultError message")
        )
    ]


def test_the_producer_pushes_node_events_only_of_the_nodes_a_sensor_watches(dag_bag) -> None:
    """A data test watched by its model's test sensor gets no event of its own; a
    detached test (over two models, its own sensor) and every model keep theirs."""
    import os

    from cosmos.operators._watcher import base

    if os.environ.get("DBT_EXECUTION_MODE", "watcher").lower() == "local":
        pytest.skip("DBT_EXECUTION_MODE=local: no producer")
    dag = dag_bag.dags["customer_operations_daily"]
    sensors = [task for task in dag.tasks if isinstance(task, base.BaseConsumerSensor)]
    watched = {task.model_unique_id for task in sensors}
    detached = next(node for node in watched if node.startswith("test."))
    model = "model.bank_customer_ops.fct_customer_months"
    one_parent_test = next(
        test
        for test in json.loads(MANIFEST.read_text())["child_map"][model]
        if test.startswith("test.") and test not in watched
    )
    pushed: list[str] = []

    class TaskInstance:
        def xcom_push(self, key: str, value: dict) -> None:
            pushed.append(key)

    for node in (model, one_parent_test, detached):
        log_line = {
            "info": {"name": "NodeFinished", "msg": "finished"},
            "data": {"node_info": {"unique_id": node, "node_status": "pass"}},
        }
        base._process_dbt_log_event(TaskInstance(), log_line)
    assert pushed == [f"{node.replace('.', '__')}_dbt_event" for node in (model, detached)]


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


def alert_events(callbacks) -> set[str]:
    """The events of the project's alert notifiers among a DAG's or task's callbacks."""
    if callbacks is None:
        return set()
    callbacks = callbacks if isinstance(callbacks, list | tuple) else [callbacks]
    return {c.event for c in callbacks if isinstance(c, WarehouseAlertNotifier)}


def test_every_task_retries_with_exponential_back_off(dag_bag) -> None:
    for dag_id in PROJECT_DAGS:
        for task in dag_bag.dags[dag_id].tasks:
            name = f"{dag_id}.{task.task_id}"
            assert task.retries >= 1, f"{name} never retries"
            assert task.retry_delay > timedelta(0), name
            # Airflow 3's retry_exponential_backoff is a multiplier: 0 or 1 (or True) waits
            # the same retry_delay every time.
            assert task.retry_exponential_backoff > 1, f"{name} retries without back-off"
            assert task.max_retry_delay >= task.retry_delay, name


def test_every_task_and_both_dags_record_their_alerts(dag_bag) -> None:
    for dag_id in PROJECT_DAGS:
        dag = dag_bag.dags[dag_id]
        assert alert_events(dag.on_failure_callback) == {"dag_run_failed"}, dag_id
        for task in dag.tasks:
            name = f"{dag_id}.{task.task_id}"
            assert "task_failed" in alert_events(task.on_failure_callback), name
            assert "task_retry" in alert_events(task.on_retry_callback), name


def test_the_daily_run_has_a_deadline_it_states(dag_bag) -> None:
    from airflow.sdk import DeadlineReference, SyncCallback
    from airflow.serialization.serialized_objects import DagSerialization

    daily = dag_bag.dags["customer_operations_daily"]
    (deadline,) = daily.deadline
    assert deadline.reference == DeadlineReference.DAGRUN_QUEUED_AT
    assert deadline.interval == timedelta(hours=6)  # DAILY_RUN_DEADLINE_HOURS's default
    assert isinstance(deadline.callback, SyncCallback)
    assert deadline.callback.path == "include.alerts.WarehouseAlertNotifier"
    assert deadline.callback.kwargs["event"] == "deadline_missed"
    assert "**Deadline**: a run must finish 6 h after being queued" in daily.doc_md
    # What the scheduler stores and evaluates is the serialised DAG.
    (stored,) = DagSerialization.to_dict(daily)["dag"]["deadline"]
    assert stored["reference"] == {"reference_type": "DagRunQueuedAtDeadline"}
    assert stored["callback"]["__data__"]["path"] == "include.alerts.WarehouseAlertNotifier"
    assert dag_bag.dags["churn_model_training"].deadline is None


def test_a_missed_deadline_records_an_alert_through_airflows_callback_runner(
    dag_bag, tmp_path: Path, monkeypatch
) -> None:
    """The executor runs a deadline's SyncCallback with Airflow's ``execute_callback``: the
    notifier class built with the callback's kwargs and the context Deadline.handle_miss
    passes, then called with that context."""
    import structlog
    from airflow.sdk.execution_time.callback_supervisor import execute_callback

    monkeypatch.delenv("WAREHOUSE_TARGET", raising=False)
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "bank.duckdb"))
    (deadline,) = dag_bag.dags["customer_operations_daily"].deadline
    context = {
        "dag_run": {
            "dag_run_id": "scheduled__2025-04-30T00:00:00+00:00",
            "dag_id": "customer_operations_daily",
            "logical_date": "2025-04-30T00:00:00Z",
            "queued_at": "2025-04-30T00:00:02Z",
            "state": "running",
            "run_type": "scheduled",
        },
        "deadline": {"id": "1", "deadline_time": "2025-04-30T06:00:02Z"},
    }
    succeeded, error = execute_callback(
        deadline.callback.path,
        {**deadline.callback.kwargs, "context": context},
        dag_rel_path=Path("customer_operations_daily.py"),
        bundle_path=DAGS_FOLDER,
        log=structlog.get_logger(),
    )
    assert (succeeded, error) == (True, None)
    with duckdb.connect(str(tmp_path / "bank.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select level, event, dag_id, task_id, business_date, reason from audit.alerts"
        ).fetchall()
    reason = (
        "the run had not finished by 2025-04-30 06:00:02 UTC (due 6 h after being queued);"
        " it was running (a scheduled run, queued at 2025-04-30 00:00:02 UTC)"
    )
    assert rows == [
        ("error", "deadline_missed", "customer_operations_daily", None, date(2025, 4, 30), reason)
    ]
