from __future__ import annotations

from datetime import date

import pandas as pd

from scoring.periods import choose_feature_month, last_complete_month


def test_a_month_is_complete_on_its_last_day() -> None:
    assert last_complete_month(date(2024, 6, 15)) == date(2024, 5, 1)
    assert last_complete_month(date(2024, 6, 30)) == date(2024, 6, 1)
    assert last_complete_month(date(2024, 3, 1)) == date(2024, 2, 1)
    assert last_complete_month(date(2024, 2, 28)) == date(2024, 1, 1)  # 2024 is a leap year
    assert last_complete_month(date(2024, 2, 29)) == date(2024, 2, 1)
    assert last_complete_month(date(2024, 1, 5)) == date(2023, 12, 1)
    assert last_complete_month(date(2023, 12, 31)) == date(2023, 12, 1)


def test_feature_month_is_the_latest_complete_month_held() -> None:
    months = pd.Series([date(2024, 4, 1), date(2024, 5, 1), date(2024, 6, 1)])
    # June is not over on the 15th: May, even though the mart already has June
    assert choose_feature_month(months, date(2024, 6, 15)) == (date(2024, 5, 1), True)
    assert choose_feature_month(months, date(2024, 6, 30)) == (date(2024, 6, 1), True)
    # a run long after the data: the latest month held, which is complete
    assert choose_feature_month(months, date(2025, 1, 10)) == (date(2024, 6, 1), True)


def test_without_a_complete_month_the_latest_is_used_and_flagged() -> None:
    months = pd.Series([date(2024, 6, 1)])
    assert choose_feature_month(months, date(2024, 6, 15)) == (date(2024, 6, 1), False)
    # timestamps (as read from the warehouse) give dates too
    stamps = pd.Series(pd.to_datetime(["2024-05-01", "2024-06-01"]))
    month, complete = choose_feature_month(stamps, date(2024, 6, 15))
    assert (month, complete) == (date(2024, 5, 1), True) and type(month) is date
