"""Channels and times of day of postings, drawn from the customer's digital habits."""

from __future__ import annotations

import numpy as np

from include.bank_generator import archetypes as kinds
from include.bank_generator import reference as ref
from include.bank_generator.customers import Customers
from include.bank_generator.randomness import Draws

HOUR = 3600
# hours of the day a channel is used: system, branch, atm, pos; anything else 7-24
CHANNEL_HOURS = {"system": (0, 3), "branch": (9, 17), "atm": (6, 23), "pos": (8, 22)}
OTHER_HOURS = (7, 24)
OTHER_BANKS = len(ref.BANK_CODES)  # bank indexes 1 .. OTHER_BANKS - 1 are other banks


def channel(
    draw: Draws,
    customers: Customers,
    who: np.ndarray,
    digital_ok: bool | np.ndarray = True,
    physical: int | np.ndarray = ref.CH["branch"],
    label: str = "channel",
) -> np.ndarray:
    """Mobile or online for digital customers (when the transaction can be digital),
    else ``physical``."""
    digital = (draw.uniform(f"{label}.digital") < customers.digital_preference[who]) & digital_ok
    mobile = (
        draw.uniform(f"{label}.mobile") < kinds.MOBILE_SHARE_OF_DIGITAL[customers.archetype[who]]
    )
    return np.where(digital, np.where(mobile, ref.CH["mobile"], ref.CH["online"]), physical).astype(
        np.int8
    )


def seconds(draw: Draws, channels: np.ndarray, label: str = "second") -> np.ndarray:
    """Second of the day, in the hours the channel is used."""
    conditions = [channels == ref.CH[name] for name in CHANNEL_HOURS]
    low = np.select(conditions, [h[0] for h in CHANNEL_HOURS.values()], OTHER_HOURS[0])
    high = np.select(conditions, [h[1] for h in CHANNEL_HOURS.values()], OTHER_HOURS[1])
    return (draw.uniform(label, low, high) * HOUR).astype(np.int64)
