"""Every setting of the project in one place: environment variables with defaults.

| variable           | default                               | what it is                          |
|--------------------|---------------------------------------|-------------------------------------|
| BANK_DATA_DIR      | <repo>/data                           | root of everything a run writes     |
| LANDING_PATH       | $BANK_DATA_DIR/landing                | where source systems drop files     |
| WAREHOUSE_PATH     | $BANK_DATA_DIR/warehouse/bank.duckdb  | the DuckDB warehouse (one writer)   |
| PUBLISHED_PATH     | $BANK_DATA_DIR/published/bank.duckdb  | read-only copy for BI readers       |
| MODEL_STORE_PATH   | $BANK_DATA_DIR/models                 | trained model artifacts             |
| REPORTS_PATH       | $BANK_DATA_DIR/reports                | validation reports and data docs    |
| WAREHOUSE_MEMORY_LIMIT | 4GB                               | DuckDB memory cap per process       |
| DUCKDB_THREADS     | 2                                     | DuckDB threads of a dbt run (profiles.yml) |
| DBT_EXECUTION_MODE | watcher                               | how cosmos runs dbt: watcher or local (dags/pipeline_defaults.py) |
| SCORING_SLICE_CUSTOMERS | 250000                           | customers scored at a time (memory grows with it) |
| TRAINING_CUSTOMERS | 250000                                | customers the monthly training fits on: a fixed hash sample above that |
| WAREHOUSE_TARGET   | duckdb                                | where dbt builds and the pipeline reads and writes: duckdb or postgres |
| WAREHOUSE_POSTGRES_HOST | localhost                        | PostgreSQL warehouse (target postgres; the DAG hands these to dbt's profile, the password it reads from the environment) |
| WAREHOUSE_POSTGRES_PORT | 5432                             | its port                            |
| WAREHOUSE_POSTGRES_DATABASE | warehouse                    | its database                        |
| WAREHOUSE_POSTGRES_USER | warehouse                        | its login                           |
| WAREHOUSE_POSTGRES_PASSWORD | (empty)                      | its password                        |
| TASK_RETRIES       | 2                                     | retries of every task after its first try (dags/pipeline_defaults.py) |
| TASK_RETRY_DELAY_SECONDS | 120                             | wait before the first retry         |
| TASK_RETRY_BACKOFF | 2                                     | multiplier of that wait per further retry (Airflow's retry_exponential_backoff; 0 or 1: constant wait) |
| TASK_MAX_RETRY_DELAY_SECONDS | 1800                        | longest wait between two tries      |
| DAILY_RUN_DEADLINE_HOURS | 6                               | the daily run must finish within this many hours of being queued, else a deadline alert (include/alerts.py) |
| ALERT_EMAIL_TO     | (empty: no e-mail)                    | comma-separated addresses e-mailed on a failure or missed deadline (Airflow's SmtpNotifier, SMTP connection `smtp_default`) |
| ALERT_NOTIFIERS    | (empty)                               | comma-separated dotted paths of factories `f(alert) -> notifier` for chat or other channels (docs/data_engineer.md) |

On the postgres target the loader still stages, checks and registers in the DuckDB
file (WAREHOUSE_PATH), then ships what it loaded to PostgreSQL; everything after the
load reads and writes PostgreSQL (docs/deployment.md).

Every alert (a task retried or failed, a DAG run failed, the daily deadline missed) is
a row of ``audit.alerts`` in the warehouse and a log line; e-mail and chat only forward it.

Sample bank (bin/demo): SAMPLE_CUSTOMERS, SAMPLE_MONTHS, SAMPLE_START_DATE, SAMPLE_DIRT_RATE.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
WAREHOUSE_TARGETS = ("duckdb", "postgres")  # also the dbt profile's target names


@dataclass(frozen=True)
class PostgresSettings:
    """The PostgreSQL warehouse's connection, from the WAREHOUSE_POSTGRES_* variables."""

    host: str = "localhost"
    port: int = 5432
    database: str = "warehouse"
    user: str = "warehouse"
    password: str = field(default="", repr=False)

    def __str__(self) -> str:  # names the warehouse in messages, never the password
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"


@dataclass(frozen=True)
class RetrySettings:
    """How every task retries (TASK_RETRIES, TASK_RETRY_*): the n-th retry waits about
    ``delay * backoff ** (n - 1)`` (Airflow adds up to as much again, per task, so that
    retries do not all start at once), never longer than ``max_delay``. The defaults
    wait 2-4 minutes before the first retry and 4-8 before the second."""

    retries: int = 2
    delay: timedelta = timedelta(minutes=2)
    # Airflow 3's retry_exponential_backoff is a multiplier: True would mean 1, a constant wait.
    backoff: float = 2.0
    max_delay: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class AlertSettings:
    """Where alerts go besides ``audit.alerts`` and the log, and the daily run's deadline.

    ``email_to``: addresses for Airflow's SmtpNotifier (failures and missed deadlines,
    not retries). ``notifiers``: dotted paths of callables taking the alert
    (:class:`include.alerts.Alert`) and returning a notifier to call, e.g. one of the
    Slack provider's. ``daily_run_deadline``: how long after being queued the daily run
    must have finished (an Airflow Deadline Alert on ``customer_operations_daily``).
    """

    email_to: tuple[str, ...] = ()
    notifiers: tuple[str, ...] = ()
    daily_run_deadline: timedelta = timedelta(hours=6)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    landing_path: Path
    warehouse_path: Path
    published_path: Path
    model_store_path: Path
    reports_path: Path
    # DuckDB's default cap is 80% of RAM; its buffer pool then grows until the
    # machine runs out when big loads share a process with Airflow and pandas.
    warehouse_memory_limit: str = "4GB"
    # Scoring holds a slice of the customers' months in memory at a time; training
    # fits on a deterministic sample of at most this many customers (scoring.train).
    scoring_slice_customers: int = 250_000
    training_customers: int = 250_000
    warehouse_target: str = "duckdb"
    postgres: PostgresSettings = PostgresSettings()
    retry: RetrySettings = RetrySettings()
    alerts: AlertSettings = AlertSettings()

    @property
    def on_postgres(self) -> bool:
        return self.warehouse_target == "postgres"

    @property
    def dbt_project_dir(self) -> Path:
        return DBT_PROJECT_DIR

    def dbt_env_vars(self) -> dict[str, str]:
        """What the dbt profile (profiles.yml) reads for this target, from these settings.

        Not the password: cosmos renders these into the task's fields, which the UI
        shows; dbt reads WAREHOUSE_POSTGRES_PASSWORD from the worker's environment.
        """
        env = {"WAREHOUSE_PATH": str(self.warehouse_path)}
        if self.on_postgres:
            env |= {
                "WAREHOUSE_POSTGRES_HOST": self.postgres.host,
                "WAREHOUSE_POSTGRES_PORT": str(self.postgres.port),
                "WAREHOUSE_POSTGRES_DATABASE": self.postgres.database,
                "WAREHOUSE_POSTGRES_USER": self.postgres.user,
            }
        return env


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the settings from the environment (or the mapping given, for tests)."""
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("BANK_DATA_DIR", REPO_ROOT / "data")).resolve()

    def path(name: str, default: Path) -> Path:
        return Path(env.get(name, default)).resolve()

    def link_path(name: str, default: Path) -> Path:
        # The published path is a symlink to the current release: resolving it here
        # would pin every reader of these settings to one release.
        given = Path(env.get(name, default))
        return given.parent.resolve() / given.name

    target = env.get("WAREHOUSE_TARGET", "duckdb").strip().lower()
    if target not in WAREHOUSE_TARGETS:
        raise ValueError(
            f"WAREHOUSE_TARGET={target!r} is not one of: {', '.join(WAREHOUSE_TARGETS)}"
        )
    defaults = PostgresSettings()
    postgres = PostgresSettings(
        host=env.get("WAREHOUSE_POSTGRES_HOST", defaults.host),
        port=int(env.get("WAREHOUSE_POSTGRES_PORT", defaults.port)),
        database=env.get("WAREHOUSE_POSTGRES_DATABASE", defaults.database),
        user=env.get("WAREHOUSE_POSTGRES_USER", defaults.user),
        password=env.get("WAREHOUSE_POSTGRES_PASSWORD", defaults.password),
    )
    return Settings(
        data_dir=data_dir,
        landing_path=path("LANDING_PATH", data_dir / "landing"),
        warehouse_path=path("WAREHOUSE_PATH", data_dir / "warehouse" / "bank.duckdb"),
        published_path=link_path("PUBLISHED_PATH", data_dir / "published" / "bank.duckdb"),
        model_store_path=path("MODEL_STORE_PATH", data_dir / "models"),
        reports_path=path("REPORTS_PATH", data_dir / "reports"),
        warehouse_memory_limit=env.get("WAREHOUSE_MEMORY_LIMIT", "4GB"),
        scoring_slice_customers=int(env.get("SCORING_SLICE_CUSTOMERS", 250_000)),
        training_customers=int(env.get("TRAINING_CUSTOMERS", 250_000)),
        warehouse_target=target,
        postgres=postgres,
        retry=_retry_settings(env),
        alerts=_alert_settings(env),
    )


def _number(env: dict[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if not math.isfinite(value) or value < minimum:
        raise ValueError(f"{name}={raw!r} is not a finite number of at least {minimum:g}")
    return value


def _names(env: dict[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


def _retry_settings(env: dict[str, str]) -> RetrySettings:
    defaults = RetrySettings()
    retries = _number(env, "TASK_RETRIES", defaults.retries, 0)
    if retries != int(retries):
        raise ValueError(f"TASK_RETRIES={env['TASK_RETRIES']!r} is not a whole number")
    return RetrySettings(
        retries=int(retries),
        delay=timedelta(
            seconds=_number(env, "TASK_RETRY_DELAY_SECONDS", defaults.delay.total_seconds(), 0)
        ),
        backoff=_number(env, "TASK_RETRY_BACKOFF", defaults.backoff, 0),
        max_delay=timedelta(
            seconds=_number(
                env, "TASK_MAX_RETRY_DELAY_SECONDS", defaults.max_delay.total_seconds(), 0
            )
        ),
    )


def _alert_settings(env: dict[str, str]) -> AlertSettings:
    default_hours = AlertSettings().daily_run_deadline.total_seconds() / 3600
    hours = _number(env, "DAILY_RUN_DEADLINE_HOURS", default_hours, 0)
    if hours == 0:
        raise ValueError("DAILY_RUN_DEADLINE_HOURS='0': the daily run needs some time to finish")
    return AlertSettings(
        email_to=_names(env, "ALERT_EMAIL_TO"),
        notifiers=_names(env, "ALERT_NOTIFIERS"),
        daily_run_deadline=timedelta(hours=hours),
    )
