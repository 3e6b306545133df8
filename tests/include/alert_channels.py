"""Chat notifiers for ALERT_NOTIFIERS in tests/include/test_alerts.py: factories that take
the alert and return what to call with the callback's context, as a bank's own module
would return, say, the Slack provider's notifier."""

from __future__ import annotations

from include.alerts import Alert

SENT: list[Alert] = []


class Chat:
    def __init__(self, alert: Alert) -> None:
        self.alert = alert

    def __call__(self, context: dict) -> None:
        SENT.append(self.alert)


class BrokenChat(Chat):
    def __call__(self, context: dict) -> None:
        raise ConnectionError("chat server unreachable")


def chat(alert: Alert) -> Chat:
    return Chat(alert)


def broken_chat(alert: Alert) -> BrokenChat:
    return BrokenChat(alert)
