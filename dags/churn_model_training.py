"""Monthly training of the scoring models: churn (with reason codes and the rule
baseline), behaviour segments, lifetime value and the drift references.

Runs on the 1st of each month for the month that just ended (the run's date is
the as-of date; its latest complete month is the previous one), reading the marts
the daily DAG built. The new version is stored with its metadata and promoted only
if it is at least as good as the approved model (scoring/train.py); the daily DAG
scores with whatever is approved. A candidate that is not promoted is not an
error: the task succeeds and logs why.

Retries with back-off and alerts as the daily DAG (`audit.alerts`; docs/data_engineer.md,
"Alerts and retries"); no deadline: a training run has no time it must be done by.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task
from pipeline_defaults import DAG_FAILURE_CALLBACKS, DEFAULT_ARGS, WRITER_TASK_ARGS


@dag(
    dag_id="churn_model_training",
    schedule="0 3 1 * *",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    on_failure_callback=DAG_FAILURE_CALLBACKS,
    tags=["customer-operations", "monthly", "scoring"],
    doc_md=__doc__,
)
def churn_model_training() -> None:
    @task(**WRITER_TASK_ARGS)
    def train_scoring_models(ds: str, run_id: str) -> dict:
        """Fit, version, store; promote only if not worse than the approved model."""
        from datetime import date

        from include.config import load_settings
        from scoring.train import train_models

        return train_models(load_settings(), date.fromisoformat(ds), run_id)

    train_scoring_models()


churn_model_training()
