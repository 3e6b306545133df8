"""The six kinds of customer the sample bank is made of, and how each behaves.

Every table below has one row per :class:`Archetype`, in its order.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from include.bank_generator import reference as ref


class Archetype(IntEnum):
    SALARIED = 0
    YOUNG_DIGITAL = 1
    RETIREE_SAVER = 2
    BUSINESS_OWNER = 3
    WEALTHY_INVESTOR = 4
    CORPORATE = 5


ARCHETYPES = tuple(archetype.name.lower() for archetype in Archetype)
POPULATION_SHARE = np.array([0.38, 0.20, 0.14, 0.10, 0.06, 0.12])
AGE_RANGE = np.array([[25, 58], [20, 32], [60, 80], [30, 62], [35, 72], [0, 1]])
WEALTH_MEDIAN = np.array([45e3, 15e3, 120e3, 180e3, 2.4e6, 500e3])
WEALTH_SIGMA = np.array([1.0, 0.9, 0.9, 1.0, 0.65, 1.2])
INCOME_MEDIAN = np.array([12e3, 8e3, 4.5e3, 25e3, 50e3, 80e3])
# share of income spent each month (low, high): the rest is saved, so AUM grows slowly
SPEND_SHARE = np.array([[0.65, 0.95], [0.7, 0.98], [0.6, 0.9], [0.85, 1.0], [0.8, 1.0], [0.9, 1.0]])
TRANSACTIONS_PER_MONTH = np.array([10.0, 15.0, 5.0, 14.0, 7.0, 22.0])
DIGITAL_PREFERENCE = np.array([0.6, 0.92, 0.15, 0.5, 0.5, 0.75])
MOBILE_SHARE_OF_DIGITAL = np.array([0.6, 0.85, 0.6, 0.6, 0.6, 0.6])
HAS_PAYROLL = np.array([0.92, 0.8, 0.95, 0.0, 0.35, 0.0])

# holding probability and weight of: current account, time deposit, wealth, fund, insurance
HOLDING_PROBABILITY = np.array(
    [
        [1, 0.5, 0.25, 0.3, 0.15],
        [1, 0.1, 0.1, 0.4, 0.02],
        [1, 0.85, 0.3, 0.1, 0.3],
        [1, 0.5, 0.5, 0.3, 0.2],
        [1, 0.8, 0.9, 0.6, 0.5],
        [1, 0.5, 0.4, 0, 0],
    ]
)
HOLDING_WEIGHT = np.array(
    [
        [1.2, 1, 0.6, 0.4, 0.3],
        [2, 0.5, 0.3, 0.5, 0.2],
        [0.5, 1.5, 0.4, 0.2, 0.3],
        [1, 0.6, 0.6, 0.3, 0.2],
        [0.4, 0.6, 1, 0.5, 0.3],
        [1.2, 0.7, 0.5, 0, 0],
    ]
)
PERSONAL_LOAN_PROBABILITY = np.array([0.12, 0.15, 0, 0.15, 0.05, 0])
MORTGAGE_PROBABILITY = np.array([0.2, 0.05, 0, 0.1, 0.1, 0])
BUSINESS_LOAN_PROBABILITY = np.array([0, 0, 0, 0, 0, 0.35])
CARD_PROBABILITY = np.array([0.45, 0.55, 0.05, 0.45, 0.7, 0])
PLATINUM_PROBABILITY = np.array([0.05, 0, 0, 0.4, 0.7, 0])

# everyday transactions: their types, the probability of each per archetype, their
# relative size, and which of them bring money in
EVERYDAY_TYPES = np.array(
    [
        ref.TX[code]
        for code in (
            "card_spend",
            "merchant_payment",
            "bill_payment",
            "withdrawal",
            "transfer_out",
            "transfer_in",
            "deposit",
        )
    ]
)
EVERYDAY_PROBABILITY = np.array(
    [
        [0.30, 0.22, 0.12, 0.08, 0.12, 0.10, 0.06],
        [0.40, 0.30, 0.10, 0.02, 0.10, 0.06, 0.02],
        [0.15, 0.15, 0.20, 0.30, 0.05, 0.05, 0.10],
        [0.15, 0.20, 0.05, 0.05, 0.25, 0.25, 0.05],
        [0.20, 0.20, 0.10, 0.05, 0.20, 0.20, 0.05],
        [0.0, 0.20, 0.10, 0.0, 0.35, 0.35, 0.0],
    ]
)
EVERYDAY_SIZE = np.array([1.0, 1.5, 0.8, 1.2, 3.0, 1.0, 1.0])
EVERYDAY_IS_INFLOW = np.array([False, False, False, False, False, True, True])
