"""CRM events of one block: complaints and campaign contacts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from include.bank_generator.accounts import Accounts
from include.bank_generator.churn import DISENGAGEMENT, DISSATISFACTION, ChurnPlan
from include.bank_generator.customers import Customers
from include.bank_generator.randomness import Draws
from include.bank_generator.shared import SharedData

COMPLAINTS_PER_MONTH = 0.004
UNRESOLVED_SHARE = 0.1
OUTREACH_SHARE = 0.03  # customers contacted in each campaign
# index into include.landing.entities.CONTACT_CHANNELS, COMPLAINT_CATEGORIES, ...
DIGITAL_CONTACT, DIGITAL_CONTACT_P = [1, 2, 4], [0.3, 0.5, 0.2]  # sms, app, email
PERSONAL_CONTACT = [0, 3]  # phone, branch
DISSATISFIED_CATEGORIES = [1, 0, 3]
ACCEPTED = 0
OUTREACH_RESPONSES_P = [0.1, 0.3, 0.6]


@dataclass(frozen=True)
class Complaints:
    customer: np.ndarray
    day: np.ndarray
    category: np.ndarray
    severity: np.ndarray
    channel: np.ndarray
    resolved_day: np.ndarray  # -1: not resolved in the period


@dataclass(frozen=True)
class Contacts:
    customer: np.ndarray
    campaign: np.ndarray
    day: np.ndarray
    channel: np.ndarray
    response: np.ndarray


@dataclass(frozen=True)
class CrmEvents:
    complaints: Complaints
    contacts: Contacts


def contact_channel(draw: Draws, customers: Customers, who: np.ndarray) -> np.ndarray:
    """Index into CONTACT_CHANNELS by the customer's digital preference."""
    digital = draw.uniform("contact.digital") < customers.digital_preference[who]
    return np.where(
        digital,
        draw.choice("contact.digital_channel", DIGITAL_CONTACT, DIGITAL_CONTACT_P),
        draw.choice("contact.personal_channel", PERSONAL_CONTACT),
    )


def complaints(
    shared: SharedData, customers: Customers, accounts: Accounts, churn: ChurnPlan
) -> Complaints:
    """Background complaints (none in a disengaging customer's quiet months) and the
    complaints before a dissatisfied customer leaves."""
    days, n = shared.days, len(customers)
    per_customer = shared.random.events("complaint_count", customers.index, 0)
    count = per_customer.poisson(
        "count", np.full(n, COMPLAINTS_PER_MONTH * shared.calendar.n_months)
    )
    who = np.repeat(np.arange(n), count)
    draw = shared.random.events("complaint", customers.index[who])
    day = draw.integers("day", 0, days)
    quiet = (
        (churn.reason[who] == DISENGAGEMENT)
        & (day >= churn.churn_day[who] - 120)
        & (day <= churn.churn_day[who] + 30)
    )
    kept = ~quiet & (day > accounts.onboard_day[who]) & (day < churn.close_day[who])
    background = draw.subset(kept)
    who, day = who[kept], day[kept]
    background_category = background.integers("category", 0, 6)
    background_severity = background.choice("severity", np.arange(3), [0.6, 0.3, 0.1])
    dissatisfied = np.flatnonzero(churn.reason == DISSATISFACTION)
    repeats = shared.random.events("dissatisfied", customers.index[dissatisfied], 0).integers(
        "complaints", 1, 4
    )
    unhappy = np.repeat(dissatisfied, repeats)
    before = shared.random.events("dissatisfied_complaint", customers.index[unhappy])
    unhappy_day = churn.churn_day[unhappy] - before.integers("days_before", 10, 80)
    all_who = np.concatenate([who, unhappy])
    all_day = np.concatenate([day, unhappy_day])
    draws = Draws(np.concatenate([background.keys, before.keys]))
    category = np.concatenate(
        [background_category, before.choice("category", DISSATISFIED_CATEGORIES)]
    )
    severity = np.concatenate([background_severity, before.choice("severity", [1, 2])])
    resolved = all_day + draws.integers("resolved_after", 0, 21)
    unresolved = (draws.uniform("unresolved") < UNRESOLVED_SHARE) | (resolved >= days)
    return Complaints(
        customer=all_who,
        day=all_day,
        category=category,
        severity=severity,
        channel=contact_channel(draws, customers, all_who),
        resolved_day=np.where(unresolved, -1, resolved),
    )


def campaign_contacts(
    shared: SharedData, customers: Customers, accounts: Accounts, churn: ChurnPlan
) -> Contacts:
    """Accepted contacts before every campaign deposit; random outreach otherwise."""
    days, campaigns = shared.days, shared.campaigns
    parts = []
    for group in accounts.time_deposits:
        campaign = accounts.campaign[group.account]
        chosen = (campaign >= 0) & (group.open_day >= 0)
        who = group.customer[chosen]
        draw = shared.random.events(f"contact.{group.source}", customers.index[who], 0)
        earliest = np.maximum(campaigns.start_day[campaign[chosen]], accounts.onboard_day[who] + 1)
        day = np.maximum(
            group.open_day[chosen] - draw.integers("days_before", 0, 7), earliest.clip(0)
        )
        parts.append((who, campaign[chosen], day, np.full(len(who), ACCEPTED), draw.keys))
    for number, (start, end) in enumerate(zip(campaigns.start_day, campaigns.end_day, strict=True)):
        start, end = max(start, 0), min(end, days - 1)
        if start > end:
            continue
        draw = shared.random.events(f"outreach.{campaigns.rows[number][0]}", customers.index, 0)
        day = draw.integers("day", start, end + 1)
        contacted = (
            (draw.uniform("contacted") < OUTREACH_SHARE)
            & (day > accounts.onboard_day)
            & (day < churn.close_day)
        )
        who = np.flatnonzero(contacted)
        reached = draw.subset(who)
        response = reached.choice("response", np.arange(3), OUTREACH_RESPONSES_P)
        parts.append((who, np.full(len(who), number), day[who], response, reached.keys))
    if not parts:
        empty = np.zeros(0, np.int64)
        return Contacts(empty, empty, empty, empty, empty)
    who, campaign, day, response, keys = (np.concatenate(x) for x in zip(*parts, strict=True))
    return Contacts(
        customer=who,
        campaign=campaign,
        day=day,
        channel=contact_channel(Draws(keys.astype(np.uint64)), customers, who),
        response=response,
    )


def crm_events(
    shared: SharedData, customers: Customers, accounts: Accounts, churn: ChurnPlan
) -> CrmEvents:
    return CrmEvents(
        complaints(shared, customers, accounts, churn),
        campaign_contacts(shared, customers, accounts, churn),
    )
