"""Scoring holds no copy of a dbt seed or var: scoring.business_rules reads them.

The values themselves are checked against what dbt seeded in a built warehouse in
tests/dbt/test_churn_marts.py; here: that the rules follow the files, and that no
tier name, risk band name or unlisted business constant is written into scoring's
code again."""

from __future__ import annotations

import ast
import csv
import shutil
from pathlib import Path

import pytest
import yaml

from include.config import DBT_PROJECT_DIR, REPO_ROOT
from scoring.business_rules import business_rules, load_business_rules, read_seed

SCORING = REPO_ROOT / "scoring"
# Module-level numbers of the scoring modules that are model settings (clips, caps,
# sample sizes, PSI conventions), not business rules. A new number must be added
# here on purpose, or read from a seed or var.
MODEL_SETTINGS = {
    "features.py": {"MONTHS_SINCE_ACTIVE_CAP", "COUNT_CLIP", "SHARE_CLIP", "TREND_CLIP"}
    | {"MART_FIGURES"},  # a slice of SIGNAL_COLUMNS
    "reason_codes.py": {"TOP_REASONS"},
    "segments.py": {"Z_CLIP", "MAX_FIT_ROWS", "N_INIT", "MAX_MATCH_DISTANCE", "FIRST_SEGMENT_ID"}
    | {"NAME_MIN_Z", "NAME_RULES"},  # NAME_RULES: directions +1 / -1
    "drift.py": {"DEFAULT_BINS", "PROPORTION_FLOOR", "WATCH_AT", "WARN_AT"},
}
OWNED_MODULES = (
    "features.py",
    "segments.py",
    "reason_codes.py",
    "baseline.py",
    "warehouse_io.py",
    "score.py",
    "drift.py",
    "periods.py",
    "train.py",
    "business_rules.py",
)
# Known copies outside these modules, left to their owners (see scoring/README.md).
KNOWN_COPIES: set[tuple[str, str]] = set()


def copy_project(target: Path) -> Path:
    target.mkdir()
    shutil.copy(DBT_PROJECT_DIR / "dbt_project.yml", target / "dbt_project.yml")
    shutil.copytree(DBT_PROJECT_DIR / "seeds", target / "seeds")
    return target


def test_the_rules_are_the_projects_files() -> None:
    rules = business_rules()
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    assert rules.churn_label_horizon_months == project["churn_label_horizon_months"]
    assert rules.active_transaction_threshold == project["active_transaction_threshold"]
    assert rules.churn_signal_months == project["churn_signal_months"]
    ranks = {row["value_tier"]: int(row["tier_rank"]) for row in read_seed("value_tier_ranks")}
    assert rules.value_tiers == tuple(sorted(ranks, key=ranks.get, reverse=True))


def test_the_rules_follow_a_changed_seed_and_var(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "dbt_project")
    with (project / "seeds" / "value_tier_ranks.csv").open("a", newline="") as handle:
        csv.writer(handle).writerow(["private_banking", 4])
    (project / "seeds" / "lifecycle_stage_thresholds.csv").write_text(
        "new_max_tenure_months,growing_min_aum_trend,declining_max_aum_trend,churned_stage_months\n"
        "6,0.10,-0.25,3\n"
    )
    text = (project / "dbt_project.yml").read_text()
    (project / "dbt_project.yml").write_text(
        text.replace("churn_label_horizon_months: 3", "churn_label_horizon_months: 6")
    )
    rules = load_business_rules(project)
    assert rules.value_tiers[0] == "private_banking"
    assert rules.declining_max_aum_trend == -0.25
    assert rules.churn_label_horizon_months == 6
    # what a run passes with --vars wins over the file
    overridden = load_business_rules(project, {"active_transaction_threshold": 5})
    assert overridden.active_transaction_threshold == 5


def test_a_missing_var_or_a_second_threshold_row_is_named(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "dbt_project")
    with pytest.raises(KeyError, match="var churn_signal_months is not set"):
        load_business_rules(project, {"churn_signal_months": None})
    seed = project / "seeds" / "churn_reason_thresholds.csv"
    seed.write_text(seed.read_text() + "3,0.40,0.50,30,0.50,90\n")
    with pytest.raises(ValueError, match="churn_reason_thresholds.csv: 2 rows, expected one"):
        load_business_rules(project)


def _string_literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    }


def test_no_tier_or_band_name_is_copied_into_scoring() -> None:
    names = {row["value_tier"] for row in read_seed("value_tier_ranks")}
    names |= {row["value_tier"] for row in read_seed("value_tier_thresholds")}
    names |= {row["churn_risk_band"] for row in read_seed("churn_risk_bands")}
    found = {
        (path.name, literal)
        for path in sorted(SCORING.glob("*.py"))
        for literal in _string_literals(path) & names
    }
    assert found <= KNOWN_COPIES, sorted(found - KNOWN_COPIES)


def _numeric_assignments(path: Path) -> list[str]:
    """Names of module-level assignments whose value holds a number."""
    names = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        numeric = any(
            isinstance(item, ast.Constant)
            and isinstance(item.value, int | float)
            and not isinstance(item.value, bool)
            for item in ast.walk(value)
        )
        names += [target.id for target in targets if numeric and isinstance(target, ast.Name)]
    return names


def test_module_numbers_are_model_settings_only() -> None:
    unlisted = [
        f"{name}: {constant}"
        for name in OWNED_MODULES
        for constant in _numeric_assignments(SCORING / name)
        if constant not in MODEL_SETTINGS.get(name, set())
    ]
    assert unlisted == []
