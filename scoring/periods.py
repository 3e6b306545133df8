"""Which month a run scores: the latest *complete* month on the run's date.

docs/metrics.md: monthly figures use the latest complete month; a month is complete on
its last day, so a run on 15 June scores May's figures and a run on 30 June scores
June's. If the mart holds no complete month yet (a brand-new bank), the latest
month it holds is used and the run's summary says ``feature_month_complete: false``.
Nothing after that month is read, for features or for labels.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from scoring.features import as_dates, month_start


def last_complete_month(score_date: date) -> date:
    """First day of the latest calendar month that has ended on ``score_date``."""
    if (score_date + timedelta(days=1)).month != score_date.month:
        return month_start(score_date)
    return month_start(month_start(score_date) - timedelta(days=1))


def choose_feature_month(months: pd.Series, score_date: date) -> tuple[date, bool]:
    """The month to score and whether it is complete (see module docstring)."""
    available = as_dates(months)
    complete = available[available <= last_complete_month(score_date)]
    if len(complete):
        return complete.max(), True
    return available.max(), False
