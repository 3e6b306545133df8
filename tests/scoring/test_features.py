from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from scoring.features import FEATURE_COLUMNS, build_features, feature_panel


def month_row(
    customer_id: str,
    month: date,
    aum: float,
    count: int,
    digital: int = 0,
    open_account: bool = True,
    customer_type: str = "retail",
) -> dict:
    return {
        "customer_id": customer_id,
        "month_start_date": month,
        "customer_type": customer_type,
        "month_average_aum": aum,
        "month_end_aum": aum,
        "customer_initiated_transaction_count": count,
        "digital_transaction_count": digital,
        "is_active": count >= 3,
        "is_digitally_active": count >= 3 and digital >= 1,
        "has_open_account": open_account,
        "value_tier": "mass",
    }


def test_features_ignore_everything_after_the_as_of_month(make_months) -> None:
    months = make_months(customers=80, months=14, seed=3)
    as_of = date(2023, 9, 1)
    before = build_features(months, as_of)

    future = pd.to_datetime(months["month_start_date"]) > pd.Timestamp(as_of)
    changed = months.copy()
    changed.loc[future, "month_average_aum"] *= 100.0
    changed.loc[future, "customer_initiated_transaction_count"] = 0
    changed.loc[future, "has_open_account"] = False
    newcomer = month_row("Z99999", date(2023, 11, 1), 1e6, 50)
    changed = pd.concat([changed, pd.DataFrame([newcomer])], ignore_index=True)
    after = build_features(changed, as_of)
    dropped = build_features(months.loc[~future], as_of)

    assert len(before) > 50
    pd.testing.assert_frame_equal(before, after)
    pd.testing.assert_frame_equal(before, dropped)


def test_feature_panel_is_backward_looking(make_months) -> None:
    # the training panel is built once over all months: its rows for month M must
    # be what the panel would say if the data stopped at M
    months = make_months(customers=60, months=12, seed=5)
    cut = date(2023, 7, 1)
    full = feature_panel(months)
    truncated = feature_panel(
        months.loc[pd.to_datetime(months["month_start_date"]) <= pd.Timestamp(cut)]
    )
    full_part = full.loc[full["month_start_date"] <= cut].reset_index(drop=True)
    pd.testing.assert_frame_equal(full_part, truncated.reset_index(drop=True))


def test_feature_values_on_a_hand_made_customer() -> None:
    # AUM 100k from December to March, then 40k in April;
    # transactions 12, 6, 4, 0, 2 (digital -, 3, 0, 0, 2)
    months = pd.DataFrame(
        [
            month_row("A", date(2023, 12, 1), 100_000, 12),
            month_row("A", date(2024, 1, 1), 100_000, 6, digital=3),
            month_row("A", date(2024, 2, 1), 100_000, 4),
            month_row("A", date(2024, 3, 1), 100_000, 0),
            month_row("A", date(2024, 4, 1), 40_000, 2, digital=2),
            month_row("B", date(2024, 4, 1), 5_000, 3, customer_type="corporate"),
        ]
    )
    features = build_features(months, date(2024, 4, 30)).set_index("customer_id")
    a = features.loc["A"]
    assert a["aum_trend_3m"] == pytest.approx(-0.6)  # 40k vs mean 100k
    assert a["aum_trend_1m"] == pytest.approx(-0.6)
    assert a["transaction_count"] == 2
    assert a["monthly_transactions_3m"] == 2  # (4 + 0 + 2) / 3 months
    # Feb-Apr (6) against Nov-Jan, of which only December and January exist (18)
    assert a["transaction_trend_3m"] == pytest.approx(6 / 18 - 1)
    assert a["digital_share_3m"] == pytest.approx(2 / 6)
    # December, January and February had >= 3, of the 5 months A existed in the window
    assert a["active_share_6"] == pytest.approx(3 / 5)
    assert a["months_since_active"] == 2  # last active in February
    assert (a["customer_type_retail"], a["customer_type_corporate"]) == (1.0, 0.0)
    b = features.loc["B"]
    assert b["active_share_6"] == 1.0 and b["aum_trend_3m"] == 0.0  # 1 of 1 month
    assert (b["customer_type_retail"], b["customer_type_corporate"]) == (0.0, 1.0)
    assert not features[list(FEATURE_COLUMNS)].isna().any().any()


def test_a_month_without_a_row_counts_as_empty() -> None:
    months = pd.DataFrame(
        [
            month_row("A", date(2024, 1, 1), 90_000, 5),
            # no February row
            month_row("A", date(2024, 3, 1), 30_000, 1),
        ]
    )
    a = build_features(months, date(2024, 3, 1)).set_index("customer_id").loc["A"]
    # trend against the mean of January (90k) and the empty February (0): 30k / 45k - 1
    assert a["aum_trend_3m"] == pytest.approx(30_000 / 45_000 - 1)
    assert a["aum_trend_1m"] == pytest.approx(5.0)  # from 0 (floored at 1): clipped at +500%
    assert a["active_share_12"] == pytest.approx(1 / 3)  # January only, of 3 months


def test_duplicate_customer_month_is_reported() -> None:
    row = month_row("A", date(2024, 1, 1), 1.0, 1)
    with pytest.raises(ValueError, match=r"duplicate .*\(A, 2024-01-01\) at row 1"):
        feature_panel(pd.DataFrame([row, row]))
