"""Throughput of the feature engine, and the size of a customer's state.

    python tests/bench/bench_features.py --events 200000 --customers 1000

Makes a realistic synthetic stream, deterministic for ``--seed``: customers with a credit
limit and payment terms place orders that are invoiced a few hours later; most invoices are
paid on time, some late, some in two parts, a few payments bounce and are paid again, a few
invoices are disputed. A small share of the events arrives out of order (within the
lateness). The stream is fed through ``CustomerState.apply``, one state per customer, first
as it is (the pure feature update), then writing the state's bytes after each event (states
kept in memory, bytes to a changelog), then with the ``from_bytes``/``to_bytes`` round trip per
event that a Faust table over RocksDB does; last, the pure update again with the events in
the order a worker catching up on a backlog reads them (each family of events, an input topic,
in runs of 500 events in turn, and a lateness that takes them all). Prints events/s (median of
``--repeat`` runs, in
CPU time of the process, which other processes on a shared machine disturb less than the wall
clock) and the bytes of state per customer, the time of one ``from_bytes`` plus ``to_bytes``
of a stored state, then as its last line one JSON object of the headline figures.
``--profile`` prints where the pure update spends its time instead.
"""

import argparse
import cProfile
import gc
import json
import pstats
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

from features import CustomerState, FeatureConfig
from schemas import (
    CreditLimitUpdated,
    CustomerProfile,
    InputEvent,
    InvoiceDisputed,
    InvoiceIssued,
    Money,
    OrderPlaced,
    PaymentReceived,
    PaymentReversed,
)

START = datetime(2025, 1, 1, tzinfo=UTC)
CONFIG = FeatureConfig()
CATCH_UP = FeatureConfig(lateness=timedelta(days=365))
"""A lateness long enough for any event of a catch-up to be put in its place."""


def customer_events(customer_id: str, count: int, rng: random.Random) -> list[InputEvent]:
    """About ``count`` events of one customer, in event-time order."""
    ids = iter(range(10**9))
    terms = rng.choice([14, 30, 30, 45, 60])
    late_payer = rng.random() < 0.25
    size = rng.choice([200, 1_000, 5_000])

    def common(at: datetime) -> dict:
        return {"event_id": f"{customer_id}-e{next(ids)}", "customer_id": customer_id,
                "event_time": at}  # fmt: skip

    def money(amount: Decimal) -> Money:
        return Money(amount=amount, currency="EUR")

    now = START + timedelta(hours=rng.uniform(0, 240))
    events: list[InputEvent] = [
        CustomerProfile(country="DE", segment=rng.choice(["retail", "wholesale"]),
                        currency="EUR", name="never kept", **common(now)),
        CreditLimitUpdated(credit_limit=money(Decimal(size * 20)), **common(now)),
    ]  # fmt: skip
    number = 0
    while len(events) < count:
        number += 1
        now += timedelta(hours=rng.expovariate(1 / 60))
        amount = Decimal(rng.lognormvariate(0, 0.6) * size).quantize(Decimal("0.01"))
        order_id, invoice_id = f"{customer_id}-o{number}", f"{customer_id}-i{number}"
        issued = now + timedelta(hours=rng.uniform(1, 30))
        due = (issued + timedelta(days=terms)).date()
        events.append(OrderPlaced(order_id=order_id, amount=money(amount), **common(now)))
        events.append(
            InvoiceIssued(invoice_id=invoice_id, order_id=order_id, amount=money(amount),
                          due_date=due, **common(issued))
        )  # fmt: skip
        if rng.random() < 0.03:
            events.append(
                InvoiceDisputed(invoice_id=invoice_id, **common(issued + timedelta(days=2)))
            )
        late = (late_payer and rng.random() < 0.5) or rng.random() < 0.08
        days = rng.uniform(1, 45) if late else -rng.uniform(0, terms * 0.8)
        paid = datetime.combine(due, datetime.min.time(), UTC) + timedelta(days=days)
        paid = max(paid, issued + timedelta(hours=1))
        payment_id = f"{customer_id}-p{number}"
        if rng.random() < 0.1:
            part = (amount / 3).quantize(Decimal("0.01"))
            events.append(
                PaymentReceived(payment_id=payment_id + "a", invoice_id=invoice_id,
                                amount=money(part), **common(paid - timedelta(days=7)))
            )  # fmt: skip
            amount -= part
        named = invoice_id if rng.random() < 0.9 else None
        events.append(
            PaymentReceived(payment_id=payment_id, invoice_id=named, amount=money(amount),
                            **common(paid))
        )  # fmt: skip
        if rng.random() < 0.02:
            bounced = paid + timedelta(days=rng.uniform(1, 5))
            events.append(PaymentReversed(payment_id=payment_id, **common(bounced)))
            events.append(
                PaymentReceived(payment_id=payment_id + "b", invoice_id=invoice_id,
                                amount=money(amount), **common(bounced + timedelta(days=3)))
            )  # fmt: skip
    return sorted(events, key=lambda event: event.event_time)


def synthetic_stream(events: int, customers: int, seed: int, disorder: float) -> list[InputEvent]:
    """All customers' events, merged by event time; ``disorder`` of them delayed by up to
    half a day (within the lateness), as a broker merging several topics would."""
    rng = random.Random(seed)
    stream = [
        event
        for number in range(customers)
        for event in customer_events(f"c{number:05d}", events // customers, rng)
    ]
    half_day = timedelta(hours=12).total_seconds()

    def arrival(event: InputEvent) -> float:
        delay = rng.uniform(0, half_day) if rng.random() < disorder else 0.0
        return event.event_time.timestamp() + delay

    return sorted(stream, key=arrival)


def as_caught_up(stream: list[InputEvent], run: int = 500) -> list[InputEvent]:
    """The stream as a worker catching up on a backlog reads it: the event families (an input
    topic each) in turn, ``run`` events of one at a time, so that most events come after
    newer ones of their customer."""
    families: dict[str, list[InputEvent]] = {}
    for event in stream:
        families.setdefault(event.type.partition(".")[0], []).append(event)
    runs = [family[start : start + run] for family in families.values()
            for start in range(0, len(family), run)]  # fmt: skip
    order = sorted(range(len(runs)), key=lambda n: (runs[n][0].event_time, n))
    return [event for n in order for event in runs[n]]


def pure(stream: list[InputEvent], config: FeatureConfig = CONFIG) -> dict[str, bytes]:
    states: dict[str, CustomerState] = {}
    for event in stream:
        state = states.get(event.customer_id)
        if state is None:
            state = states[event.customer_id] = CustomerState.new(event.customer_id)
        state.apply(event, config)
    return {customer_id: state.to_bytes() for customer_id, state in states.items()}


def with_changelog(stream: list[InputEvent]) -> dict[str, bytes]:
    """States kept in memory, their bytes written after every event (a changelog)."""
    states: dict[str, CustomerState] = {}
    changelog: dict[str, bytes] = {}
    for event in stream:
        state = states.get(event.customer_id)
        if state is None:
            state = states[event.customer_id] = CustomerState.new(event.customer_id)
        state.apply(event, CONFIG)
        changelog[event.customer_id] = state.to_bytes()
    return changelog


def through_table(stream: list[InputEvent]) -> dict[str, bytes]:
    """Every event reads the state's bytes and writes them back, as a Faust table does."""
    table: dict[str, bytes] = {}
    for event in stream:
        blob = table.get(event.customer_id)
        state = CustomerState.from_bytes(blob) if blob else CustomerState.new(event.customer_id)
        state.apply(event, CONFIG)
        table[event.customer_id] = state.to_bytes()
    return table


def measure(run: Callable[[list[InputEvent]], dict[str, bytes]], stream, repeat: int):
    rates, table = [], {}
    for _ in range(repeat):
        started = time.process_time()
        table = run(stream)
        rates.append(len(stream) / (time.process_time() - started))
    return statistics.median(rates), table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--disorder", type=float, default=0.02,
                        help="share of events arriving out of order (default 0.02)")  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="profile the pure update")
    args = parser.parse_args()

    stream = synthetic_stream(args.events, args.customers, args.seed, args.disorder)
    # The pre-made stream is millions of objects a worker would never hold at once; keep the
    # garbage collector from scanning them again and again (as they would be long gone).
    gc.collect()
    gc.freeze()
    days = (max(e.event_time for e in stream) - min(e.event_time for e in stream)).days
    print(f"{len(stream):,} events of {args.customers:,} customers over {days} days "
          f"({args.disorder:.0%} out of order)")  # fmt: skip
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(pure, stream)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        return
    runs = [
        ("pure feature update", pure),
        ("+ to_bytes per event", with_changelog),
        ("+ from_bytes and to_bytes", through_table),
    ]
    rates = {}
    for name, run in runs:
        rates[name], table = measure(run, stream, args.repeat)
        print(f"{name + ':':30s}{rates[name]:10,.0f} events/s (median of {args.repeat})")
    sizes = sorted(len(blob) for blob in table.values())  # every run keeps the same bytes
    print(f"{'state per customer:':30s}{statistics.median(sizes):10,.0f} bytes median, "
          f"{sizes[-1]:,} max")  # fmt: skip
    round_trip = round_trip_micros(list(table.values()), args.repeat)
    print(f"{'from_bytes + to_bytes:':30s}{round_trip:10,.1f} µs a stored state (median)")
    caught_up = as_caught_up(stream)
    catch_up, _ = measure(partial(pure, config=CATCH_UP), caught_up, args.repeat)
    lateness = CATCH_UP.lateness.days
    print(f"{'pure update, catch-up order:':30s}{catch_up:10,.0f} events/s (median of "
          f"{args.repeat}; families in runs of 500, lateness {lateness} days)")  # fmt: skip
    in_order = rates["pure feature update"]
    print(f"{'catch-up order / in order:':30s}{catch_up / in_order:10.2f}")
    print(json.dumps({
        "bench": "features", "events": len(stream), "customers": args.customers,
        "in_order_events_per_s": round(in_order),
        "with_to_bytes_events_per_s": round(rates["+ to_bytes per event"]),
        "through_table_events_per_s": round(rates["+ from_bytes and to_bytes"]),
        "catch_up_events_per_s": round(catch_up),
        "catch_up_over_in_order": round(catch_up / in_order, 3),
        "state_bytes_median": statistics.median(sizes), "state_bytes_max": sizes[-1],
        "from_and_to_bytes_us": round(round_trip, 1),
    }))  # fmt: skip


def round_trip_micros(blobs: list[bytes], repeat: int) -> float:
    """Median over ``repeat`` passes of the CPU time of one ``from_bytes`` and ``to_bytes``."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        for blob in blobs:
            CustomerState.from_bytes(blob).to_bytes()
        times.append((time.process_time() - started) / len(blobs) * 1e6)
    return statistics.median(times)


if __name__ == "__main__":
    main()
