"""Cases: alerts of one customer open at the same time roll into one case that people work."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.cases import MAX_ALERT_IDS, MAX_HISTORY, Risk, apply_action, fold_alerts
from schemas.events import (
    CaseAcknowledged,
    CaseAction,
    CaseAssigned,
    CaseResolved,
    CaseSnoozed,
)
from schemas.money import Money
from schemas.outputs import Alert, Case, Versions
from schemas.validation import InvalidEvent

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
RISK = Risk(Money(amount="2000.00", currency="EUR"), 0.25, 55.0, "medium")
V = Versions(ruleset="default-3")


def alert(n: int, severity: str = "warning", kind: str = "overdue") -> Alert:
    return Alert(
        alert_id=f"a{n}", kind=kind, severity=severity, message=f"alert {n}", customer_id="c1",
        event_time=START + timedelta(hours=n), source_event_id=f"e{n}",
    )  # fmt: skip


def at(n: int) -> datetime:
    return START + timedelta(hours=n)


def fold(case: Case | None, n: int, *alerts: Alert) -> Case | None:
    return fold_alerts(case, list(alerts), RISK, at(n), f"e{n}", V)


def said(case: Case, n: int) -> dict:
    return {"event_id": f"r{n}", "customer_id": "c1", "case_id": case.case_id, "actor": "ann",
            "event_time": at(n)}  # fmt: skip


def test_the_first_alert_opens_a_case_carrying_its_money_and_the_customers_risk():
    case = fold(None, 1, alert(1))
    assert case is not None
    assert (case.status, case.revision, case.opened_at, case.alert_ids) == (
        "open",
        1,
        at(1),
        ["a1"],
    )
    assert case.money_at_risk == Money(amount="2000.00", currency="EUR")
    assert (case.probability_of_loss, case.priority, case.score, case.tier) == (
        0.25, 500.0, 55.0, "medium",
    )  # fmt: skip
    assert [(h.action, h.actor, h.alert_id) for h in case.history] == [
        ("opened", "riskstream", "a1")
    ]
    assert case.versions == V


def test_alerts_of_one_step_make_one_revision_and_the_highest_severity_wins():
    case = fold(None, 1, alert(1, "info"), alert(2, "critical", "rule"), alert(3, "warning"))
    assert case is not None
    assert (case.revision, case.alert_count, case.severity) == (1, 3, "critical")
    assert case.alert_kinds == {"overdue": 2, "rule": 1}
    assert [h.action for h in case.history] == ["opened", "alerted", "alerted"]


def test_a_new_alert_on_an_open_case_updates_it_whatever_people_did():
    case = fold(None, 1, alert(1))
    acknowledged = apply_action(case, CaseAcknowledged(**said(case, 2)), V)
    more = fold(acknowledged, 3, alert(3))
    assert more is not None
    assert (more.case_id, more.revision, more.status) == (case.case_id, 3, "acknowledged")
    assert more.alert_ids == ["a1", "a3"]


def test_people_acknowledge_assign_snooze_and_resolve_with_who_when_and_why():
    case = fold(None, 1, alert(1))
    case = apply_action(case, CaseAcknowledged(**said(case, 2), note="on it"), V)
    case = apply_action(case, CaseAssigned(**said(case, 3), assignee="bob"), V)
    case = apply_action(case, CaseSnoozed(**said(case, 4), until=at(48)), V)
    assert (case.status, case.assignee, case.snoozed_until) == ("snoozed", "bob", at(48))
    case = apply_action(case, CaseResolved(**said(case, 5), note="paid in full"), V)
    assert (case.status, case.revision, case.snoozed_until) == ("resolved", 5, None)
    assert [(h.action, h.actor, h.note, h.at) for h in case.history[1:]] == [
        ("acknowledged", "ann", "on it", at(2)),
        ("assigned", "ann", "", at(3)),
        ("snoozed", "ann", "", at(4)),
        ("resolved", "ann", "paid in full", at(5)),
    ]
    assert case.source_event_id == "r5"


def test_after_resolution_a_new_alert_opens_a_new_case():
    case = fold(None, 1, alert(1))
    resolved = apply_action(case, CaseResolved(**said(case, 2), note="done"), V)
    new = fold(resolved, 3, alert(3))
    assert new is not None
    assert new.case_id != case.case_id
    assert (new.revision, new.status, new.alert_ids, new.opened_at) == (1, "open", ["a3"], at(3))


def test_a_snoozed_case_is_back_to_open_at_the_first_step_once_its_time_has_come():
    case = fold(None, 1, alert(1))
    snoozed = apply_action(case, CaseSnoozed(**said(case, 2), until=at(10)), V)
    assert fold(snoozed, 5) is None  # still snoozed: nothing changes
    still = fold(snoozed, 6, alert(6))
    assert still is not None and still.status == "snoozed"  # an alert joins, the snooze holds
    woken = fold(still, 10)  # time passing, no alert
    assert woken is not None
    assert (woken.status, woken.snoozed_until, woken.revision) == ("open", None, 4)
    assert [(h.action, h.actor) for h in woken.history[-1:]] == [("reopened", "riskstream")]
    with_alert = fold(still, 11, alert(11))
    assert with_alert is not None
    assert [h.action for h in with_alert.history[-2:]] == ["reopened", "alerted"]
    assert with_alert.status == "open"


def test_an_action_on_another_case_or_none_is_an_unknown_case():
    case = fold(None, 1, alert(1))
    other = {**said(case, 2), "case_id": "c-elsewhere"}
    with pytest.raises(InvalidEvent) as raised:
        apply_action(case, CaseAcknowledged(**other), V)
    assert raised.value.code == "unknown_case"
    with pytest.raises(InvalidEvent) as raised:
        apply_action(None, CaseAcknowledged(**said(case, 2)), V)
    assert raised.value.code == "unknown_case"


def test_a_resolved_case_takes_no_action_and_a_snooze_must_end_after_it_starts():
    case = fold(None, 1, alert(1))
    with pytest.raises(InvalidEvent, match="not after the event time") as raised:
        apply_action(case, CaseSnoozed(**said(case, 2), until=at(2)), V)
    assert raised.value.code == "invalid"
    resolved = apply_action(case, CaseResolved(**said(case, 2), note="done"), V)
    with pytest.raises(InvalidEvent, match="is resolved"):
        apply_action(resolved, CaseAcknowledged(**said(case, 3)), V)


def test_a_case_keeps_its_last_alerts_and_steps_but_counts_them_all():
    case = fold(None, 0, alert(0))
    for n in range(1, 80):
        case = fold(case, n, alert(n))
    assert case is not None
    assert case.alert_count == 80 and case.revision == 80
    assert case.alert_ids == [f"a{n}" for n in range(30, 80)] and len(case.alert_ids) == 50
    assert len(case.history) == MAX_HISTORY == MAX_ALERT_IDS
    assert case.alert_kinds == {"overdue": 80}


def test_probability_of_loss_is_held_to_0_1_and_priority_follows():
    case = fold_alerts(None, [alert(1)], RISK._replace(probability_of_loss=1.7), at(1), "e1", V)
    assert case is not None and (case.probability_of_loss, case.priority) == (1.0, 2000.0)


# Property tests: any sequence of steps (alerts, time passing) and people's actions.

Op = tuple[str, int]
OPS = st.lists(
    st.tuples(st.sampled_from(["alert", "alerts", "tick", "ack", "assign", "snooze", "resolve"]),
              st.integers(1, 30)),
    max_size=40,
)  # fmt: skip


def action(op: str, base: dict, later: datetime) -> CaseAction:
    if op == "ack":
        return CaseAcknowledged(**base)
    if op == "assign":
        return CaseAssigned(**base, assignee=f"u{later.hour}")
    if op == "snooze":
        return CaseSnoozed(**base, until=later)
    return CaseResolved(**base, note="done")


def run(ops: list[Op]) -> tuple[list[Case], dict[str, set[str]]]:
    """The revisions the operations give, and which cases each alert went to."""
    case: Case | None = None
    revisions: list[Case] = []
    homes: dict[str, set[str]] = {}
    n = 0
    for op, size in ops:
        n += 1
        revised: Case | None
        if op in ("alert", "alerts", "tick"):
            alerts = {"alert": [alert(n)], "alerts": [alert(n), alert(n + 1000)], "tick": []}[op]
            revised = fold(case, n, *alerts)
            for a in alerts:
                if revised is not None and a.alert_id in revised.alert_ids:
                    homes.setdefault(a.alert_id, set()).add(revised.case_id)
        elif case is None or case.status == "resolved":
            continue
        else:
            revised = apply_action(case, action(op, said(case, n), at(n + size)), V)
        if revised is not None:
            revisions.append(revised)
            case = revised
    return revisions, homes


@settings(max_examples=150, deadline=None)
@given(OPS)
def test_an_alert_always_belongs_to_exactly_one_case(ops):
    _, homes = run(ops)
    assert all(len(cases) == 1 for cases in homes.values())


@settings(max_examples=150, deadline=None)
@given(OPS)
def test_resolved_cases_never_get_alerts_and_revisions_count_up_by_one(ops):
    revisions, _ = run(ops)
    resolved: dict[str, int] = {}
    last: dict[str, int] = {}
    for case in revisions:
        assert case.revision == last.get(case.case_id, 0) + 1
        last[case.case_id] = case.revision
        if case.case_id in resolved:
            raise AssertionError(f"case {case.case_id} changed after it was resolved")
        if case.status == "resolved":
            resolved[case.case_id] = case.alert_count


@settings(max_examples=150, deadline=None)
@given(OPS, st.data())
def test_redelivering_any_step_changes_nothing(ops, data):
    """A step's alerts folded again into the revision they made leave it as it is."""
    revisions, _ = run(ops)
    alert_steps = [case for case in revisions if case.history[-1].alert_id is not None]
    if not alert_steps:
        return
    case = data.draw(st.sampled_from(alert_steps))
    again = [alert(int(i[1:])) for i in case.alert_ids[-1:]]
    assert fold_alerts(case, again, RISK, case.updated_at, case.source_event_id, V) is None
