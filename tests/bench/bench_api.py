"""What the query API costs a worker: answering a customer, and the alerts its record keeps.

    python tests/bench/bench_api.py --customers 500 --days 180

Runs a synthetic history (``streams.cli.generate``) through the engine, keeps each customer's
record as the state table holds it (bytes), then measures, as medians of ``--repeat`` runs:
the time to answer ``GET /customers/{id}`` from the stored bytes (``from_bytes`` and
``customer_answer``, everything but HTTP), and what the last alerts kept in the record add to
its size and to the ``to_bytes`` of its memo at every table write (run in turn with and
without them). The last line printed is one JSON object of these figures.
"""

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson

from features import FeatureConfig
from streams.cli.generate import generate_events
from streams.engine import CustomerRecord, Engine
from streams.worker.answers import customer_answer


def records(customers: int, days: int) -> tuple[Engine, list[CustomerRecord]]:
    engine = Engine(FeatureConfig(lateness=timedelta(days=365)))
    by_customer: dict[str, CustomerRecord] = {}
    for event in generate_events(customers, days, end=datetime(2026, 6, 1, tzinfo=UTC)):
        record = by_customer.setdefault(event.customer_id, CustomerRecord.new(event.customer_id))
        engine.process(record, event)
    return engine, list(by_customer.values())


def per_item_us(
    works: dict[str, Callable[[], object]], items: int, repeat: int
) -> dict[str, float]:
    """Median µs per item of each work (which does every item), the works run in turn."""
    runs: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(repeat):
        for name, work in works.items():
            started = time.perf_counter()
            work()
            runs[name].append((time.perf_counter() - started) / items * 1e6)
    return {name: statistics.median(times) for name, times in runs.items()}


def without_alerts(record: CustomerRecord) -> CustomerRecord:
    copy = CustomerRecord.from_bytes(record.to_bytes())
    copy.memo.recent_alerts = []
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    engine, kept = records(args.customers, args.days)
    blobs = [record.to_bytes() for record in kept]
    loaded = [CustomerRecord.from_bytes(blob) for blob in blobs]  # as a table read gives them
    bare = [without_alerts(record) for record in kept]
    count = len(kept)

    def answer_all() -> None:
        for blob in blobs:
            customer_answer(engine, CustomerRecord.from_bytes(blob))

    (answer,) = per_item_us({"answer": answer_all}, count, args.repeat).values()
    memo = per_item_us(
        {
            "with": lambda: [record.memo.to_bytes() for record in loaded],
            "without": lambda: [record.memo.to_bytes() for record in bare],
        },
        count,
        args.repeat * 3,
    )
    record_write = per_item_us({"record": lambda: [r.to_bytes() for r in loaded]}, count,
                               args.repeat)["record"]  # fmt: skip
    sizes = [len(blob) for blob in blobs]
    added = [len(blob) - len(b.to_bytes()) for blob, b in zip(blobs, bare, strict=True)]
    alerts = [len(record.memo.recent_alerts) for record in kept]

    print(f"{count} customers, {args.days} days of history, median of {args.repeat} runs")
    print(f"answer GET /customers/{{id}} from the stored record: {answer:.0f} µs")
    print(f"record bytes: median {statistics.median(sizes):.0f}, max {max(sizes)}")
    print(f"last alerts kept: median {statistics.median(alerts):.0f}, adding median "
          f"{statistics.median(added):.0f} bytes, max {max(added)}")  # fmt: skip
    print(f"memo to_bytes: {memo['with']:.1f} µs with them, {memo['without']:.1f} µs without, "
          f"of {record_write:.1f} µs for the whole record (a table write)")  # fmt: skip
    print(orjson.dumps({
        "bench": "api",
        "customers": count,
        "days": args.days,
        "repeat": args.repeat,
        "answer_us": round(answer, 1),
        "record_bytes_median": statistics.median(sizes),
        "record_bytes_max": max(sizes),
        "alerts_kept_median": statistics.median(alerts),
        "alerts_added_bytes_median": statistics.median(added),
        "alerts_added_bytes_max": max(added),
        "memo_to_bytes_with_alerts_us": round(memo["with"], 2),
        "memo_to_bytes_without_alerts_us": round(memo["without"], 2),
        "record_to_bytes_us": round(record_write, 2),
    }).decode())  # fmt: skip


if __name__ == "__main__":
    main()
