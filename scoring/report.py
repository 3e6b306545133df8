"""The out-of-time report: churn model vs the rule baseline, as of a date.

Fits the churn model exactly as the monthly training does (scoring.churn_model:
train on the earlier labelled month ends, a 3-month gap, test on the latest two)
without storing anything, and prints a Markdown report with ROC-AUC, PR-AUC,
Brier score, top-decile capture and the reliability tables side by side, each
with its check (every bin holding >= 1% of the test rows within 5 points of its
observed churn rate; scoring.evaluation.reliability_check); the figures also go
to ``$REPORTS_PATH/churn_model_report_<as-of>.json`` / ``.md``.

    uv run python -m scoring.report --as-of 2025-12-31
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

from include.config import Settings, load_settings
from scoring.churn_model import assemble_training_set, train_churn_model
from scoring.train import load_panel

FIGURES = (
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("brier", "Brier score (lower is better)"),
    ("top_decile_capture", "churners captured in the top decile"),
)


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def render_markdown(as_of: date, metrics: dict[str, Any]) -> str:
    if not metrics.get("evaluated"):
        return f"# Churn model, out of time, as of {as_of}\n\nNot evaluated: {metrics['reason']}\n"
    model, rule = metrics["model"], metrics["rule_baseline"]
    lines = [
        f"# Churn model, out of time, as of {as_of}",
        "",
        (
            f"Trained on month ends {metrics['train_months'][0]} .. {metrics['train_months'][1]} "
            f"({metrics['train_rows']} rows); tested on {metrics['test_months'][0]} .. "
            f"{metrics['test_months'][1]} ({metrics['test_rows']} rows, churn rate "
            f"{metrics['test_positive_rate']:.1%}). Model: {metrics['model_kind']}."
        ),
        "",
        "| figure | model | rule baseline (signal count) |",
        "|---|---|---|",
        *(f"| {label} | {_figure(model[key])} | {_figure(rule[key])} |" for key, label in FIGURES),
        "",
        f"Beats the rule baseline on ROC-AUC: {metrics['beats_rule_baseline']}.",
    ]
    if metrics.get("calibration"):
        lines += ["", f"Calibration: {_calibration(metrics['calibration'])}."]
    for name, report in (("model", model), ("rule baseline", rule)):
        lines += [
            "",
            f"Reliability, {name}:",
            "",
            "| predicted | rows | share of rows | mean predicted | observed churn rate |",
            "|---|---|---|---|---|",
            *(
                f"| {row['bin']} | {row['rows']} | {row['rows'] / model['rows']:.1%} | "
                f"{row['mean_predicted']:.3f} | {row['observed_rate']:.3f} |"
                for row in report["reliability"]
            ),
            "",
            _check(report["reliability_check"]),
        ]
    return "\n".join(lines) + "\n"


def _calibration(details: dict[str, Any]) -> str:
    if "calibrated_on" in details:
        return (
            f"{details['method']}, learned on month ends {' .. '.join(details['calibrated_on'])} "
            f"({details['calibration_rows']} rows) from an estimator fitted on "
            f"{' .. '.join(details['estimator_for_calibration_fitted_on'])}"
        )
    return f"{details['method']}, {details['folds']} random folds of the training rows"


def _check(check: dict[str, Any]) -> str:
    """The reliability check in one sentence, with the sampling noise of the misses."""
    share, tolerance = f"{check['min_share']:.0%}", f"{check['tolerance'] * 100:.0f} points"
    if not check["bins"]:
        return f"No bin holds >= {share} of the rows."
    worst = f"worst {check['worst_bin']}: {check['worst_gap'] * 100:+.1f} points"
    if check["within_tolerance"]:
        return f"Every bin holding >= {share} of the rows is within {tolerance} ({worst})."
    misses = ", ".join(
        f"{item['bin']} {item['gap'] * 100:+.1f} points (sampling error "
        f"{item['standard_error'] * 100:.1f})"
        for item in check["bins"]
        if item["bin"] in check["bins_outside"]
    )
    return f"Bins holding >= {share} of the rows further than {tolerance}: {misses}."


def out_of_time_report(settings: Settings, as_of: date) -> tuple[dict[str, Any], str]:
    panel, _, _ = load_panel(settings, as_of)
    metrics = train_churn_model(assemble_training_set(panel)).metrics
    markdown = render_markdown(as_of, metrics)
    settings.reports_path.mkdir(parents=True, exist_ok=True)
    stem = settings.reports_path / f"churn_model_report_{as_of}"
    stem.with_suffix(".json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    stem.with_suffix(".md").write_text(markdown, encoding="utf-8")
    return metrics, markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--as-of", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    arguments = parser.parse_args(argv)
    _, markdown = out_of_time_report(load_settings(), arguments.as_of)
    sys.stdout.write(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
