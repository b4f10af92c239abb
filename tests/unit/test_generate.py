"""``riskstream generate``: a deterministic, streamed synthetic history with a mix of payers."""

from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from itertools import islice

import pytest
from typer.testing import CliRunner

from schemas.validation import parse_event
from streams.cli.commands import app
from streams.cli.generate import Customer, generate_events, order_growth

END = datetime(2026, 6, 1, tzinfo=UTC)


def generate(*args: str):
    return CliRunner().invoke(app, ["generate", *map(str, args)])


def test_the_same_seed_gives_the_same_bytes_and_another_seed_another_history(tmp_path):
    runs = {}
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        result = generate("--customers", 20, "--days", 90, "--end", "2026-06-01", "--seed", seed,
                          "--output", tmp_path / f"{name}.jsonl")  # fmt: skip
        assert result.exit_code == 0, result.stderr
        runs[name] = (tmp_path / f"{name}.jsonl").read_bytes()
    assert runs["a"] == runs["b"] and runs["a"] != runs["c"]


def test_every_line_is_a_valid_event_in_event_time_order_and_the_count_is_capped():
    result = generate("--customers", 30, "--days", 365, "--end", "2026-06-01", "--events", 500)
    assert result.exit_code == 0, result.stderr
    events = [parse_event(line) for line in result.stdout_bytes.splitlines()]
    assert len(events) == 500
    keys = [(event.event_time, event.event_id) for event in events]
    assert keys == sorted(keys)
    assert len({event.event_id for event in events}) == 500


def test_customers_have_segments_limits_terms_and_mostly_pay_on_time():
    events = list(generate_events(customers=300, days=365, end=END, seed=1))
    profiles = {e.customer_id: e.segment for e in events if e.type == "customer.profile"}
    assert set(Counter(profiles.values())) == {"retail", "wholesale", "enterprise"}
    assert Counter(profiles.values()).most_common(1)[0][0] == "retail"
    assert len({e.customer_id for e in events if e.type == "customer.credit_limit"}) == 300
    assert len({e.terms_days for e in events if e.type == "customer.payment_terms"}) >= 4
    due = {e.invoice_id: e.due_date for e in events if e.type == "invoice.issued"}
    days_late = [
        (e.event_time.date() - due[e.invoice_id]).days
        for e in events
        if e.type == "payment.received"
    ]
    late_share = sum(days > 0 for days in days_late) / len(days_late)
    assert 0.05 < late_share < 0.35
    assert sum(e.type == "payment.reversed" for e in events) > 0
    paid = {e.invoice_id for e in events if e.type == "payment.received"}
    long_unpaid = [i for i, d in due.items() if i not in paid and (END.date() - d).days > 90]
    assert long_unpaid, "some deteriorating customers never pay"


def test_deteriorating_customers_pay_later_week_after_week():
    customers = [Customer(number, 1, "EUR") for number in range(300)]
    worse = {c.id for c in customers if c.behaviour == "deteriorating"}
    assert worse
    events = list(generate_events(customers=300, days=365, end=END, seed=1))
    due = {e.invoice_id: e.due_date for e in events if e.type == "invoice.issued"}
    lateness: dict[str, list[int]] = defaultdict(list)
    for e in events:
        if e.type == "payment.received" and e.customer_id in worse:
            lateness[e.customer_id].append((e.event_time.date() - due[e.invoice_id]).days)
    first = [days[: len(days) // 3] for days in lateness.values() if len(days) >= 6]
    last = [days[-(len(days) // 3) :] for days in lateness.values() if len(days) >= 6]
    assert sum(map(sum, last)) / sum(map(len, last)) > 10 + sum(map(sum, first)) / sum(
        map(len, first)
    )


def test_orders_follow_the_seasons():
    events = generate_events(customers=200, days=730, end=END, seed=2)
    months = Counter(e.event_time.month for e in events if e.type == "order.placed")
    assert months[11] + months[12] > 1.5 * (months[6] + months[7])


def test_the_history_is_streamed_not_built_in_memory_first():
    """A century of history: its first events come at once, as nothing is generated ahead."""
    end = datetime(2099, 12, 31, tzinfo=UTC)  # event times start in 1970
    first = list(islice(generate_events(customers=5, days=36_500, end=end), 20))
    assert len(first) == 20 and first[-1].event_time.year < 2003


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (
            ("--end", "soon"),
            "--end: must be a valid datetime or date, input is too short (got soon)",
        ),
        (("--output", "x.jsonl", "--to-topics"), "give one of them"),
        (("--output", "no/such/folder/x.jsonl"), "cannot write no/such/folder/x.jsonl"),
    ],
)
def test_bad_arguments_get_one_line(args, complaint):
    result = generate(*args)
    assert result.exit_code == 2
    assert complaint in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_deteriorating_customers_order_growth_is_exact():
    """Money never goes through a float: 1 + 14 / 7 / 20 as a float is 1.1000000000000000888."""
    assert [order_growth(days) for days in (0, 7, 14, 70, 140)] == [
        Decimal("1"), Decimal("1.05"), Decimal("1.1"), Decimal("1.5"), Decimal("2"),
    ]  # fmt: skip
