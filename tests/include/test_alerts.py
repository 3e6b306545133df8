"""The pipeline's alerts: what a callback's context becomes, how it is written, and that a
warehouse which cannot be written never breaks the callback chain."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from include.alerts import (
    REASON_LIMIT,
    Alert,
    WarehouseAlertNotifier,
    alert_from_context,
    forwarding_notifiers,
    truncate_reason,
    write_alert,
)
from include.audit import ALERT_COLUMNS
from include.config import load_settings
from tests.include.alert_channels import SENT, Chat

NOW = datetime(2025, 5, 1, 1, 2, 3)
RUN_ID = "scheduled__2025-04-30T00:00:00+00:00"


def task_context(try_number: int = 1, error: BaseException | None = None) -> dict:
    """What Airflow 3 hands a task's on_failure/on_retry callback (the keys the notifier reads)."""
    ti = SimpleNamespace(
        dag_id="customer_operations_daily",
        task_id="load_landing_files",
        run_id=RUN_ID,
        try_number=try_number,
        log_url=f"http://airflow.bank/dags/customer_operations_daily/runs/x?try_number={try_number}",
    )
    return {
        "ti": ti,
        "task_instance": ti,
        "run_id": RUN_ID,
        "ds": "2025-04-30",
        "logical_date": datetime(2025, 4, 30, tzinfo=UTC),
        "exception": error or FileNotFoundError("landing/core_banking/customers: no such folder"),
    }


def deadline_context() -> dict:
    """What Deadline.handle_miss (airflow/models/deadline.py) passes a missed deadline's
    callback: the run as the REST API serialises it, and the deadline."""
    return {
        "dag_run": {
            "dag_run_id": RUN_ID,
            "dag_id": "customer_operations_daily",
            "logical_date": "2025-04-30T00:00:00Z",
            "queued_at": "2025-04-30T00:00:05.123456Z",
            "state": "running",
            "run_type": "scheduled",
        },
        "deadline": {"id": "0193", "deadline_time": "2025-04-30T06:00:05.123456+00:00"},
    }


def test_a_failed_task_names_dag_task_date_try_and_reason() -> None:
    alert = alert_from_context(task_context(try_number=3), "task_failed", now=NOW)
    assert alert == Alert(
        alerted_at=NOW,
        level="error",
        event="task_failed",
        dag_id="customer_operations_daily",
        task_id="load_landing_files",
        run_id=RUN_ID,
        business_date=date(2025, 4, 30),
        logical_date=datetime(2025, 4, 30),
        try_number=3,
        reason="FileNotFoundError: landing/core_banking/customers: no such folder",
        log_url="http://airflow.bank/dags/customer_operations_daily/runs/x?try_number=3",
    )
    assert set(alert.as_row()) == {name for name, _ in ALERT_COLUMNS}
    assert alert.subject == (
        "ERROR task_failed customer_operations_daily.load_landing_files "
        f"business date 2025-04-30 try 3 (run {RUN_ID})"
    )


def test_a_retry_is_a_warning() -> None:
    alert = alert_from_context(task_context(try_number=1), "task_retry", now=NOW)
    assert (alert.level, alert.event, alert.try_number) == ("warning", "task_retry", 1)


def test_a_failed_run_names_its_last_failed_task() -> None:
    context = task_context(try_number=3) | {"reason": "task_failure"}
    del context["exception"]
    alert = alert_from_context(context, "dag_run_failed", now=NOW)
    assert alert.level == "error"
    assert alert.task_id == "load_landing_files"
    assert (
        alert.reason == "DAG run failed (task_failure); the last task to fail: load_landing_files"
    )


def test_a_failed_run_without_a_task_links_the_run() -> None:
    """The DAG processor's smallest context: the DAG, the run id and why."""
    context = {
        "dag": SimpleNamespace(dag_id="churn_model_training"),
        "run_id": "manual__2025-05-01",
        "reason": "all_tasks_deadlocked",
    }
    alert = alert_from_context(context, "dag_run_failed", base_url="http://ui:8080/", now=NOW)
    assert (alert.dag_id, alert.task_id, alert.business_date, alert.try_number) == (
        "churn_model_training",
        None,
        None,
        None,
    )
    assert alert.log_url == "http://ui:8080/dags/churn_model_training/runs/manual__2025-05-01"


def test_a_missed_deadline_says_by_when_and_in_what_state() -> None:
    alert = alert_from_context(
        deadline_context(), "deadline_missed", note="due 6 h after being queued", now=NOW
    )
    assert (alert.level, alert.dag_id, alert.task_id, alert.run_id) == (
        "error",
        "customer_operations_daily",
        None,
        RUN_ID,
    )
    assert alert.business_date == date(2025, 4, 30)
    assert alert.reason == (
        "the run had not finished by 2025-04-30 06:00:05 UTC (due 6 h after being queued); "
        "it was running (a scheduled run, queued at 2025-04-30 00:00:05 UTC)"
    )
    assert alert.log_url.endswith(
        "/dags/customer_operations_daily/runs/scheduled__2025-04-30T00%3A00%3A00%2B00%3A00"
    )


def test_unknown_events_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown alert event 'task_success'"):
        alert_from_context(task_context(), "task_success")
    with pytest.raises(ValueError, match="unknown alert event"):
        WarehouseAlertNotifier("sla_miss")


def test_a_long_reason_keeps_its_head_and_tail() -> None:
    text = "Traceback: first line\n" + "x" * 10_000 + "\nduckdb.IOException: the cause"
    kept = truncate_reason(text)
    assert len(kept) <= REASON_LIMIT
    assert kept.startswith("Traceback: first line")
    assert kept.endswith("duckdb.IOException: the cause")
    left_out = len(text) - len(kept.split("\n[...")[0]) - len(kept.split("...]\n")[1])
    assert f"[... {left_out} characters left out ...]" in kept
    assert truncate_reason("  short  ") == "short"


def test_an_alert_is_one_row_of_audit_alerts(tmp_path: Path) -> None:
    warehouse = tmp_path / "bank.duckdb"
    alert = alert_from_context(task_context(), "task_failed", now=NOW)
    assert write_alert(alert, warehouse)
    assert write_alert(alert_from_context(deadline_context(), "deadline_missed"), warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select level, event, dag_id, task_id, business_date, try_number, reason"
            " from audit.alerts order by alerted_at"
        ).fetchall()
    assert rows == [
        (
            "error",
            "task_failed",
            "customer_operations_daily",
            "load_landing_files",
            date(2025, 4, 30),
            1,
            "FileNotFoundError: landing/core_banking/customers: no such folder",
        ),
        ("error", "deadline_missed", "customer_operations_daily", None, date(2025, 4, 30), None)
        + (rows[1][6],),
    ]


@pytest.fixture
def locked_warehouse(tmp_path: Path):
    """A DuckDB file held open for writing by another process, as a running task holds it."""
    path = tmp_path / "bank.duckdb"
    hold = "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('locked', flush=True); time.sleep(60)"
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield path
    finally:
        holder.kill()
        holder.wait()


def test_a_locked_warehouse_falls_back_to_the_log(locked_warehouse: Path, caplog) -> None:
    alert = alert_from_context(task_context(), "task_failed", now=NOW)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="include.alerts"):
        assert write_alert(alert, locked_warehouse, attempts=2, wait_seconds=0.1) is False
    assert time.monotonic() - started < 10
    assert "ALERT not written to audit.alerts after 2 tries" in caplog.text
    assert "IOException" in caplog.text  # DuckDB's "Could not set lock on file"


def _settings_env(monkeypatch, **values: str) -> None:
    for name in ("WAREHOUSE_TARGET", "ALERT_EMAIL_TO", "ALERT_NOTIFIERS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def logged(capfd) -> str:
    """What the notifier logged: it logs through Airflow's logger (structlog), to the
    process's output, which in a task is the task's log."""
    out, err = capfd.readouterr()
    return out + err


def test_the_notifier_never_raises_when_the_warehouse_is_locked(
    locked_warehouse: Path, monkeypatch, capfd
) -> None:
    _settings_env(monkeypatch, WAREHOUSE_PATH=str(locked_warehouse))
    monkeypatch.setattr("include.alerts.WRITE_WAIT_SECONDS", 0.05)
    notifier = WarehouseAlertNotifier("task_failed")
    notifier(task_context(try_number=2))  # how Airflow calls it: BaseNotifier.__call__
    log = logged(capfd)
    assert "ALERT ERROR task_failed customer_operations_daily.load_landing_files" in log
    assert "FileNotFoundError: landing/core_banking/customers" in log
    assert (
        "ALERT not written to audit.alerts after 3 tries, kept in this log only: IOException" in log
    )


def test_the_notifier_never_raises_when_postgres_does_not_answer(monkeypatch, capfd) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _settings_env(
        monkeypatch,
        WAREHOUSE_TARGET="postgres",
        WAREHOUSE_POSTGRES_HOST="127.0.0.1",
        WAREHOUSE_POSTGRES_PORT=str(port),
    )
    monkeypatch.setattr("include.alerts.WRITE_WAIT_SECONDS", 0.05)
    WarehouseAlertNotifier("dag_run_failed")(task_context() | {"reason": "task_failure"})
    log = logged(capfd)
    assert "ALERT ERROR dag_run_failed" in log
    assert (
        "ALERT not written to audit.alerts after 3 tries, kept in this log only: OperationalError"
        in log
    )


def test_a_failing_forwarder_does_not_stop_the_record(tmp_path: Path, monkeypatch, capfd) -> None:
    warehouse = tmp_path / "bank.duckdb"
    _settings_env(
        monkeypatch,
        WAREHOUSE_PATH=str(warehouse),
        ALERT_NOTIFIERS="tests.include.alert_channels.broken_chat,tests.include.alert_channels.chat",
    )
    SENT.clear()
    WarehouseAlertNotifier("task_failed")(task_context())
    assert "ALERT not forwarded by BrokenChat" in logged(capfd)
    assert [alert.event for alert in SENT] == ["task_failed"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from audit.alerts").fetchone() == (1,)


def test_e_mail_and_chat_forward_errors_not_retries(monkeypatch) -> None:
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    settings = load_settings(
        {
            "ALERT_EMAIL_TO": "ops@bank.example, data@bank.example",
            "ALERT_NOTIFIERS": "tests.include.alert_channels.chat",
        }
    )
    failed = alert_from_context(task_context(), "task_failed", now=NOW)
    email, chat_notifier = forwarding_notifiers(failed, settings)
    assert isinstance(email, SmtpNotifier)
    assert email.to == ["ops@bank.example", "data@bank.example"]
    assert email.subject == failed.subject
    assert "FileNotFoundError: landing/core_banking/customers" in email.html_content
    assert isinstance(chat_notifier, Chat) and chat_notifier.alert is failed
    retried = alert_from_context(task_context(), "task_retry", now=NOW)
    assert forwarding_notifiers(retried, settings) == []


def test_retry_and_alert_settings_have_defaults_and_refuse_nonsense() -> None:
    settings = load_settings({})
    assert (settings.retry.retries, settings.retry.delay, settings.retry.backoff) == (
        2,
        timedelta(minutes=2),
        2.0,
    )
    assert settings.retry.max_delay == timedelta(minutes=30)
    assert settings.alerts.daily_run_deadline == timedelta(hours=6)
    assert settings.alerts.email_to == () and settings.alerts.notifiers == ()
    custom = load_settings({"TASK_RETRIES": "4", "DAILY_RUN_DEADLINE_HOURS": "1.5"})
    assert (custom.retry.retries, custom.alerts.daily_run_deadline) == (4, timedelta(hours=1.5))
    with pytest.raises(ValueError, match="TASK_RETRIES='1.5' is not a whole number"):
        load_settings({"TASK_RETRIES": "1.5"})
    with pytest.raises(ValueError, match="TASK_RETRY_BACKOFF='fast' is not a number"):
        load_settings({"TASK_RETRY_BACKOFF": "fast"})
    with pytest.raises(ValueError, match="DAILY_RUN_DEADLINE_HOURS='0'"):
        load_settings({"DAILY_RUN_DEADLINE_HOURS": "0"})
