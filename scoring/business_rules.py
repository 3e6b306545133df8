"""The business rules scoring applies, read from where dbt keeps them: the seeds
(``dbt_project/seeds/*.csv``) and the vars (``dbt_project/dbt_project.yml``).

Scoring holds no copy of a tier name, threshold or window length: it asks this
module, which reads the same files dbt builds the marts from, so a change to a
seed or var changes dbt and scoring together. A run that overrides a var on the
dbt command line (``--vars``) passes the same override here (``var_overrides``);
the daily DAG overrides only ``as_of_date``, which scoring takes from its own
command line.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from include.config import DBT_PROJECT_DIR


@dataclass(frozen=True)
class BusinessRules:
    """The seeds' and vars' values scoring uses (names as in dbt)."""

    # seed value_tier_ranks, highest tier first
    value_tiers: tuple[str, ...]
    # vars
    active_transaction_threshold: int
    churn_label_horizon_months: int
    churn_signal_months: int
    churn_signal_complaint_days: int
    churn_signal_maturity_days: int
    # seed lifecycle_stage_thresholds: the `declining` line of the 3-month AUM trend
    declining_max_aum_trend: float
    # seed churn_reason_thresholds: the evidence of the property and rate reasons
    property_min_share_of_prior_aum: float
    rate_min_other_bank_share: float


def read_seed(name: str, project_dir: Path = DBT_PROJECT_DIR) -> list[dict[str, str]]:
    """Rows of ``seeds/<name>.csv`` as dbt seeds them (strings; convert at the caller)."""
    path = project_dir / "seeds" / f"{name}.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{path}: seed has no rows")
    return rows


def _one_row(name: str, project_dir: Path) -> dict[str, str]:
    rows = read_seed(name, project_dir)
    if len(rows) != 1:
        raise ValueError(f"{project_dir / 'seeds' / name}.csv: {len(rows)} rows, expected one")
    return rows[0]


def read_vars(
    project_dir: Path = DBT_PROJECT_DIR, var_overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The project's vars (dbt_project.yml) with ``var_overrides`` applied on top."""
    path = project_dir / "dbt_project.yml"
    project = yaml.safe_load(path.read_text(encoding="utf-8"))
    values = dict(project.get("vars") or {})
    values.update(var_overrides or {})
    return values


def load_business_rules(
    project_dir: Path = DBT_PROJECT_DIR, var_overrides: Mapping[str, Any] | None = None
) -> BusinessRules:
    """Read the rules from the dbt project (module docstring); fails naming the file."""
    values = read_vars(project_dir, var_overrides)

    def var(name: str) -> Any:
        if values.get(name) is None:
            raise KeyError(f"{project_dir / 'dbt_project.yml'}: var {name} is not set")
        return values[name]

    ranks = read_seed("value_tier_ranks", project_dir)
    tiers = tuple(
        row["value_tier"] for row in sorted(ranks, key=lambda row: -int(row["tier_rank"]))
    )
    lifecycle = _one_row("lifecycle_stage_thresholds", project_dir)
    reasons = _one_row("churn_reason_thresholds", project_dir)
    return BusinessRules(
        value_tiers=tiers,
        active_transaction_threshold=int(var("active_transaction_threshold")),
        churn_label_horizon_months=int(var("churn_label_horizon_months")),
        churn_signal_months=int(var("churn_signal_months")),
        churn_signal_complaint_days=int(var("churn_signal_complaint_days")),
        churn_signal_maturity_days=int(var("churn_signal_maturity_days")),
        declining_max_aum_trend=float(lifecycle["declining_max_aum_trend"]),
        property_min_share_of_prior_aum=float(reasons["property_min_share_of_prior_aum"]),
        rate_min_other_bank_share=float(reasons["rate_min_other_bank_share"]),
    )


@cache
def business_rules() -> BusinessRules:
    """The rules of the repository's dbt project, read once per process."""
    return load_business_rules()
