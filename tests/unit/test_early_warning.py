from datetime import UTC, datetime, timedelta

from streams.backtest.early_warning import (
    OVERALL,
    Fate,
    Signal,
    by_kind,
    measure,
    signal_of,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
END = START + timedelta(days=200)


def day(n: float) -> datetime:
    return START + timedelta(days=n)


FATES = [
    Fate("early", day(10), day(100)),  # stops paying: its first unpaid invoice due day 99
    Fate("late", day(10), day(100)),
    Fate("missed", day(10), day(100)),
    Fate("beyond", day(10), day(300)),  # due after the history: not judged
    Fate("sliding", day(10), None),  # deteriorates, still pays: neither
    Fate("calm", None, None),
    Fate("nervous", None, None),
    Fate("quiet", None, None),
    Fate("still", None, None),
]
SIGNALS = [
    Signal("early", "tier_high", day(5)),  # before the decline: not about it
    Signal("early", "tier_high", day(40)),  # 60 days ahead
    Signal("early", "dso_high", day(70)),
    Signal("late", "dso_high", day(90)),  # 10 days ahead
    Signal("late", "tier_high", day(100)),  # at the moment itself: too late
    Signal("missed", "overdue", day(101)),
    Signal("beyond", "tier_high", day(50)),
    Signal("sliding", "tier_high", day(50)),
    Signal("nervous", "tier_high", day(20)),
    Signal("nervous", "dso_high", day(30)),
    Signal("calm", "late_payment", day(30)),
]


def test_lead_times_count_from_the_decline_to_the_first_unpaid_due_date_a_miss_as_zero():
    figures = measure(SIGNALS, FATES, {"tier_high"}, END)
    assert sorted(figures.lead_days) == [0.0, 0.0, 60.0]
    assert figures.caught == 1 and figures.caught_share == 1 / 3
    assert figures.median_lead_days == 0.0


def test_false_alarms_are_customers_that_never_deteriorate_and_got_the_signal():
    figures = measure(SIGNALS, FATES, {"tier_high", "dso_high"}, END)
    assert (figures.kept_paying, figures.false_alarms) == (4, 1)
    assert figures.false_alarm_rate == 0.25
    assert sorted(figures.lead_days) == [0.0, 10.0, 60.0] and figures.caught == 2


def test_by_kind_gives_every_kind_seen_and_the_warnings_together():
    figures = by_kind(SIGNALS, FATES, END)
    assert set(figures) == {"tier_high", "dso_high", "overdue", "late_payment", OVERALL,
                            "family:tier", "family:lateness", "family:dso"}  # fmt: skip
    assert figures["family:dso"].lead_days == figures["dso_high"].lead_days == [30.0, 10.0, 0.0]
    assert figures["family:lateness"].caught == 0
    assert figures["overdue"].caught == 0  # the event itself comes after the due date
    assert figures["late_payment"].false_alarms == 1
    overall = figures[OVERALL].summary()
    assert overall == {"non_payers": 3, "caught": 2, "caught_share": 0.6667,
                       "median_lead_days": 10.0, "kept_paying": 4, "false_alarms": 1,
                       "false_alarm_rate": 0.25}  # fmt: skip


def test_nothing_to_judge_gives_no_figures():
    figures = measure([], [Fate("calm", None, None)], {"tier_high"}, END)
    assert figures.median_lead_days is None and figures.caught_share is None
    assert figures.false_alarm_rate == 0.0


def test_signals_are_read_from_output_lines():
    at = "2026-03-02T10:00:00Z"
    lines = [
        {"type": "risk_change", "customer_id": "c", "tier": "high", "previous_tier": "high",
         "event_time": at},
        {"type": "risk_change", "customer_id": "c", "tier": "medium", "previous_tier": None,
         "event_time": at},
        {"type": "alert", "customer_id": "c", "kind": "rule", "event_time": at,
         "details": {"rule_id": "dso_high"}},
        {"type": "alert", "customer_id": "c", "kind": "overdue", "event_time": at,
         "details": {}},
        {"type": "credit_action", "customer_id": "c", "kind": "review", "event_time": at},
        {"type": "credit_action", "customer_id": "c", "kind": "shorten_terms", "event_time": at},
        {"type": "order_decision", "customer_id": "c", "outcome": "reject", "event_time": at},
    ]  # fmt: skip
    signals = [signal_of(line) for line in lines]
    assert [s and s.kind for s in signals] == [
        None, "tier_medium", "dso_high", "overdue", None, "action:shorten_terms", "order:reject"
    ]  # fmt: skip
    assert signals[1] == Signal("c", "tier_medium", datetime(2026, 3, 2, 10, tzinfo=UTC))


def test_a_truth_line_gives_the_end_of_the_first_unpaid_due_date():
    line = {"customer_id": "c", "deteriorates_from": "2026-01-05T04:00:00+00:00",
            "stops_paying_from": "2026-02-10T09:00:00+00:00", "first_unpaid_due": "2026-03-31",
            "behaviour": "deteriorating"}  # fmt: skip
    fate = Fate.from_truth(line)
    assert fate == Fate("c", datetime(2026, 1, 5, 4, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
