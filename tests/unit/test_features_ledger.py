"""The exposure ledger and payment behaviour, scenario by scenario, with hand-worked figures."""

import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import pytest
from test_features_support import CONFIG, Events, apply_all, day, due, kinds

from features import CustomerState, FeatureConfig
from features.catalog import model_features
from features.eventtime import to_micros


@pytest.fixture
def events() -> Events:
    return Events()


def test_partial_payments_leave_the_rest_open_until_paid(events):
    invoice = events.invoice("i1", "1000.00", due(30), day(0))
    first = events.payment("p1", "400.00", day(10), invoice_id="i1")
    state, fired = apply_all([invoice, first])
    features = state.features(day(10))
    assert (features.open_balance, features.exposure) == (Decimal("600.00"), Decimal("600.00"))
    assert kinds(fired) == ["invoice_issued"]

    fired = state.apply(events.payment("p2", "600.00", day(20), invoice_id="i1"), CONFIG)
    assert kinds(fired) == ["invoice_settled"]
    # Due 31 January, paid 21 January: 10 days early, on time; early counts as 0 days late.
    assert fired[0].details["days_late"] == -10
    assert fired[0].details["late"] is False
    features = state.features(day(20))
    assert features.open_balance == 0
    assert (features.on_time_share, features.avg_days_late) == (1.0, 0.0)


def test_overpayment_becomes_credit_that_pays_the_next_invoice(events):
    state, _ = apply_all(
        [events.invoice("i1", "500", due(30), day(0)), events.payment("p1", "700", day(5))]
    )
    features = state.features(day(5))
    assert (features.unapplied_credit, features.exposure) == (Decimal(200), Decimal(-200))

    fired = state.apply(events.invoice("i2", "150", due(40), day(10)), CONFIG)
    assert kinds(fired) == ["invoice_issued", "invoice_settled"]
    features = state.features(day(10))
    assert (features.unapplied_credit, features.open_balance) == (Decimal(50), 0)
    assert features.exposure == Decimal(-50)


def test_a_payment_naming_no_invoice_pays_the_oldest_first(events):
    invoices = [
        events.invoice("a", "100", due(30), day(0)),
        events.invoice("b", "200", due(30), day(1)),
        events.invoice("c", "300", due(30), day(2)),
    ]
    state, _ = apply_all(invoices)
    fired = state.apply(events.payment("p1", "250", day(5)), CONFIG)
    # 250 pays a (100) in full and 150 of b; c is untouched.
    assert [t.details["invoice_id"] for t in fired if t.kind == "invoice_settled"] == ["a"]
    features = state.features(day(5))
    assert (features.open_invoice_count, features.open_balance) == (2, Decimal(350))


def test_a_named_payment_pays_its_invoice_first_then_the_oldest(events):
    state, _ = apply_all(
        [
            events.invoice("a", "100", due(30), day(0)),
            events.invoice("b", "200", due(30), day(1)),
            events.invoice("c", "300", due(30), day(2)),
        ]
    )
    fired = state.apply(events.payment("p1", "450", day(5), invoice_id="c"), CONFIG)
    # 300 settles c, the 150 left settles a (100) and pays 50 of b.
    assert [t.details["invoice_id"] for t in fired] == ["c", "a"]
    assert state.features(day(5)).open_balance == Decimal(150)


def test_a_payment_arriving_late_leaves_the_settlement_to_the_payment_that_paid_the_last_unit(
    events,
):
    invoice = events.invoice("i1", "1000", due(30), day(0))
    later = events.payment("p2", "800", day(12), invoice_id="i1")
    state, fired = apply_all([invoice, later])
    assert state.features(day(12)).open_balance == Decimal(200)

    # Dated before p2: its 200 pays first, and p2's 800 pays the last unit on day 12.
    earlier = day(12) - timedelta(hours=6)
    fired = state.apply(events.payment("p1", "200", earlier, invoice_id="i1"), CONFIG)
    assert kinds(fired) == ["invoice_settled"]
    assert fired[0].source_event_id == later.event_id
    assert fired[0].details["days_late"] == -18


def test_a_payment_waiting_for_its_invoice_pays_it_once_issued_if_dated_after_it(events):
    state, _ = apply_all([events.payment("p1", "300", day(5), invoice_id="i1")])
    assert state.features(day(5)).unapplied_credit == Decimal(300)  # i1 not seen yet

    fired = state.apply(events.invoice("i1", "300", due(30), day(4) + timedelta(hours=12)), CONFIG)
    assert kinds(fired) == ["invoice_issued", "invoice_settled"]
    features = state.features(day(5))
    assert (features.unapplied_credit, features.open_balance) == (0, 0)


def test_a_payment_dated_before_the_invoice_it_names_waits_and_pays_it_when_issued(events):
    older = events.invoice("i1", "100", due(30), day(0))
    prepaid = events.payment("p1", "100", day(1), invoice_id="i2")
    state, _ = apply_all([older, prepaid, events.invoice("i3", "50", due(30), day(2))])
    features = state.features(day(2))
    assert (features.unapplied_credit, features.open_balance) == (Decimal(100), Decimal(150))

    # Issued after the payment's date, arriving last: the payment pays it as it is issued.
    issue = events.invoice("i2", "100", due(30), day(1) + timedelta(hours=6))
    fired = state.apply(issue, CONFIG)
    assert [(t.kind, t.details["invoice_id"]) for t in fired] == [
        ("invoice_issued", "i2"),
        ("invoice_settled", "i2"),
    ]
    assert fired[1].source_event_id == issue.event_id
    features = state.features(day(2))
    assert (features.unapplied_credit, features.open_balance) == (0, Decimal(150))


def test_a_payment_naming_no_invoice_arriving_late_pays_what_owed_at_its_date(events):
    state, _ = apply_all(
        [
            events.invoice("i1", "100", due(30), day(0)),
            events.invoice("i2", "50", due(30), day(0) + timedelta(hours=12)),
            events.invoice("i3", "100", due(30), day(2)),
        ]
    )
    # Dated before i3 was issued: it pays i1, then 20 of i2, and never reaches i3.
    fired = state.apply(events.payment("p1", "120", day(1) + timedelta(hours=1)), CONFIG)
    assert [(t.kind, t.details["invoice_id"]) for t in fired] == [("invoice_settled", "i1")]
    features = state.features(day(2))
    assert (features.open_balance, features.unapplied_credit) == (Decimal(130), 0)


def test_a_bounced_payment_reopens_what_it_settled(events):
    state, _ = apply_all(
        [
            events.invoice("i1", "1000", due(30), day(0)),
            events.payment("p1", "1000", day(20), invoice_id="i1"),
        ]
    )
    assert state.features(day(20)).settled_invoice_count == 1

    fired = state.apply(events.reversal("p1", day(22)), CONFIG)
    assert kinds(fired) == ["payment_bounced"]
    assert fired[0].details == {"payment_id": "p1", "amount": "1000.00", "currency": "EUR"}
    features = state.features(day(22))
    assert (features.open_balance, features.open_invoice_count) == (Decimal(1000), 1)
    assert (features.bounced_payments, features.settled_invoice_count) == (1, 0)
    assert features.avg_days_late is None

    # Still open when its due date passes; paid again 5 days late: a new settlement.
    fired = state.apply(events.payment("p2", "1000", day(35), invoice_id="i1"), CONFIG)
    assert kinds(fired) == ["invoice_overdue", "invoice_settled"]
    assert fired[1].details["days_late"] == 5
    assert state.features(day(35)).avg_days_late == 5.0


def test_a_bounce_reopens_what_it_paid_of_an_invoice_cancelled_since(events):
    state, fired = apply_all(
        [
            events.invoice("i1", "1000", due(30), day(0)),
            events.payment("p1", "400", day(5), invoice_id="i1"),
            events.cancel_invoice("i1", day(6)),
            events.reversal("p1", day(7), reason="reversed"),
        ]
    )
    assert kinds(fired) == ["invoice_issued", "invoice_cancelled", "payment_reversed"]
    assert fired[1].details["amount"] == "600.00"
    # Cancelled 600, the 400 paid came back: 400 is owed again.
    features = state.features(day(7))
    assert (features.open_balance, features.bounced_payments) == (Decimal(400), 0)


def test_an_invoice_paid_when_cancelled_turns_overdue_once_its_payments_bounce_in_any_order(
    events,
):
    """The cancellation shut nothing (the invoice was paid then): once its payments bounce it
    is owed, and turns overdue at its deadline with what is owed, whether the last bounce
    arrives before the payment that settles it again or after it."""
    in_order = [
        events.payment("p1", "40", day(0)),
        events.invoice("i1", "40", due(30), day(0, 1)),
        events.cancel_invoice("i1", day(9)),
        events.payment("p2", "40", day(18), invoice_id="i1"),
        events.reversal("p1", day(18, 1)),
        events.reversal("p2", day(36)),
        events.payment("p3", "40", day(36, 1), invoice_id="i1"),
    ]
    late_bounce = [*in_order[:5], in_order[6], in_order[5]]
    overdue = []
    for stream in (in_order, late_bounce):
        _, fired = apply_all(stream)
        overdue += [t for t in fired if t.kind == "invoice_overdue"]
    assert len(overdue) == 2 and overdue[0] == overdue[1]
    assert (overdue[0].details["open_balance"], overdue[0].details["days_past_due"]) == (
        "40.00", 1,
    )  # fmt: skip


def test_an_invoice_partly_cancelled_then_reopened_by_a_bounce_is_overdue_by_what_it_owes(
    events,
):
    """60 of it cancelled, the 40 paid bounces before its due date: 40 is overdue, and the
    payment that settles it after its due date does not hide that if the bounce comes last."""
    in_order = [
        events.payment("p1", "40", day(0)),
        events.invoice("i1", "100", due(0), day(0, 1)),
        events.cancel_invoice("i1", day(0, 2)),
        events.reversal("p1", day(0, 20)),
        events.payment("p2", "40", day(1, 16), invoice_id="i1"),
        events.order("o1", "10", day(1, 18)),
    ]
    late_bounce = [*in_order[:3], *in_order[4:], in_order[3]]
    overdue = []
    for stream in (in_order, late_bounce):
        _, fired = apply_all(stream)
        overdue += [t for t in fired if t.kind == "invoice_overdue"]
    assert len(overdue) == 2 and overdue[0] == overdue[1]
    assert overdue[0].details["open_balance"] == "40.00"


def test_a_credit_of_its_own_cannot_reopen_what_it_paid_so_a_state_read_back_forgets_alike(
    events,
):
    """A credit note on an invoice cancelled before it is a credit of its own; it cannot be
    reversed, so the invoice it paid and then a cancellation closed may not owe again: a
    cancellation said of it later is forgotten, and the invoice with it once the horizon
    passes, by a state kept in memory as by one read back from its bytes after every event."""
    stream = [
        events.invoice("i1", "40", due(0), day(0)),
        events.cancel_invoice("i1", day(0, 1)),
        events.resolve("i1", "upheld", day(0, 2), credited="30"),
        events.invoice("i2", "40", due(0), day(0, 20)),
        events.cancel_invoice("i2", day(0, 21)),
        events.cancel_invoice("i2", day(1, 16)),
        events.order("o1", "40", day(1, 17)),
    ]
    kept, read_back = kept_and_read_back(stream)
    assert kept.to_bytes() == read_back.to_bytes()
    assert "i2" not in kept.ledger.invoices


def test_what_was_said_after_a_close_is_kept_while_an_earlier_event_can_still_move_it(events):
    """Cancelled, then cancelled again: the second changes nothing, but a payment dated before
    the first that arrives last settles the invoice before it, and the second cancellation
    then comes while that payment can still bounce. A state read back from its bytes after
    every event keeps what a state kept in memory does."""
    stream = [
        events.invoice("i1", "40", due(0), day(0)),
        events.cancel_invoice("i1", day(0, 2)),
        events.cancel_invoice("i1", day(0, 3)),
        events.payment("p1", "40", day(0, 1), invoice_id="i1"),
        events.order("o1", "40", day(0, 4)),
    ]
    kept, read_back = kept_and_read_back(stream)
    assert kept.to_bytes() == read_back.to_bytes()
    assert len(read_back.ledger.invoices["i1"].closings) == 2


def test_an_order_never_placed_is_forgotten_when_its_first_invoice_passes_the_horizon(events):
    """An order billed by an invoice but never placed closes with that invoice; once the
    horizon passes it, a second invoice naming it bills nothing of it, and its placement is
    old news, whether or not the state tidied since: a state kept in memory (that tidies
    weekly) forgets it as one read back from its bytes after every event does."""
    stream = [
        events.order("o0", "40", day(1)),  # the state tidied then, and not again this week
        events.invoice("i1", "40", due(30), day(1, 1), order_id="o1"),
        events.order("o2", "40", day(2)),  # the horizon passes the first invoice
        events.invoice("i2", "40", due(30), day(2, 1), order_id="o1"),
        events.order("o1", "40", day(1, 13)),
    ]
    kept, read_back = kept_and_read_back(stream)
    assert kept.to_bytes() == read_back.to_bytes()
    assert "o1" not in read_back.ledger.orders
    assert read_back.ledger.closed_orders["o1"] == to_micros(day(1, 1))
    assert kept.features(day(2, 1)) == read_back.features(day(2, 1))
    assert kept.features(day(2, 1)).open_order_count == 2  # o0 and o2, not o1


def kept_and_read_back(stream: list) -> tuple[CustomerState, CustomerState]:
    """Two states after ``stream`` (lateness 12 hours): one kept in memory, one read back from
    its bytes after every event, as a worker's table holds it; each event fires the same."""
    config = FeatureConfig(max_closed_ids=64, lateness=timedelta(hours=12))
    kept, read_back = CustomerState.new("c1"), CustomerState.new("c1")
    for event in stream:
        assert kept.apply(event, config) == read_back.apply(event, config)
        read_back = CustomerState.from_bytes(read_back.to_bytes())
    return kept, read_back


def test_write_off_and_cancellations_close_balances_and_orders(events):
    state, fired = apply_all(
        [
            events.order("o1", "300", day(0)),
            events.invoice("i1", "500", due(30), day(1)),
            events.payment("p1", "200", day(2), invoice_id="i1"),
        ]
    )
    assert state.features(day(2)).exposure == Decimal(600)  # 300 ordered + 300 open

    fired = state.apply(events.write_off("i1", day(3)), CONFIG)
    assert kinds(fired) == ["invoice_written_off"]
    assert fired[0].details["amount"] == "300.00"
    state.apply(events.cancel_order("o1", day(4)), CONFIG)
    features = state.features(day(4))
    assert (features.exposure, features.open_order_count, features.open_invoice_count) == (0, 0, 0)


def test_an_invoice_consumes_the_order_it_bills(events):
    state, _ = apply_all(
        [
            events.order("o1", "1000", day(0)),
            events.invoice("i1", "400", due(30), day(1), order_id="o1"),
        ]
    )
    features = state.features(day(1))
    # 600 of the order is not invoiced yet, 400 is owed on the invoice.
    assert (features.open_order_amount, features.open_balance) == (Decimal(600), Decimal(400))
    assert features.exposure == Decimal(1000)


def test_disputes_count_and_resolve_with_or_without_credit(events):
    state, fired = apply_all(
        [
            events.invoice("i1", "1000", due(30), day(0)),
            events.invoice("i2", "500", due(30), day(0)),
            events.dispute("i1", day(2), amount="300"),
            events.dispute("i2", day(2)),
        ]
    )
    assert kinds(fired)[2:] == ["dispute_opened", "dispute_opened"]
    features = state.features(day(2))
    assert (features.disputed_balance, features.dispute_rate) == (Decimal(800), 1.0)

    state.apply(events.resolve("i1", "upheld", day(5)), CONFIG)  # credits the 300 disputed
    state.apply(events.resolve("i2", "rejected", day(5)), CONFIG)  # the debt stands
    features = state.features(day(5))
    assert (features.open_balance, features.disputed_balance) == (Decimal(1200), 0)
    assert features.dispute_rate == 1.0


def test_an_upheld_dispute_can_credit_more_than_is_open(events):
    state, _ = apply_all(
        [events.invoice("i1", "1000", due(30), day(0)), events.dispute("i1", day(1))]
    )
    fired = state.apply(events.resolve("i1", "upheld", day(3), credited="1200"), CONFIG)
    assert kinds(fired) == ["invoice_settled"]
    assert state.features(day(3)).unapplied_credit == Decimal(200)


def test_aging_buckets_at_their_boundaries(events):
    # Due n days after 1 January, seen on day 100: n days before is 100 - n days past due.
    amounts = {100: "1", 99: "2", 70: "4", 69: "8", 40: "16", 39: "32", 10: "64", 9: "128"}
    state, _ = apply_all(
        [events.invoice(f"i{n}", amount, due(n), day(0)) for n, amount in amounts.items()]
    )
    aging = state.features(day(100, hours=12)).aging
    assert aging.current == 1  # 0 days past due
    assert aging.days_1_30 == 2 + 4  # 1 and 30 days
    assert aging.days_31_60 == 8 + 16  # 31 and 60 days
    assert aging.days_61_90 == 32 + 64  # 61 and 90 days
    assert aging.over_90 == 128  # 91 days
    assert (aging.days_past_due, aging.overdue_balance, aging.overdue_count) == (91, 254, 7)

    graced = state.features(day(100, hours=12), FeatureConfig(overdue_grace=day(5) - day(0)))
    assert graced.overdue_balance == 254 - 2  # 1 day past due is within 5 days of grace


def test_limit_exceeded_fires_on_crossing_and_again_only_after_going_back_under(events):
    state, fired = apply_all(
        [
            events.limit("1000", day(0)),
            events.order("o1", "600", day(1)),
            events.order("o2", "500", day(2)),  # 1100: crosses
            events.order("o3", "100", day(3)),  # 1200: still over, no repeat
        ]
    )
    assert kinds(fired) == ["limit_exceeded"]
    assert fired[0].details == {"exposure": "1100.00", "credit_limit": "1000.00", "currency": "EUR"}
    assert state.features(day(3)).limit_use == 1.2

    assert state.apply(events.cancel_order("o2", day(4)), CONFIG) == []  # 700: back under
    fired = state.apply(events.order("o4", "400", day(5)), CONFIG)  # 1100: crosses again
    assert kinds(fired) == ["limit_exceeded"]
    fired = state.apply(events.limit("1500", day(6)), CONFIG)
    fired += state.apply(events.limit("1000", day(7)), CONFIG)  # a lower limit crosses too
    assert kinds(fired) == ["limit_exceeded"]


def test_payment_behaviour_over_time(events):
    stream = [
        events.invoice("i1", "1000", due(30), day(0)),
        events.invoice("i2", "1000", due(60), day(30)),
        events.payment("p1", "1000", day(40), invoice_id="i1"),  # 10 days late
        events.payment("p2", "1000", day(55), invoice_id="i2"),  # 5 days early
        events.invoice("i3", "1000", due(100), day(70)),
    ]
    state, _ = apply_all(stream)
    features = state.features(day(70))
    assert (features.on_time_share, features.late_payments_90d) == (0.5, 1)
    # 1000 open of 3000 invoiced in the last 90 days: 30 days of sales outstanding.
    assert features.dso == 30.0
    # The 0 (early) is 15 days newer than the 10: weight 2^(15/90) against 1.
    newer = 2 ** (15 / 90)
    assert features.avg_days_late == pytest.approx(10 / (1 + newer))
    assert features.payment_gap_stats.mean == 15.0
    assert state.features(day(131)).late_payments_90d == 0  # paid late 91 days before


def test_the_state_never_keeps_personal_data(events):
    profile = events.profile(day(0), name="Ada Lovelace", email="ada@example.com", country="GB")
    state, _ = apply_all([profile, events.order("o1", "10", day(1))])
    blob = state.to_bytes()
    assert b"Ada" not in blob and b"example.com" not in blob
    assert state.features(day(1)).country == "GB"


def test_ledger_totals_balance_after_every_kind_of_event(events):
    state, fired = apply_all(
        [
            events.invoice("i1", "1000", due(30), day(0)),
            events.invoice("i2", "250.50", due(30), day(0)),
            events.payment("p1", "1100", day(1)),
            events.dispute("i2", day(2)),
            events.resolve("i2", "upheld", day(3), credited="50.25"),
            events.reversal("p1", day(4)),
            events.write_off("i2", day(5)),
            events.payment("p2", "2000", day(6)),
        ]
    )
    # Invoiced 1250.50; credited 50.25 and written off 200.25 of i2; paid 2000 (1100
    # reversed): 1000 of it pays i1, 1000 is left.
    (written_off,) = [t for t in fired if t.kind == "invoice_written_off"]
    assert written_off.details["amount"] == "200.25"
    features = state.features(day(6))
    assert (features.open_balance, features.unapplied_credit) == (0, Decimal(1000))


def test_a_new_state_has_no_features_worth_mentioning():
    features = CustomerState.new("c1").features(day(0))
    assert (features.exposure, features.limit_use, features.days_past_due) == (0, None, 0)
    assert all(isinstance(value, float) for value in model_features(features).values())


ONE_PAYMENT_SETTLING_TWO = """
from test_features_support import Events, apply_all, day, due
events = Events()
history = [
    events.invoice("i1", "100", due(30), day(0)),
    events.invoice("i2", "100", due(30), day(1)),
    events.payment("p1", "100", day(2), "i1"),
    events.payment("p2", "40", day(3), "i2"),
    events.invoice("i3", "100", due(90), day(60)),  # i1 and p1 are forgotten by then
    events.payment("p3", "160", day(61)),  # settles i2 and i3
]
print([t.details["invoice_id"] for t in apply_all(history)[1] if t.kind == "invoice_settled"])
"""


def test_one_event_settling_several_invoices_fires_them_in_one_order_whatever_the_hash_seed():
    """The settlements of one event come in the order the money reached the invoices, the
    same in every process (string hashing, and so set order, differs from one to another)."""
    outputs = set()
    for seed in range(6):
        done = subprocess.run(
            [sys.executable, "-c", ONE_PAYMENT_SETTLING_TWO],
            capture_output=True, check=True, text=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed),
                 "PYTHONPATH": os.pathsep.join(sys.path)},
        )  # fmt: skip
        outputs.add(done.stdout)
    assert outputs == {"['i1', 'i2', 'i3']\n"}
