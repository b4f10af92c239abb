"""Cases: the alerts of one customer that are open at the same time, rolled into one case.

A customer has at most one current case. The first alert opens it (``opened``); each later
alert of the same customer joins it (``alerted``) until a person resolves it, after which
the next alert opens a new case. People acknowledge, assign, snooze and resolve it (input
events of family ``review``); a snoozed case whose ``until`` has passed is back to ``open``
at the customer's next step (an event or time passing, with or without an alert:
``reopened``). Every change is a new revision of the case (`schemas.outputs.Case`): its
``revision`` grows by one, and its ``history`` says who did what, when and why.

The case's id derives from the customer and its first alert, a revision is known by
(``case_id``, ``revision``): replaying the same inputs gives the same revisions. The
functions here are pure; the customer's current case is kept, as the JSON of its latest
revision, in the customer's record (`detectors.memo.RiskMemo.case`).

>>> from datetime import UTC, datetime
>>> from schemas.events import CaseResolved
>>> from schemas.money import Money
>>> def alert(alert_id, hour):
...     return Alert(alert_id=alert_id, kind="overdue", severity="warning", message="late",
...         customer_id="c1", event_time=datetime(2026, 3, 2, hour, tzinfo=UTC),
...         source_event_id=f"e{hour}")
>>> risk = Risk(Money(amount="900.00", currency="EUR"), 0.5, 61.0, "high")
>>> first = fold_alerts(None, [alert("a1", 9)], risk, datetime(2026, 3, 2, 9, tzinfo=UTC),
...     "e9", Versions())
>>> first.status, first.revision, first.alert_count, first.priority
('open', 1, 1, 450.0)
>>> second = fold_alerts(first, [alert("a2", 10)], risk, datetime(2026, 3, 2, 10, tzinfo=UTC),
...     "e10", Versions())
>>> second.case_id == first.case_id, second.revision, second.alert_ids
(True, 2, ['a1', 'a2'])
>>> done = apply_action(second, CaseResolved(event_id="r1", customer_id="c1", case_id=
...     second.case_id, actor="ann", note="paid", event_time="2026-03-03T09:00:00Z"), Versions())
>>> done.status, done.history[-1].actor, done.history[-1].note
('resolved', 'ann', 'paid')
>>> fold_alerts(done, [alert("a3", 11)], risk, datetime(2026, 3, 4, tzinfo=UTC), "e11",
...     Versions()).case_id == first.case_id
False
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, get_args

from schemas.events import CaseAcknowledged, CaseAction, CaseAssigned, CaseResolved, CaseSnoozed
from schemas.ids import derive_id
from schemas.money import Money
from schemas.outputs import (
    ENGINE_ACTOR,
    Alert,
    Case,
    CaseEntry,
    Severity,
    Tier,
    Versions,
)
from schemas.validation import InvalidEvent

MAX_ALERT_IDS = 50
MAX_HISTORY = 50
_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(get_args(Severity))}


class Risk(NamedTuple):
    """What a case carries of the customer's risk when alerted."""

    money_at_risk: Money
    probability_of_loss: float
    score: float | None
    tier: Tier | None


def case_id_of(customer_id: str, first_alert_id: str) -> str:
    """The id of the case that ``first_alert_id`` opened."""
    return derive_id("case", customer_id, first_alert_id)


def is_open(case: Case | None) -> bool:
    """Whether ``case`` takes new alerts (it is not resolved)."""
    return case is not None and case.status != "resolved"


def fold_alerts(
    case: Case | None,
    alerts: Sequence[Alert],
    risk: Risk,
    now: datetime,
    cause: str,
    versions: Versions,
) -> Case | None:
    """The next revision of the customer's case after a step of the engine at ``now``: the
    step's ``alerts`` join the open case (a new one when there is none, or it is resolved),
    and a snoozed case whose ``until`` has come is reopened. None when nothing changes."""
    entries: list[CaseEntry] = []
    update: dict[str, Any] = {}
    if is_open(case) and case.status == "snoozed" and _until_passed(case, now):  # type: ignore[union-attr]
        entries.append(CaseEntry(at=now, actor=ENGINE_ACTOR, action="reopened"))
        update |= {"status": "open", "snoozed_until": None}
    fresh = [alert for alert in alerts if case is None or alert.alert_id not in case.alert_ids]
    if not fresh:
        return _revise(case, entries, update, now, cause, versions) if case and entries else None
    opened = not is_open(case)
    if opened:
        case = _opened(fresh[0], risk, now, cause, versions)
        fresh = fresh[1:]
    assert case is not None
    kinds = dict(case.alert_kinds)
    for alert in fresh:
        entries.append(_alert_entry(alert, "alerted"))
        kinds[alert.kind] = kinds.get(alert.kind, 0) + 1
    severity = max(
        (case.severity, *(alert.severity for alert in fresh)), key=_SEVERITY_RANK.__getitem__
    )
    update |= {
        "severity": severity,
        "alert_count": case.alert_count + len(fresh),
        "alert_ids": [*case.alert_ids, *(alert.alert_id for alert in fresh)][-MAX_ALERT_IDS:],
        "alert_kinds": kinds,
        **_risk_fields(risk),
    }
    return _revise(case, entries, update, now, cause, versions, bump=not opened)


def apply_action(case: Case | None, action: CaseAction, versions: Versions) -> Case:
    """The next revision of the customer's case after a person's ``action`` on it.

    Raises ``InvalidEvent``: ``unknown_case`` when ``case`` (the customer's current case) is
    not the one the action names, ``invalid`` when it is resolved or a snooze ends before it
    starts."""
    if case is None or case.case_id != action.case_id:
        raise InvalidEvent(
            "unknown_case",
            f"customer {action.customer_id} has no current case {action.case_id}"
            + (f" (its current case is {case.case_id})" if case is not None else ""),
        )
    if case.status == "resolved":
        raise InvalidEvent(
            "invalid", f"case {case.case_id} is resolved: a new alert opens a new case"
        )
    now = action.event_time
    update: dict[str, Any]
    if isinstance(action, CaseAcknowledged):
        step, update = "acknowledged", {"status": "acknowledged", "snoozed_until": None}
    elif isinstance(action, CaseAssigned):
        step = "assigned"
        update = {"status": "assigned", "assignee": action.assignee, "snoozed_until": None}
    elif isinstance(action, CaseSnoozed):
        if action.until <= now:
            raise InvalidEvent(
                "invalid",
                f"until {action.until.isoformat()} is not after the event time {now.isoformat()}",
            )
        step, update = "snoozed", {"status": "snoozed", "snoozed_until": action.until}
    else:
        assert isinstance(action, CaseResolved)
        step, update = "resolved", {"status": "resolved", "snoozed_until": None}
    entry = CaseEntry(at=now, actor=action.actor, action=step, note=action.note)  # type: ignore[arg-type]
    return _revise(case, [entry], update, now, action.event_id, versions)


def _until_passed(case: Case, now: datetime) -> bool:
    return case.snoozed_until is not None and case.snoozed_until <= now


def _opened(alert: Alert, risk: Risk, now: datetime, cause: str, versions: Versions) -> Case:
    return Case(
        case_id=case_id_of(alert.customer_id, alert.alert_id),
        customer_id=alert.customer_id,
        event_time=now,
        revision=1,
        status="open",
        opened_at=now,
        updated_at=now,
        severity=alert.severity,
        alert_count=1,
        alert_ids=[alert.alert_id],
        alert_kinds={alert.kind: 1},
        history=[_alert_entry(alert, "opened")],
        source_event_id=cause,
        versions=versions,
        **_risk_fields(risk),
    )


def _alert_entry(alert: Alert, action: str) -> CaseEntry:
    return CaseEntry(
        at=alert.event_time,
        actor=ENGINE_ACTOR,
        action=action,  # type: ignore[arg-type]
        note=alert.message,
        alert_id=alert.alert_id,
    )


def _risk_fields(risk: Risk) -> dict[str, Any]:
    probability = min(1.0, max(0.0, risk.probability_of_loss))
    return {
        "money_at_risk": risk.money_at_risk,
        "probability_of_loss": round(probability, 4),
        "priority": round(float(risk.money_at_risk.amount) * probability, 2),
        "score": risk.score,
        "tier": risk.tier,
    }


def _revise(
    case: Case,
    entries: list[CaseEntry],
    update: dict[str, Any],
    now: datetime,
    cause: str,
    versions: Versions,
    bump: bool = True,
) -> Case:
    """``case`` with ``update`` and ``entries`` added to its history: its next revision, or
    the same revision when not ``bump`` (a case opened in this very step)."""
    return case.model_copy(
        update={
            **update,
            "revision": case.revision + bump,
            "event_time": now,
            "updated_at": now,
            "history": [*case.history, *entries][-MAX_HISTORY:],
            "source_event_id": cause,
            "versions": versions,
        }
    )
