"""The churn model against the generator's planted truth.

On a generated bank that has been loaded and built (bin/demo does both), fits the
churn model as the monthly training does (out of time: earlier month ends for
training, the latest two labelled ones for testing) and reports:

- ROC-AUC of the model's probability on the test month ends against the *planted*
  churners (planted_churn_month in M+1..M+3), beside the ROC-AUC against the
  warehouse's own label churn_label_3m;
- reason-code agreement: for every planted churner scored at the end of its
  planted churn month, whether the top reason code (and any of the top three)
  points at the planted reason (scoring.reason_codes maps each code to the
  docs/metrics.md churn reason it is evidence of), per planted reason.

    export BANK_DATA_DIR=<data dir of the bank>; . bin/env.sh
    uv run python benchmarks/churn_model_planted_truth.py --as-of 2025-12-31
"""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd
from sklearn.metrics import roc_auc_score

from include.config import load_settings
from scoring.churn_model import assemble_training_set, train_churn_model
from scoring.reason_codes import REASON_BY_CODE, reason_contributions, top_reasons
from scoring.train import load_panel


def planted_truth(path) -> pd.DataFrame:
    truth = pd.read_csv(path, dtype=str, keep_default_na=False)
    truth = truth.loc[truth["planted_churn_reason"] != ""]
    return pd.DataFrame(
        {
            "customer_id": truth["customer_id"],
            "planted_reason": truth["planted_churn_reason"],
            "planted_month": pd.to_datetime(truth["planted_churn_month"] + "-01").dt.date,
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--as-of", required=True)
    arguments = parser.parse_args(argv)
    settings = load_settings()
    as_of = pd.Timestamp(arguments.as_of).date()
    truth = planted_truth(settings.landing_path.parent / "ground_truth" / "customers.csv")

    panel, _, _ = load_panel(settings, as_of)
    result = train_churn_model(assemble_training_set(panel))
    if not result.metrics.get("evaluated"):
        print(json.dumps(result.metrics))
        return 1
    model = result.model
    first_test, last_test = (pd.Timestamp(m).date() for m in result.metrics["test_months"])

    scored = panel.loc[panel["has_row"] & panel["has_open_account"]].copy()
    test = scored.loc[scored["month_start_date"].between(first_test, last_test)].copy()
    test = test.merge(truth, on="customer_id", how="left")
    month = pd.to_datetime(test["month_start_date"])
    planted = pd.to_datetime(test["planted_month"])
    test["planted_label"] = (planted > month) & (planted <= month + pd.DateOffset(months=3))
    probability = model.predict_probability(test)
    labelled = test["churn_label_3m"].notna().to_numpy()

    at_churn = scored.merge(truth, on="customer_id")
    at_churn = at_churn.loc[at_churn["month_start_date"] == at_churn["planted_month"]]
    at_churn = at_churn.reset_index(drop=True)
    reasons = top_reasons(
        reason_contributions(model.predict_probability, at_churn, result.reason_reference),
        at_churn,
    )

    def mapped(column: str) -> pd.Series:
        return reasons[column].map(
            lambda code: REASON_BY_CODE[code].churn_reason if isinstance(code, str) else None
        )

    top1 = mapped("reason_code_1").eq(at_churn["planted_reason"])
    any3 = (
        top1
        | mapped("reason_code_2").eq(at_churn["planted_reason"])
        | mapped("reason_code_3").eq(at_churn["planted_reason"])
    )
    per_reason = {
        reason: {
            "churners": len(group),
            "top_reason_agrees": int(top1[group.index].sum()),
            "any_of_top_3_agrees": int(any3[group.index].sum()),
        }
        for reason, group in at_churn.groupby("planted_reason")
    }
    report = {
        "test_months": result.metrics["test_months"],
        "test_rows": len(test),
        "planted_churners_in_test_horizon": int(test["planted_label"].sum()),
        "roc_auc_vs_planted": float(roc_auc_score(test["planted_label"], probability)),
        "roc_auc_vs_warehouse_label": float(
            roc_auc_score(test.loc[labelled, "churn_label_3m"].astype(bool), probability[labelled])
        ),
        "reason_codes_at_planted_churn_month": per_reason,
        "top_reason_agreement": float(top1.mean()) if len(top1) else None,
        "any_of_top_3_agreement": float(any3.mean()) if len(any3) else None,
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
