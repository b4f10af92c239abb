"""What the credit team is told of cases, and when: the notification policy, pure."""

from datetime import UTC, datetime, timedelta

from schemas.money import Money
from schemas.outputs import Case, CaseEntry
from sinks.notifications.policy import DIGEST_LINES, NotificationPolicy, NotificationRules

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


def case(
    case_id: str = "case-1",
    revision: int = 1,
    severity: str = "warning",
    tier: str | None = "medium",
    steps: tuple[str, ...] = ("opened",),
    priority: float = 100.0,
) -> Case:
    history = [CaseEntry(at=AT + timedelta(hours=i), actor="riskstream" if step in
                         ("opened", "alerted", "reopened") else "ana", action=step)
               for i, step in enumerate(steps)]  # fmt: skip
    return Case(
        case_id=case_id, customer_id=f"cust-{case_id}", event_time=history[-1].at,
        revision=revision, status="open", opened_at=AT, updated_at=history[-1].at,
        severity=severity, alert_count=len([s for s in steps if s != "acknowledged"]),
        alert_ids=["a1"], alert_kinds={"overdue": 1}, money_at_risk=Money(amount="800.00",
        currency="EUR"), probability_of_loss=0.5, priority=priority, tier=tier,
        source_event_id="e1", history=history,
    )  # fmt: skip


def subjects(notes) -> list[str]:
    return [note.subject for note in notes]


def test_critical_and_high_tier_cases_are_told_at_once_the_rest_wait_for_the_digest():
    policy = NotificationPolicy(NotificationRules(digest_every=600))
    told = policy.take([case("c1", severity="critical"), case("c2", tier="high"),
                        case("c3"), case("c4", severity="info")], now=0.0)  # fmt: skip
    assert [note.case_ids for note in told] == [("c1",), ("c2",)]
    assert policy.digest(now=599.0) is None  # not due yet
    digest = policy.digest(now=600.0)
    assert digest is not None and digest.case_ids == ("c3",)  # info is below the minimum
    assert policy.digest(now=1300.0) is None  # nothing waits


def test_people_acting_on_a_case_tells_nobody_and_a_redelivery_tells_nothing_twice():
    policy = NotificationPolicy(NotificationRules())
    opened = case(severity="critical")
    assert len(policy.take([opened], now=0.0)) == 1
    acknowledged = case(revision=2, severity="critical", steps=("opened", "acknowledged"))
    assert policy.take([opened, acknowledged, opened], now=1.0) == []
    assert policy.waiting == {}


def test_a_case_is_told_again_when_its_severity_rises_or_it_reopens():
    policy = NotificationPolicy(NotificationRules(digest_every=0))
    assert len(policy.take([case(severity="warning")], now=0.0)) == 1
    same = case(revision=2, severity="warning", steps=("opened", "alerted"))
    worse = case(revision=3, severity="critical", steps=("opened", "alerted", "alerted"))
    assert subjects(policy.take([same], now=1.0)) == []
    assert len(policy.take([worse], now=2.0)) == 1
    reopened = case(revision=5, severity="warning",
                    steps=("opened", "alerted", "alerted", "resolved", "reopened"))  # fmt: skip
    assert len(policy.take([reopened], now=3.0)) == 1


def test_the_rate_limit_holds_back_to_the_digest_and_loses_nothing():
    policy = NotificationPolicy(NotificationRules(per_minute=3, digest_every=600))
    urgent = [case(f"c{i}", severity="critical", priority=float(i)) for i in range(10)]
    told = policy.take(urgent, now=0.0)
    assert len(told) == 3
    assert len(policy.take([case("c10", severity="critical", priority=0.5)], now=59.0)) == 0
    assert len(policy.take([case("c11", severity="critical")], now=61.0)) == 1  # a new minute
    digest = policy.digest(now=600.0)
    assert digest is not None
    assert set(digest.case_ids) == {f"c{i}" for i in range(3, 11)}
    assert digest.case_ids[0] == "c9"  # highest priority first


def test_a_long_digest_lists_the_first_cases_and_counts_the_rest():
    policy = NotificationPolicy(NotificationRules(digest_every=60))
    policy.take([case(f"c{i:03}", priority=float(i)) for i in range(DIGEST_LINES + 7)], now=0.0)
    digest = policy.digest(now=60.0)
    assert digest is not None
    assert digest.subject == f"[riskstream] {DIGEST_LINES + 7} cases to look at"
    assert digest.text.count("\n- ") == DIGEST_LINES - 1
    assert digest.text.endswith("... and 7 more")


def test_no_message_holds_more_than_ids_and_figures():
    note = NotificationPolicy(NotificationRules()).take([case(severity="critical")], now=0.0)[0]
    assert note.subject == (
        "[riskstream] critical case of cust-case-1: 800.00 EUR at risk (1 alert: overdue)"
    )
    assert "probability of loss 50%" in note.text and "tier medium" in note.text
