"""Event time: overdue by the passing of time, windows, lateness, duplicates and rejections."""

from datetime import timedelta
from decimal import Decimal

import pytest
from test_features_support import CONFIG, Events, apply_all, day, due, kinds, without_fired

from features import CustomerState, FeatureConfig
from schemas import InvalidEvent


@pytest.fixture
def events() -> Events:
    return Events()


def test_an_invoice_turns_overdue_once_when_its_due_date_passes(events):
    state, _ = apply_all([events.invoice("i1", "500", due(30), day(0))])  # due 31 January
    assert state.next_deadline(CONFIG) == day(31)  # 1 February, 00:00 UTC
    assert state.advance(day(30, hours=23), CONFIG) == []

    fired = state.advance(day(31), CONFIG)
    assert kinds(fired) == ["invoice_overdue"]
    assert fired[0].event_time == day(31)
    assert fired[0].details["days_past_due"] == 1
    assert fired[0].details["open_balance"] == "500.00"
    assert state.next_deadline(CONFIG) is None
    assert state.advance(day(40), CONFIG) == []
    assert state.advance(day(31), CONFIG) == []


def test_the_next_deadline_follows_the_invoices_as_they_are_paid_and_issued(events):
    state, _ = apply_all([events.invoice("i1", "500", due(30), day(0))])
    assert state.next_deadline(CONFIG) == day(31)
    state.apply(events.invoice("i2", "300", due(20), day(1)), CONFIG)  # due 21 January
    assert state.next_deadline(CONFIG) == day(21)
    state.apply(events.payment("p1", "300", day(2), invoice_id="i2"), CONFIG)
    assert state.next_deadline(CONFIG) == day(31)
    state.apply(events.payment("p2", "500", day(3), invoice_id="i1"), CONFIG)
    assert state.next_deadline(CONFIG) is None


def test_the_grace_delays_overdue(events):
    config = FeatureConfig(overdue_grace=timedelta(days=2))
    state, _ = apply_all([events.invoice("i1", "500", due(30), day(0))], config=config)
    assert state.next_deadline(config) == day(33)
    assert state.advance(day(32, hours=23), config) == []
    assert kinds(state.advance(day(33), config)) == ["invoice_overdue"]


def test_an_event_first_lets_time_pass_to_its_own_time(events):
    stream = [
        events.invoice("i1", "500", due(30), day(0)),
        events.payment("p1", "500", day(42, hours=15), invoice_id="i1"),
    ]
    _, fired = apply_all(stream)
    assert kinds(fired) == ["invoice_issued", "invoice_overdue", "invoice_settled"]
    settled = fired[2].details
    assert (settled["days_late"], settled["late"]) == (12, True)
    assert settled["settled_date"] == "2026-02-12"

    tolerant = FeatureConfig(late_tolerance_days=15)
    _, fired = apply_all(stream, config=tolerant)
    assert fired[2].details["late"] is False


def test_an_invoice_taken_after_its_due_date_passed_is_overdue_at_once(events):
    """Issued on its due date, it arrives (within the lateness) after an event of the next day."""
    later = events.order("o1", "100", day(21, hours=1))
    _, fired = apply_all([later, events.invoice("i1", "500", due(20), day(20, hours=9))])
    assert kinds(fired)[-2:] == ["invoice_issued", "invoice_overdue"]
    assert fired[-1].event_time == day(21)  # when its due date passed, in event time


def test_order_windows_slide_out(events):
    state, _ = apply_all(
        [events.order("o1", "100", day(10)), events.order("o2", "50", day(10, hours=2))]
    )
    at_half_past_two = state.features(day(10, hours=2.5))
    assert at_half_past_two.order_counts == {"1h": 1, "1d": 2, "30d": 2}
    assert at_half_past_two.order_amounts == {"1h": 50.0, "1d": 150.0, "30d": 150.0}
    assert state.features(day(11, hours=1)).order_counts == {"1h": 0, "1d": 1, "30d": 2}
    assert state.features(day(39, hours=1)).order_counts["30d"] == 2
    assert state.features(day(40, hours=1)).order_counts["30d"] == 0


def test_zscores_wait_for_the_minimum_count(events):
    amounts = ["100", "110", "90", "100"]
    state, _ = apply_all([events.order(f"o{i}", a, day(i)) for i, a in enumerate(amounts)])
    assert state.features(day(4)).order_amount_stats.zscore(200.0) is None

    state.apply(events.order("o5", "100", day(5)), CONFIG)
    stats = state.features(day(5)).order_amount_stats
    # Mean 100; squared deviations 0 + 100 + 100 + 0 + 0 = 200; sample variance 50.
    assert (stats.count, stats.mean) == (5, 100.0)
    assert stats.zscore(200.0) == pytest.approx(100 / 50**0.5)


def test_zscore_is_none_while_every_value_is_the_same(events):
    state, _ = apply_all([events.order(f"o{i}", "100", day(i)) for i in range(6)])
    assert state.features(day(6)).order_amount_stats.zscore(500.0) is None


def test_duplicates_change_nothing(events):
    invoice = events.invoice("i1", "500", due(30), day(0))
    state, _ = apply_all([invoice, events.order("o1", "10", day(1))])
    before = state.to_bytes()
    assert state.apply(invoice, CONFIG) == []
    assert state.to_bytes() == before


def reloaded(state: CustomerState) -> CustomerState:
    return CustomerState.from_bytes(state.to_bytes())


@pytest.mark.parametrize(
    ("later", "where"),
    [
        (0, "within the lateness"),
        (1, "before the horizon"),
        (2, "before the horizon, after a round trip through its bytes"),
    ],
)
def test_an_event_id_seen_with_other_content_is_refused_and_the_same_content_is_a_redelivery(
    events, later, where
):
    invoice = events.invoice("i1", "500", due(30), day(0))
    history = [invoice, *[events.order(f"o{n}", "10", day(5 + n)) for n in range(later)]]
    state, _ = apply_all(history)
    state = reloaded(state) if later == 2 else state
    before = state.to_bytes()
    assert (invoice.event_time.timestamp() * 1e6 >= state.horizon) == (later == 0), where
    amount = invoice.amount.model_copy(update={"amount": Decimal("500.000")})
    assert state.apply(invoice.model_copy(update={"amount": amount}), CONFIG) == [], where

    for other in ({"amount": amount.model_copy(update={"amount": Decimal("501")})},
                  {"due_date": due(31)}, {"event_time": day(0, hours=1)}):  # fmt: skip
        with pytest.raises(InvalidEvent) as raised:
            state.apply(invoice.model_copy(update=other), CONFIG)
        assert (raised.value.code, raised.value.reason) == (
            "inconsistent", f"event id {invoice.event_id} was seen with different content",
        ), where  # fmt: skip
    assert state.to_bytes() == before


def test_an_event_older_than_the_lateness_is_rejected_with_nothing_changed(events):
    state, _ = apply_all([events.order("o1", "10", day(10))])
    before = state.to_bytes()
    with pytest.raises(InvalidEvent) as raised:
        state.apply(events.order("o2", "10", day(8, hours=23)), CONFIG)
    assert raised.value.code == "too_late"
    assert "2026-01-09T23:00:00+00:00" in raised.value.reason
    assert "the allowed lateness is P1D" in raised.value.reason
    assert state.to_bytes() == before
    # One day back is still in time.
    state.apply(events.order("o3", "10", day(9)), CONFIG)


@pytest.mark.parametrize(
    "bad",
    [
        lambda e: Events(currency="USD", prefix="usd").order("o9", "10", day(3)),
        lambda e: e.reversal("p9", day(3)),
        lambda e: e.invoice("i1", "501", due(30), day(3)),
        lambda e: e.cancel_invoice("i9", day(3)),
        lambda e: e.cancel_order("o9", day(3)),
        lambda e: e.payment("p1", "11", day(3)),
    ],
    ids=["currency", "unknown payment", "reissued invoice", "unknown invoice", "unknown order",
         "payment changed"],
)  # fmt: skip
def test_inconsistent_events_are_rejected_with_nothing_changed(events, bad):
    state, _ = apply_all(
        [events.invoice("i1", "500", due(30), day(0)), events.payment("p1", "10", day(1))]
    )
    before = state.to_bytes()
    with pytest.raises(InvalidEvent) as raised:
        state.apply(bad(events), CONFIG)
    assert raised.value.code == "inconsistent"
    assert state.to_bytes() == before


def test_repeating_what_is_known_is_accepted_and_changes_no_figure(events):
    state, _ = apply_all(
        [events.invoice("i1", "500", due(30), day(0)), events.cancel_invoice("i1", day(1))]
    )
    before = state.features(day(2))
    assert state.apply(events.invoice("i1", "500", due(30), day(2)), CONFIG) == []
    assert state.apply(events.cancel_invoice("i1", day(2)), CONFIG) == []
    assert state.features(day(2)) == before


def test_an_out_of_order_event_lands_in_its_place(events):
    invoice = events.invoice("i1", "500", due(30), day(0))
    payment = events.payment("p1", "500", day(30, hours=22), invoice_id="i1")  # before due end
    order = events.order("o1", "10", day(31, hours=6))
    in_order, _ = apply_all([invoice, payment, order])
    late, fired = apply_all([invoice, order, payment])
    assert without_fired(late) == without_fired(in_order)
    assert late.features(day(32)) == in_order.features(day(32))
    assert late.features(day(32)).settled_invoice_count == 1
    # Seen from the order at 06:00, the invoice was overdue; the payment dated 22:00 the
    # day before corrects the state, but the alert has gone out and stays.
    assert kinds(fired) == ["invoice_issued", "invoice_overdue", "invoice_settled"]


def test_a_replay_never_fires_a_transition_twice(events):
    _, fired = apply_all(
        [
            events.invoice("i1", "500", due(30), day(0)),
            events.order("o1", "10", day(40)),
            events.order("o0", "10", day(39, hours=12)),  # late: the buffer replays
        ]
    )
    assert kinds(fired) == ["invoice_issued", "invoice_overdue"]


def test_serialisation_round_trips_and_continues_identically(events):
    stream = [
        events.limit("900", day(0)),
        events.order("o1", "500", day(0)),
        events.invoice("i1", "500", due(30), day(1), order_id="o1"),
        events.payment("p1", "200", day(5), invoice_id="i1"),
        events.dispute("i1", day(6), amount="100"),
    ]
    state, _ = apply_all(stream)
    restored = CustomerState.from_bytes(state.to_bytes())
    assert restored.to_bytes() == state.to_bytes()
    assert restored.features(day(6), CONFIG) == state.features(day(6), CONFIG)
    later = [events.order("o2", "600", day(6, hours=1)), events.payment("p0", "50", day(5.5))]
    assert apply_all(later, state)[1] == apply_all(later, restored)[1]
    assert restored.to_bytes() == state.to_bytes()


def test_a_state_from_another_format_is_refused():
    blob = CustomerState.new("c1").to_bytes().replace(b'"format":3', b'"format":99')
    with pytest.raises(ValueError, match="format 99"):
        CustomerState.from_bytes(blob)


def test_the_events_kept_bound_the_horizon_however_long_the_lateness(events):
    config = FeatureConfig(
        lateness=timedelta(days=30), max_buffered_events=3, max_recent_event_ids=1
    )
    state, _ = apply_all([events.limit("1000", day(n)) for n in range(1, 6)], config=config)

    # Five events kept, more than 3 + 1: the horizon is the third newest, day 3.
    with pytest.raises(InvalidEvent) as raised:
        state.apply(events.limit("2000", day(2) + timedelta(hours=1)), config)
    assert raised.value.code == "too_late"
    assert state.apply(events.limit("2000", day(3) + timedelta(hours=1)), config) == []
