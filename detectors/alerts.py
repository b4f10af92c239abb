"""Alerts that follow directly from what happened to a customer's invoices: paid late, or
overdue. Bounced payments, limit breaches and the like are rules (``detectors/rules.py``),
so that credit teams can tune them.

>>> from datetime import datetime, UTC
>>> from features import Transition
>>> settled = Transition(
...     kind="invoice_settled", transition_id="t1", customer_id="c1",
...     event_time=datetime(2026, 3, 10, tzinfo=UTC), source_event_id="e9",
...     details={"invoice_id": "inv-1", "days_late": 12, "late": True, "amount": "800.00",
...              "currency": "EUR", "due_date": "2026-02-26", "settled_date": "2026-03-10"})
>>> [(alert.kind, alert.severity) for alert in transition_alerts([settled])]
[('late_payment', 'warning')]
"""

from collections.abc import Callable, Iterable

from features import Transition
from schemas.ids import derive_id
from schemas.outputs import Alert, Severity, Versions


def _late_payment(transition: Transition) -> tuple[Severity, str] | None:
    details = transition.details
    if not details.get("late"):
        return None
    days = int(details["days_late"] or 0)
    severity: Severity = "critical" if days > 30 else "warning"
    return severity, f"invoice {details['invoice_id']} paid {days} days late"


def _overdue(transition: Transition) -> tuple[Severity, str] | None:
    details = transition.details
    return "warning", (
        f"invoice {details['invoice_id']} is overdue: {details['open_balance']} "
        f"{details.get('currency') or ''} open past its due date {details['due_date']}"
    ).replace("  ", " ")


_ALERTING: dict[str, tuple[str, Callable[[Transition], tuple[Severity, str] | None]]] = {
    "invoice_settled": ("late_payment", _late_payment),
    "invoice_overdue": ("overdue", _overdue),
}


def transition_alerts(
    transitions: Iterable[Transition], versions: Versions | None = None
) -> list[Alert]:
    """The alerts that a customer's transitions call for, each with a deterministic id."""
    alerts = []
    for transition in transitions:
        kind, describe = _ALERTING.get(transition.kind, (None, None))
        if describe is None or (found := describe(transition)) is None:
            continue
        severity, message = found
        alerts.append(
            Alert(
                alert_id=derive_id("alert", kind, transition.transition_id),
                kind=kind,  # type: ignore[arg-type]
                severity=severity,
                message=message,
                customer_id=transition.customer_id,
                event_time=transition.event_time,
                source_event_id=transition.source_event_id,
                details=transition.details,
                versions=versions or Versions(),
            )
        )
    return alerts
