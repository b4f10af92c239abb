"""``riskstream generate``: a deterministic, streamed synthetic history with a mix of payers."""

from collections import Counter, defaultdict
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from itertools import islice

import orjson
import pytest
from typer.testing import CliRunner

from features.industry import NO_INDUSTRY
from schemas.validation import parse_event
from streams.cli.commands import app
from streams.cli.generate import (
    B2B,
    Calendar,
    Customer,
    generate_events,
    generate_history,
    month_end,
    order_growth,
)

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


def test_a_b2b_calendar_has_month_end_due_dates_payment_runs_and_part_payments():
    history, people = generate_history(200, 365, END, seed=3, calendar=B2B)
    events = list(history)
    invoices = {e.invoice_id: e for e in events if e.type == "invoice.issued"}
    assert all(month_end(i.due_date) == i.due_date for i in invoices.values())
    runs = {person.id: person.run for person in people}
    assert {run[0] for run in runs.values() if run} == {"weekly", "monthly"}
    paid: dict[str, list] = defaultdict(list)
    for e in events:
        if e.type == "payment.received":
            kind, which = runs[e.customer_id]
            moment = e.event_time
            assert moment.time() == time(10, 0)
            assert (moment.weekday() if kind == "weekly" else moment.day) == which
            paid[e.invoice_id].append(e)
    in_parts = [payments for payments in paid.values() if len(payments) == 2]
    assert 0.05 < len(in_parts) / len(paid) < 0.15
    for first, rest in in_parts:
        assert first.event_time < rest.event_time
        assert first.amount.amount + rest.amount.amount == invoices[first.invoice_id].amount.amount
    by_due: Counter = Counter(i.due_date for i in invoices.values())
    assert len(by_due) <= 13 + 3  # a block of invoices falls due at each month end


def test_on_time_payers_pay_in_the_run_before_the_due_date():
    history, people = generate_history(200, 365, END, seed=3, calendar=B2B)
    punctual = {person.id for person in people if person.behaviour == "punctual"}
    events = list(history)
    due = {e.invoice_id: e.due_date for e in events if e.type == "invoice.issued"}
    days_late = [
        (e.event_time.date() - due[e.invoice_id]).days
        for e in events
        if e.type == "payment.received" and e.customer_id in punctual
    ]
    assert sum(days <= 0 for days in days_late) / len(days_late) > 0.8


def test_the_season_sets_how_much_ordering_swings():
    flat = generate_events(200, 730, END, seed=2, calendar=Calendar(season=0.0))
    months = Counter(e.event_time.month for e in flat if e.type == "order.placed")
    assert months[11] + months[12] < 1.2 * (months[6] + months[7])


def test_the_truth_file_names_who_deteriorates_from_when_and_who_stops_paying(tmp_path):
    result = generate("--customers", 200, "--days", 365, "--end", "2026-06-01", "--seed", 1,
                      "--end-of-month", "--payment-runs", "weekly", "--output",
                      tmp_path / "h.jsonl", "--truth", tmp_path / "truth.jsonl")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    truth = [orjson.loads(line) for line in (tmp_path / "truth.jsonl").read_bytes().splitlines()]
    assert [t["customer_id"] for t in truth] == [f"cust-{n:05d}" for n in range(200)]
    worse = {t["customer_id"]: t for t in truth if t["deteriorates_from"] is not None}
    assert worse and all(worse[c]["behaviour"] == "deteriorating" for c in worse)
    stopped = {t["customer_id"]: t for t in truth if t["stops_paying_from"] is not None}
    assert stopped and set(stopped) <= set(worse)
    events = [parse_event(line) for line in (tmp_path / "h.jsonl").read_bytes().splitlines()]
    paid = {e.invoice_id for e in events if e.type == "payment.received"}
    for customer_id, t in stopped.items():
        assert t["stops_paying_from"] > t["deteriorates_from"]
        stops = datetime.fromisoformat(t["stops_paying_from"])
        first_unpaid = [e for e in events if e.type == "invoice.issued"
                        and e.customer_id == customer_id and e.event_time == stops]  # fmt: skip
        assert len(first_unpaid) == 1 and first_unpaid[0].invoice_id not in paid
        assert t["first_unpaid_due"] == first_unpaid[0].due_date.isoformat()
    assert all(t["first_unpaid_due"] is None for t in truth if t["stops_paying_from"] is None)
    assert all(t["payment_run"].startswith("weekly:") for t in truth)


def test_a_bad_calendar_gets_one_line():
    result = generate("--payment-runs", "daily")
    assert result.exit_code == 2 and "--payment-runs" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_credit_reports_come_only_when_asked_and_leave_the_rest_as_it_was(tmp_path):
    plain, reported = tmp_path / "plain.jsonl", tmp_path / "reported.jsonl"
    for path, flags in ((plain, ()), (reported, ("--credit-reports",))):
        result = generate("--customers", 10, "--days", 120, "--end", "2026-06-01",
                          "--output", path, *flags)  # fmt: skip
        assert result.exit_code == 0, result.stderr
    lines = reported.read_bytes().splitlines(keepends=True)
    reports = [line for line in lines if b'"customer.credit_report"' in line]
    assert b'"customer.credit_report"' not in plain.read_bytes()
    assert b"".join(line for line in lines if line not in reports) == plain.read_bytes()
    assert len(reports) == 10 * 4  # monthly, each customer from a day of its first month
    assert all(parse_event(line).as_of < parse_event(line).event_time.date() for line in reports)


def test_a_deteriorating_customers_bureau_score_falls_weeks_before_it_turns():
    history, people = generate_history(60, 365, END, credit_reports=True)
    scores = defaultdict(list)
    for event in history:
        if event.type == "customer.credit_report":
            scores[event.customer_id].append((event.event_time, event.score))
    falling = [person for person in people if person.behaviour == "deteriorating"]
    assert falling
    for person in falling:
        before = [score for moment, score in scores[person.id] if moment < person.onset]
        early = [s for m, s in scores[person.id] if m < person.onset - timedelta(weeks=6)]
        assert min(before) < min(early) - 10, person.id  # fell before its payments did
    steady = [scores[p.id] for p in people if p.behaviour == "punctual"]
    assert all(max(s for _, s in row) - min(s for _, s in row) <= 7 for row in steady)


def test_a_bureau_rates_on_the_built_in_scale_falling_only_for_deteriorating_customers():
    history, people = generate_history(60, 365, END, credit_reports=True)
    steps = defaultdict(list)  # each customer's ratings as steps down the built-in scale
    for event in history:
        if event.type == "customer.credit_report":
            steps[event.customer_id].append(
                NO_INDUSTRY.rating_scales[event.source].index(event.rating)
            )
    for person in people:
        ratings = steps[person.id]
        if person.behaviour == "deteriorating":
            assert ratings == sorted(ratings) and ratings[-1] > ratings[0], person.id
        else:
            assert len(set(ratings)) == 1, person.id
