"""Alerts of the pipeline: a task retried or failed, a DAG run failed, the daily run missed
its deadline. Each becomes one row of ``audit.alerts`` (include/audit.py) in the warehouse
of WAREHOUSE_TARGET and one log line starting with ``ALERT``; failures and missed
deadlines are also forwarded by e-mail or chat when configured (ALERT_EMAIL_TO,
ALERT_NOTIFIERS in include/config.py).

:class:`WarehouseAlertNotifier` is an Airflow notifier (``airflow.sdk.BaseNotifier``): the
DAGs attach it as ``on_retry_callback``/``on_failure_callback`` of every task, as the DAG's
``on_failure_callback``, and as the callback of the daily DAG's Deadline Alert
(dags/pipeline_defaults.py). Airflow runs task callbacks in the task's own process once
the try has ended, DAG callbacks in the DAG processor, deadline callbacks in the executor.

Recording an alert never raises: a DuckDB file held by another writer (one writing
process per file), or a PostgreSQL server that does not answer, gets a few short retries,
then the alert stays in the log only (a warning says so). What it records is built by
:func:`alert_from_context`, a pure function of the callback's context.
"""

from __future__ import annotations

import html
import importlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from airflow.sdk import BaseNotifier

from include.audit import ensure_alerts_table, record_alert, utc_now
from include.config import Settings, load_settings
from include.warehouse import Location, session, warehouse_location

LOG = logging.getLogger(__name__)

# What each event is, by level: a retry is a warning (the task may still succeed).
EVENT_LEVELS = {
    "task_retry": "warning",
    "task_failed": "error",
    "dag_run_failed": "error",
    "deadline_missed": "error",
}

# The reason keeps the head of a long exception text (what failed) and its tail (often
# the innermost cause), within this many characters.
REASON_LIMIT = 2000

# Writing the row: a few tries, waiting a little longer each time, then the log only.
WRITE_ATTEMPTS = 3
WRITE_WAIT_SECONDS = 1.0


@dataclass(frozen=True)
class Alert:
    """One alert, as ``audit.alerts`` holds it (include.audit.ALERT_COLUMNS)."""

    alerted_at: datetime
    level: str
    event: str
    dag_id: str | None
    task_id: str | None
    run_id: str | None
    business_date: date | None
    logical_date: datetime | None
    try_number: int | None
    reason: str
    log_url: str | None

    def as_row(self) -> dict[str, object]:
        return asdict(self)

    @property
    def subject(self) -> str:
        """One line naming what failed, for the log, an e-mail subject or a chat message."""
        where = ".".join(part for part in (self.dag_id, self.task_id) if part)
        when = f" business date {self.business_date}" if self.business_date else ""
        attempt = f" try {self.try_number}" if self.try_number else ""
        return f"{self.level.upper()} {self.event} {where}{when}{attempt} (run {self.run_id})"

    @property
    def text(self) -> str:
        """The subject, the reason and the link to the log, as plain text."""
        link = f"\nlog: {self.log_url}" if self.log_url else ""
        return f"{self.subject}\n{self.reason}{link}"

    @property
    def html(self) -> str:
        link = f'<p><a href="{html.escape(self.log_url)}">log</a></p>' if self.log_url else ""
        return f"<p>{html.escape(self.subject)}</p><pre>{html.escape(self.reason)}</pre>{link}"


def truncate_reason(text: str, limit: int = REASON_LIMIT) -> str:
    """``text`` within ``limit`` characters: its head and tail around a note of what was
    left out (a traceback's first lines say what failed, its last ones why)."""
    text = text.strip()
    if len(text) <= limit:
        return text
    marker = "\n[... {} characters left out ...]\n"
    room = limit - len(marker.format(len(text)))
    head, tail = text[: room * 3 // 4], text[len(text) - (room - room * 3 // 4) :]
    return head + marker.format(len(text) - len(head) - len(tail)) + tail


def _naive_utc(value: object) -> datetime | None:
    """A naive UTC timestamp from an aware datetime or an ISO string (audit times are naive UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return datetime(*value.timetuple()[:6], value.microsecond)


def _exception_text(error: object) -> str:
    if error is None:
        return "no exception in the callback's context"
    if isinstance(error, BaseException):
        message = str(error).strip()
        return f"{type(error).__name__}: {message}" if message else type(error).__name__
    return str(error)


def run_url(base_url: str, dag_id: str | None, run_id: str | None) -> str | None:
    """The run's page in the Airflow UI."""
    if not dag_id or not run_id:
        return None
    return f"{base_url.rstrip('/')}/dags/{dag_id}/runs/{quote(run_id, safe='')}"


def alert_from_context(
    context: Mapping[str, Any],
    event: str,
    base_url: str = "http://localhost:8080",
    note: str | None = None,
    now: datetime | None = None,
) -> Alert:
    """The alert an Airflow callback's ``context`` describes.

    Task callbacks carry the task instance (``ti``) and the ``exception``; DAG callbacks
    carry the last task instance of the run (when Airflow has one) and a ``reason`` such
    as ``task_failure``; a deadline callback carries only ``dag_run`` (the run as the REST
    API shows it) and ``deadline`` (its ``deadline_time``). ``note`` says what was expected
    (deadline alerts).
    """
    if event not in EVENT_LEVELS:
        raise ValueError(f"unknown alert event {event!r}: one of {', '.join(EVENT_LEVELS)}")
    if "deadline" in context:
        return _deadline_alert(context, event, base_url, note, now)
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    dag_id = getattr(ti, "dag_id", None) or getattr(dag, "dag_id", None)
    run_id = context.get("run_id") or getattr(ti, "run_id", None)
    logical_date = _naive_utc(context.get("logical_date"))
    ds = context.get("ds")
    business_date = date.fromisoformat(ds) if ds else (logical_date and logical_date.date())
    if event == "dag_run_failed":
        why = context.get("reason") or "unknown"
        failed = f"; the last task to fail: {ti.task_id}" if ti is not None else ""
        reason = f"DAG run failed ({why}){failed}"
    else:
        reason = _exception_text(context.get("exception"))
    log_url = getattr(ti, "log_url", None) or run_url(base_url, dag_id, run_id)
    return Alert(
        alerted_at=now or utc_now(),
        level=EVENT_LEVELS[event],
        event=event,
        dag_id=dag_id,
        task_id=getattr(ti, "task_id", None),
        run_id=run_id,
        business_date=business_date,
        logical_date=logical_date,
        try_number=getattr(ti, "try_number", None),
        reason=truncate_reason(reason),
        log_url=log_url,
    )


def _deadline_alert(
    context: Mapping[str, Any],
    event: str,
    base_url: str,
    note: str | None,
    now: datetime | None,
) -> Alert:
    dag_run = context.get("dag_run") or {}
    deadline = context.get("deadline") or {}
    dag_id, run_id = dag_run.get("dag_id"), dag_run.get("dag_run_id")
    logical_date = _naive_utc(dag_run.get("logical_date"))
    deadline_time = _naive_utc(deadline.get("deadline_time"))
    queued_at = _naive_utc(dag_run.get("queued_at"))
    expected = f" ({note})" if note else ""
    reason = (
        f"the run had not finished by {deadline_time:%Y-%m-%d %H:%M:%S} UTC{expected}; "
        f"it was {dag_run.get('state')} (a {dag_run.get('run_type')} run"
        + (f", queued at {queued_at:%Y-%m-%d %H:%M:%S} UTC)" if queued_at else ")")
        if deadline_time
        else f"deadline missed{expected}"
    )
    return Alert(
        alerted_at=now or utc_now(),
        level=EVENT_LEVELS[event],
        event=event,
        dag_id=dag_id,
        task_id=None,
        run_id=run_id,
        business_date=logical_date.date() if logical_date else None,
        logical_date=logical_date,
        try_number=None,
        reason=truncate_reason(reason),
        log_url=run_url(base_url, dag_id, run_id),
    )


def write_alert(
    alert: Alert,
    location: Location,
    attempts: int = WRITE_ATTEMPTS,
    wait_seconds: float | None = None,
    log: logging.Logger = LOG,
) -> bool:
    """Insert ``alert`` into ``audit.alerts``; ``False`` (and a warning) when the warehouse
    could not be written after ``attempts`` tries, waiting ``wait_seconds`` (default
    :data:`WRITE_WAIT_SECONDS`) times the try's number between them. Never raises."""
    wait_seconds = WRITE_WAIT_SECONDS if wait_seconds is None else wait_seconds
    error: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            with session(location) as con:
                ensure_alerts_table(con)
                record_alert(con, alert.as_row())
            return True
        except Exception as failed:  # noqa: BLE001 - locked, server down...: reported below
            error = failed
            if attempt < attempts:
                time.sleep(wait_seconds * attempt)
    log.warning(
        "ALERT not written to audit.alerts after %d tries, kept in this log only: %s: %s",
        attempts,
        type(error).__name__,
        str(error).splitlines()[0] if str(error) else "",
    )
    return False


def forwarding_notifiers(alert: Alert, settings: Settings) -> list[Callable]:
    """The configured e-mail and chat notifiers for ``alert`` (errors only, not retries)."""
    if alert.level != "error":
        return []
    notifiers: list[Callable] = []
    if settings.alerts.email_to:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        # Sender and server: the SMTP connection ([email] email_conn_id, smtp_default).
        notifiers.append(
            SmtpNotifier(
                to=list(settings.alerts.email_to), subject=alert.subject, html_content=alert.html
            )
        )
    notifiers.extend(_import(path)(alert) for path in settings.alerts.notifiers)
    return notifiers


def _import(dotted_path: str) -> Callable:
    module, _, name = dotted_path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as missing:
        raise ImportError(f"ALERT_NOTIFIERS: cannot import {dotted_path!r}: {missing}") from None


def _forward(alert: Alert, context: Mapping[str, Any], settings: Settings, log: Any) -> None:
    try:
        notifiers = forwarding_notifiers(alert, settings)
    except Exception:
        log.exception("ALERT not forwarded: a notifier of ALERT_NOTIFIERS could not be built")
        return
    for notifier in notifiers:
        try:
            # notify(), not __call__: the alert's text (an exception's) is no Jinja template.
            if isinstance(notifier, BaseNotifier):
                notifier.notify(context)
            else:
                notifier(context)
        except Exception:
            log.exception("ALERT not forwarded by %s", type(notifier).__name__)


def _ui_base_url() -> str:
    from airflow.sdk.configuration import conf

    return conf.get("api", "base_url", fallback="http://localhost:8080/")


def _without_password(alert: Alert) -> Alert:
    """The reason with the PostgreSQL warehouse's password masked, should an error quote it."""
    password = os.environ.get("WAREHOUSE_POSTGRES_PASSWORD", "")
    if password and password in alert.reason:
        return Alert(**{**alert.as_row(), "reason": alert.reason.replace(password, "***")})
    return alert


class WarehouseAlertNotifier(BaseNotifier):
    """Record an alert in ``audit.alerts`` and the log; forward failures by e-mail or chat.

    ``event`` is what the callback is attached to: ``task_retry`` (on_retry_callback,
    level warning), ``task_failed`` (a task's on_failure_callback), ``dag_run_failed``
    (the DAG's on_failure_callback), ``deadline_missed`` (a Deadline Alert's
    ``SyncCallback``, which also passes ``note``: what the run was expected to do).
    """

    def __init__(
        self,
        event: str = "task_failed",
        note: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        if event not in EVENT_LEVELS:
            raise ValueError(f"unknown alert event {event!r}: one of {', '.join(EVENT_LEVELS)}")
        super().__init__(context=context)
        self.event = event
        self.note = note

    def render_template_fields(self, context: Mapping[str, Any], jinja_env: Any = None) -> None:
        """Nothing to render (no template fields). Skipping it also avoids Airflow 3.3's
        ``AttributeError: 'SerializedDAG' object has no attribute 'get_template_env'``,
        which stops a notifier attached as a DAG callback under ``airflow dags test``
        before it runs (apache/airflow#64649, open; the fix proposed there does the same)."""
        if self.template_fields:
            super().render_template_fields(context, jinja_env)

    def notify(self, context: Mapping[str, Any]) -> None:
        try:
            alert = _without_password(
                alert_from_context(context, self.event, _ui_base_url(), self.note)
            )
        except Exception:
            self.log.exception("ALERT %s could not be described from its context", self.event)
            return
        log = self.log.warning if alert.level == "warning" else self.log.error
        log("ALERT %s", alert.text)
        try:
            settings = load_settings()
            write_alert(alert, warehouse_location(settings), log=self.log)
            _forward(alert, context, settings, self.log)
        except Exception:
            self.log.exception("ALERT %s could not be recorded", alert.text)
