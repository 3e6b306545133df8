from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from scoring.business_rules import business_rules
from scoring.features import (
    FEATURE_COLUMNS,
    MART_COLUMNS,
    MART_FIGURES,
    SIGNAL_COLUMNS,
    SIGNAL_FEATURES,
    VALUE_TIERS,
    behaviour_features,
    build_features,
    feature_panel,
)
from scoring.segments import BEHAVIOUR_FEATURES

ACTIVE = business_rules().active_transaction_threshold


def month_row(
    customer_id: str,
    month: date,
    aum: float,
    count: int,
    digital: int = 0,
    open_account: bool = True,
    customer_type: str = "retail",
    payroll: int = 0,
) -> dict:
    return {
        "customer_id": customer_id,
        "month_start_date": month,
        "customer_type": customer_type,
        "month_average_aum": aum,
        "month_end_aum": aum,
        "customer_initiated_transaction_count": count,
        "digital_transaction_count": digital,
        "is_active": count >= ACTIVE,
        "is_digitally_active": count >= ACTIVE and digital >= 1,
        "has_open_account": open_account,
        "value_tier": "mass",
        "payroll_credit_count": payroll,
    }


def signal_row(customer_id: str, month: date, **values: object) -> dict:
    """A signal-mart row with no signal firing, overridden by ``values``."""
    row: dict[str, object] = {
        "customer_id": customer_id,
        "month_start_date": month,
        "aum_trend_3m": None,
        "prior_3m_average_aum": None,
        "other_bank_outflow_share_3m": None,
        "maturing_time_deposit_count_30d": 0,
        "maturing_time_deposit_amount_30d": 0.0,
        "is_payroll_missing": False,
        "complaint_count_90d": 0,
        "active_months_3m": 0,
        "active_months_fall": 0,
        "matured_campaign_deposit_count_3m": 0,
        "largest_real_estate_payment_amount_3m": 0.0,
        "real_estate_payment_share_of_prior_aum_3m": None,
        "investment_account_share": None,
        "churn_label_3m": None,
    }
    unknown = set(values) - set(row)
    assert not unknown, f"not signal columns: {unknown}"
    row.update(values)
    return row


def signals_for(months: pd.DataFrame) -> pd.DataFrame:
    """A quiet signal row for every mart row."""
    return pd.DataFrame(
        [signal_row(row.customer_id, row.month_start_date) for row in months.itertuples()],
        columns=list(SIGNAL_COLUMNS),
    )


def test_features_ignore_everything_after_the_as_of_month(make_bank) -> None:
    # seed 1: in September 2023 every signal fires for someone (a property payment too)
    bank = make_bank(customers=80, months=14, seed=1)
    months, signals = bank.months, bank.signals
    as_of = date(2023, 9, 1)
    before = build_features(months, signals, as_of)

    future = pd.to_datetime(months["month_start_date"]) > pd.Timestamp(as_of)
    changed = months.copy()
    changed.loc[future, "month_average_aum"] *= 100.0
    changed.loc[future, "customer_initiated_transaction_count"] = 0
    changed.loc[future, "payroll_credit_count"] = 0
    changed.loc[future, "has_open_account"] = False
    newcomer = month_row("Z99999", date(2023, 11, 1), 1e6, 50)
    changed = pd.concat([changed, pd.DataFrame([newcomer])], ignore_index=True)

    future_signals = pd.to_datetime(signals["month_start_date"]) > pd.Timestamp(as_of)
    changed_signals = signals.copy()
    changed_signals.loc[future_signals, "complaint_count_90d"] = 4
    changed_signals.loc[future_signals, "other_bank_outflow_share_3m"] = 1.0
    changed_signals.loc[future_signals, "is_payroll_missing"] = True
    changed_signals.loc[future_signals, "churn_label_3m"] = True
    changed_signals = pd.concat(
        [changed_signals, pd.DataFrame([signal_row("Z99999", date(2023, 11, 1))])],
        ignore_index=True,
    )

    after = build_features(changed, changed_signals, as_of)
    dropped = build_features(months.loc[~future], signals.loc[~future_signals], as_of)

    assert len(before) > 50
    assert before[list(SIGNAL_FEATURES)].abs().sum().gt(0).all()  # the signals are in play
    pd.testing.assert_frame_equal(before, after)
    pd.testing.assert_frame_equal(before, dropped)


def test_feature_panel_is_backward_looking(make_bank) -> None:
    # the training panel is built once over all months: its rows for month M must
    # be what the panel would say if the data stopped at M (label included: it is
    # the dbt label of that month, not recomputed from the rows that remain)
    bank = make_bank(customers=60, months=12, seed=5)
    cut = pd.Timestamp(date(2023, 7, 1))
    full = feature_panel(bank.months, bank.signals)
    truncated = feature_panel(
        bank.months.loc[pd.to_datetime(bank.months["month_start_date"]) <= cut],
        bank.signals.loc[pd.to_datetime(bank.signals["month_start_date"]) <= cut],
    )
    full_part = full.loc[full["month_start_date"] <= cut.date()].reset_index(drop=True)
    assert len(full_part) == len(truncated) > 300
    pd.testing.assert_frame_equal(full_part, truncated.reset_index(drop=True))


def test_feature_values_on_a_hand_made_customer() -> None:
    # AUM 100k from December to March, then 40k in April;
    # transactions 12, 6, 4, 0, 2 (digital -, 3, 0, 0, 2); payroll Dec-Feb, none after
    months = pd.DataFrame(
        [
            month_row("A", date(2023, 12, 1), 100_000, 12, payroll=1),
            month_row("A", date(2024, 1, 1), 100_000, 6, digital=3, payroll=1),
            month_row("A", date(2024, 2, 1), 100_000, 4, payroll=2),
            month_row("A", date(2024, 3, 1), 100_000, 0),
            month_row("A", date(2024, 4, 1), 40_000, 2, digital=2),
            month_row("B", date(2024, 4, 1), 5_000, 3, customer_type="corporate", payroll=1),
        ]
    )
    signals = signals_for(months)
    # the signal mart's trend of April: 40k against January's 100k
    signals.loc[
        (signals["customer_id"] == "A") & (signals["month_start_date"] == date(2024, 4, 1)),
        "aum_trend_3m",
    ] = -0.6
    features = build_features(months, signals, date(2024, 4, 30))
    features = features.set_index("customer_id")
    a = features.loc["A"]
    assert a["aum_trend_3m"] == a["feature_aum_trend_3m"] == pytest.approx(-0.6)
    assert a["feature_aum_change_1m"] == pytest.approx(-0.6)
    assert a["feature_transaction_count"] == a["customer_initiated_transaction_count"] == 2
    assert a["feature_monthly_transactions_3m"] == 2  # (4 + 0 + 2) / 3 months
    # Feb-Apr (6) against Nov-Jan, of which only December and January exist (18)
    assert a["feature_transaction_change_3m"] == pytest.approx(6 / 18 - 1)
    assert a["feature_digital_share_3m"] == pytest.approx(2 / 6)
    # December, January and February had >= 3, of the 5 months A existed in the window
    assert a["feature_active_share_6m"] == pytest.approx(3 / 5)
    assert a["feature_months_since_active"] == 2  # last active in February
    # Feb of Feb-Apr (2 credits count once)
    assert a["feature_payroll_share_3m"] == pytest.approx(1 / 3)
    assert (a["feature_customer_type_retail"], a["feature_customer_type_corporate"]) == (1.0, 0.0)
    b = features.loc["B"]
    assert b["feature_active_share_6m"] == 1.0  # 1 of 1 month
    # no month 3 months before: the mart's trend is empty, the feature says no change
    assert pd.isna(b["aum_trend_3m"]) and b["feature_aum_trend_3m"] == 0.0
    assert b["feature_payroll_share_3m"] == 1.0  # 1 of the 1 month B existed
    assert (b["feature_customer_type_retail"], b["feature_customer_type_corporate"]) == (0.0, 1.0)
    assert not features[list(FEATURE_COLUMNS)].isna().any().any()


def test_the_trend_is_the_marts_and_its_feature_is_clipped() -> None:
    april = date(2024, 4, 1)
    months = pd.DataFrame([month_row(name, april, 10_000, 3) for name in "ABC"])
    signals = pd.DataFrame(
        [
            signal_row("A", april, aum_trend_3m=-0.5523),
            signal_row("B", april, aum_trend_3m=9.0),  # +900 %
            signal_row("C", april, aum_trend_3m=-1.0),
        ]
    )
    panel = feature_panel(months, signals).set_index("customer_id")
    # the panel's aum_trend_3m is the mart's, unchanged; only the feature is clipped
    assert panel["aum_trend_3m"].to_dict() == {"A": -0.5523, "B": 9.0, "C": -1.0}
    assert panel["feature_aum_trend_3m"].to_dict() == {"A": -0.5523, "B": 5.0, "C": -1.0}


def test_features_say_so_and_mart_figures_are_the_marts() -> None:
    # every model input is a transform named feature_...; no feature shares a name
    # with a mart column, and the mart figures the panel carries are the marts' values
    mart_names = set(MART_COLUMNS) | set(SIGNAL_COLUMNS)
    assert all(name.startswith("feature_") for name in FEATURE_COLUMNS)
    assert not set(FEATURE_COLUMNS) & mart_names
    assert set(MART_FIGURES) <= mart_names
    assert {f"feature_value_tier_{tier}" for tier in VALUE_TIERS} <= set(FEATURE_COLUMNS)
    assert set(VALUE_TIERS) == {"high_net_worth", "mid_value", "mass"}  # seed value_tier_ranks

    april = date(2024, 4, 1)
    months = pd.DataFrame([month_row("A", april, 1_234.56, 7, digital=2)])
    figures = {
        "aum_trend_3m": -0.5523,
        "prior_3m_average_aum": 9_000.0,
        "other_bank_outflow_share_3m": 0.6667,
        "maturing_time_deposit_count_30d": 2,
        "maturing_time_deposit_amount_30d": 99_999.99,
        "complaint_count_90d": 8,
        "active_months_3m": 1,
        "active_months_fall": 2,
        "matured_campaign_deposit_count_3m": 6,
        "largest_real_estate_payment_amount_3m": 90_000.0,
        "real_estate_payment_share_of_prior_aum_3m": 10.0,
        "investment_account_share": 0.3333,
    }
    panel = feature_panel(months, pd.DataFrame([signal_row("A", april, **figures)]))
    row = panel.iloc[0]
    for column, value in figures.items():
        assert row[column] == value, column
    assert row["month_average_aum"] == 1_234.56
    assert row["customer_initiated_transaction_count"] == 7
    assert row["digital_transaction_count"] == 2


def test_signal_features_on_hand_made_customers() -> None:
    april = date(2024, 4, 1)
    months = pd.DataFrame(
        [
            month_row("A", april, 200_000, 3),
            month_row("B", april, 50_000, 3),
            month_row("C", april, 0.0, 0),
            month_row("D", april, 80_000, 3),  # no signal row at all
        ]
    )
    signals = pd.DataFrame(
        [
            signal_row(
                "A",
                april,
                prior_3m_average_aum=100_000.0,
                other_bank_outflow_share_3m=0.6,
                maturing_time_deposit_count_30d=1,
                maturing_time_deposit_amount_30d=50_000.0,
                is_payroll_missing=True,
                complaint_count_90d=2,
                active_months_fall=2,
                matured_campaign_deposit_count_3m=1,
                largest_real_estate_payment_amount_3m=150_000.0,
                real_estate_payment_share_of_prior_aum_3m=1.5,
                churn_label_3m=True,
            ),
            signal_row(
                "B",
                april,
                other_bank_outflow_share_3m=0.9,
                maturing_time_deposit_amount_30d=400_000.0,
                complaint_count_90d=9,
                active_months_fall=-1,
                matured_campaign_deposit_count_3m=7,
                largest_real_estate_payment_amount_3m=10_000.0,
                real_estate_payment_share_of_prior_aum_3m=0.2,
                churn_label_3m=False,
            ),
            signal_row(
                "C",
                april,
                # prior average 0: the mart's share is empty
                prior_3m_average_aum=0.0,
                maturing_time_deposit_amount_30d=3.0,
                largest_real_estate_payment_amount_3m=900.0,
            ),
        ]
    )
    features = feature_panel(months, signals).set_index("customer_id")
    got = features[list(SIGNAL_FEATURES)].to_dict("index")
    assert got["A"] == pytest.approx(
        {
            "feature_other_bank_outflow_share_3m": 0.6,
            "feature_maturing_deposit_share_30d": 0.25,  # 50k maturing / 200k AUM
            "feature_is_payroll_missing": 1.0,
            "feature_complaint_count_90d": 2.0,
            "feature_active_months_fall": 2.0,
            "feature_matured_campaign_deposit_count_3m": 1.0,
            "feature_real_estate_payment_share_3m": 1.5,  # the mart's share
        }
    )
    assert got["B"] == pytest.approx(
        {
            "feature_other_bank_outflow_share_3m": 0.9,
            "feature_maturing_deposit_share_30d": 5.0,  # 400k / 50k = 8, clipped at 5
            "feature_is_payroll_missing": 0.0,
            "feature_complaint_count_90d": 5.0,  # clipped at 5
            "feature_active_months_fall": -1.0,  # a rise is kept as such
            "feature_matured_campaign_deposit_count_3m": 5.0,
            "feature_real_estate_payment_share_3m": 0.2,
        }
    )
    # the mart figures stay unclipped beside them
    assert features.loc["B", "complaint_count_90d"] == 9
    assert features.loc["B", "matured_campaign_deposit_count_3m"] == 7
    # zero AUM: the denominator is floored at 1 CNY, then the share clipped at 5
    assert got["C"]["feature_maturing_deposit_share_30d"] == 3.0
    assert got["C"]["feature_real_estate_payment_share_3m"] == 0.0  # empty share
    assert got["C"]["feature_other_bank_outflow_share_3m"] == 0.0  # NULL share: no outflows
    assert pd.isna(features.loc["C", "other_bank_outflow_share_3m"])
    # no signal row: nothing fires and there is no label
    assert all(value == 0.0 for value in got["D"].values())
    labels = features["churn_label_3m"]
    assert str(labels.dtype) == "boolean"
    assert bool(labels["A"]) is True and bool(labels["B"]) is False
    assert labels.isna().to_dict() == {"A": False, "B": False, "C": True, "D": True}


def test_a_month_without_a_row_counts_as_empty() -> None:
    months = pd.DataFrame(
        [
            month_row("A", date(2024, 1, 1), 90_000, 5, payroll=1),
            # no February row
            month_row("A", date(2024, 3, 1), 30_000, 1, payroll=1),
        ]
    )
    panel = feature_panel(months, signals_for(months)).set_index("customer_id")
    february = panel.loc[panel["month_start_date"] == date(2024, 2, 1)].iloc[0]
    assert not february["has_row"] and not february["has_open_account"]
    assert pd.isna(february["churn_label_3m"])  # no signal row: no label either
    # no mart row: the mart figures are empty, the features count it as zero
    assert pd.isna(february["month_average_aum"]) and february["feature_month_average_aum"] == 0
    a = build_features(months, signals_for(months), date(2024, 3, 1)).set_index("customer_id")
    a = a.loc["A"]
    # from 0 in the empty February (floored at 1): clipped at +500%
    assert a["feature_aum_change_1m"] == pytest.approx(5.0)
    assert a["feature_active_share_12m"] == pytest.approx(1 / 3)  # January only, of 3 months
    assert a["feature_payroll_share_3m"] == pytest.approx(2 / 3)  # January and March


def test_duplicate_customer_month_is_reported() -> None:
    row = month_row("A", date(2024, 1, 1), 1.0, 1)
    months = pd.DataFrame([row, row])
    with pytest.raises(ValueError, match=r"duplicate .*\(A, 2024-01-01\) at row 1"):
        feature_panel(months, signals_for(months.iloc[:1]))


def test_missing_mart_column_is_named() -> None:
    months = pd.DataFrame([month_row("A", date(2024, 1, 1), 1.0, 1)])
    with pytest.raises(ValueError, match="missing column.*payroll_credit_count"):
        feature_panel(months.drop(columns=["payroll_credit_count"]), signals_for(months))


def test_behaviour_features_join_the_holdings() -> None:
    april = date(2024, 4, 1)
    months = pd.DataFrame(
        [
            month_row("A", date(2024, 3, 1), 10_000, 4, digital=4, payroll=1),
            month_row("A", april, 1_000, 2, digital=1, payroll=1),
            month_row("B", april, 50_000, 6, digital=0),
        ]
    )
    signals = pd.DataFrame(
        [
            signal_row("A", date(2024, 3, 1)),
            signal_row("A", april, aum_trend_3m=-0.9, investment_account_share=0.5),
            signal_row("B", april),  # no open AUM account: empty share
        ]
    )
    population = build_features(months, signals, april)
    holdings = pd.DataFrame({"customer_id": ["B", "A"], "product_depth": [1.0, 3.0]})
    frame = behaviour_features(population, holdings).set_index("customer_id")
    assert set(BEHAVIOUR_FEATURES) == set(frame.columns)
    a = frame.loc["A"]
    # the same transforms as the churn model's features, under the same names
    assert a["feature_aum_trend_3m"] == -0.9
    assert a["feature_payroll_share_3m"] == 1.0 and a["feature_active_share_12m"] == 0.5
    assert a["feature_digital_share_3m"] == pytest.approx(5 / 6)
    assert (a["product_depth"], a["feature_investment_account_share"]) == (3.0, 0.5)
    assert frame.loc["B", "product_depth"] == 1.0
    assert frame.loc["B", "feature_investment_account_share"] == 0.0
    assert frame.loc["B", "feature_log_month_average_aum"] == pytest.approx(10.819798)
