from __future__ import annotations

from datetime import date

import pandas as pd

from scoring.labels import churn_labels

MONTHS = [date(2024, month, 1) for month in range(1, 8)]  # January .. July 2024


def rows(
    customer_id: str, aum: list[float], counts: list[int], open_account: list[bool], first: int = 0
) -> list[dict]:
    return [
        {
            "customer_id": customer_id,
            "month_start_date": MONTHS[first + offset],
            "customer_type": "retail",
            "month_average_aum": aum[offset],
            "month_end_aum": aum[offset],
            "customer_initiated_transaction_count": counts[offset],
            "digital_transaction_count": 0,
            "is_active": counts[offset] >= 3,
            "is_digitally_active": False,
            "has_open_account": open_account[offset],
            "value_tier": "mass",
        }
        for offset in range(len(aum))
    ]


def test_label_arithmetic_on_a_hand_made_bank() -> None:
    k = 1_000.0
    months = pd.DataFrame(
        # V, value churn. AUM Jan-Jul: 100k 100k 100k 90k 40k 40k 40k.
        #   May: mean(Feb, Mar, Apr) = 96.67k >= 10k and 40k < 48.33k -> value churn.
        #   Jun: mean(Mar, Apr, May) = 76.67k, 40k >= 38.33k -> none; Jul: 56.67k -> none.
        #   Feb and Mar have fewer than 3 previous months -> never value churn.
        #   Labels: Jan (Feb-Apr) no; Feb (Mar-May), Mar (Apr-Jun), Apr (May-Jul) yes.
        rows("V", [100 * k, 100 * k, 100 * k, 90 * k, 40 * k, 40 * k, 40 * k], [5] * 7, [True] * 7)
        # S, small: 9k falling to 1k; the previous mean (9k) is below 10k -> never churns.
        + rows("S", [9 * k, 9 * k, 9 * k, 1 * k, 1 * k, 1 * k, 1 * k], [5] * 7, [True] * 7)
        # D, dormant: transactions 4 0 0 0 1 0 0.
        #   Jan: Feb-Apr all zero -> dormant. Feb (0 0 1), Mar (0 1 0), Apr (1 0 0) -> no.
        + rows("D", [50 * k] * 7, [4, 0, 0, 0, 1, 0, 0], [True] * 7)
        # X, closed: no open account in May, no rows in June and July (AUM 0 there).
        #   Jan (Feb-Apr open) no; Feb (May closed) yes; Mar and Apr yes, and June's
        #   0 against mean(Mar, Apr, May) = 20k is also value churn.
        + rows("X", [20 * k] * 5, [5] * 5, [True, True, True, True, False])
        # N, new in March: labelled in March and April only, never churns.
        + rows("N", [30 * k] * 5, [5] * 5, [True] * 5, first=2)
    )
    labels = churn_labels(months)

    # only January .. April have three months of data after them
    assert sorted(labels["month_start_date"].unique()) == MONTHS[:4]
    got = {
        (row.customer_id, row.month_start_date.month): (
            row.churned,
            row.value_churn,
            row.closed,
            row.dormant,
        )
        for row in labels.itertuples()
    }
    expected = {
        ("V", 1): (False, False, False, False),
        ("V", 2): (True, True, False, False),
        ("V", 3): (True, True, False, False),
        ("V", 4): (True, True, False, False),
        ("S", 1): (False, False, False, False),
        ("S", 2): (False, False, False, False),
        ("S", 3): (False, False, False, False),
        ("S", 4): (False, False, False, False),
        ("D", 1): (True, False, False, True),
        ("D", 2): (False, False, False, False),
        ("D", 3): (False, False, False, False),
        ("D", 4): (False, False, False, False),
        ("X", 1): (False, False, False, False),
        ("X", 2): (True, False, True, False),
        ("X", 3): (True, True, True, False),
        ("X", 4): (True, True, True, False),
        ("N", 3): (False, False, False, False),
        ("N", 4): (False, False, False, False),
    }
    assert got == expected


def test_thresholds_are_parameters() -> None:
    # 100k, 100k, 100k, 60k: a 40% drop is value churn at a 70% ratio, not at 50%
    months = pd.DataFrame(
        rows("V", [100_000, 100_000, 100_000, 60_000, 60_000, 60_000, 60_000], [5] * 7, [True] * 7)
    )
    default = churn_labels(months).set_index("month_start_date")["churned"]
    strict = churn_labels(months, value_drop_ratio=0.7).set_index("month_start_date")["churned"]
    assert not default.any()
    assert strict.loc[MONTHS[0]] and strict.loc[MONTHS[2]]
