"""Throughput of the whole engine replaying history, with the late-payment model on and off.

    python tests/bench/bench_engine.py --events 100000 --customers 1000

Feeds the synthetic stream of ``bench_features.py`` through ``Engine.process``, one record
per customer, and lets event time pass as a replay does: whenever the stream's event time
passes a customer's next deadline (an invoice turning overdue), ``Engine.advance`` is called
for that customer. Every step does the full job: features, rules, order decisions, the
scorecard, tiers and the outputs. "model on" predicts late payment at every invoice issue
and learns every labelled example (a backtest); "model off" leaves learning off, as a live
worker does (it still predicts, with a model that learns nothing). Prints events/s (median
of ``--repeat`` runs in CPU time of the process, the two set-ups alternating), what was
produced and the final records' bytes as stored, then as its last line one JSON object of
the rates and counts. ``--profile`` prints where the engine with the model on spends its
time instead (and a JSON line of no rates); ``--digest`` a SHA-256 of every output and final
record (its JSON before compression) of each set-up, to show that a change leaves every
output the same.
"""

import argparse
import cProfile
import gc
import hashlib
import heapq
import pstats
import statistics
import time
from collections import Counter
from collections.abc import Callable

import orjson
from bench_features import synthetic_stream

from detectors.anomaly import HalfSpaceTreesDetector
from detectors.late_payment import LatePaymentModel
from detectors.monitoring import ModelMonitor
from features import CustomerState
from features.eventtime import from_micros, to_micros
from schemas import InputEvent
from schemas.codec import dumps
from streams.engine import CustomerRecord, Engine, Outputs
from streams.engine.compression import decompress
from streams.engine.detection import DETECTORS, Standing


def replay(engine: Engine, stream: list[InputEvent], digest: "hashlib._Hash | None" = None,
           records: dict[str, CustomerRecord] | None = None) -> Counter[str]:  # fmt: skip
    """Every event through ``engine``, the passing of event time between them; output counts.
    ``digest`` takes every output as published, in order, then every record's bytes (as they
    are before compression); ``records`` is filled with the customers' records."""
    records = {} if records is None else records
    deadlines: list[tuple[int, str]] = []
    produced: Counter[str] = Counter()

    def count(outputs: Outputs) -> None:
        for output in outputs.all():
            produced[output.type] += 1
            if digest is not None:
                digest.update(dumps(output))

    scheduled: dict[str, int] = {}
    """Each customer's deadline in the heap: a timer per customer, as a worker keeps."""

    def schedule(record: CustomerRecord) -> None:
        deadline = record.state.next_deadline(engine.config)
        if deadline is not None and scheduled.get(record.customer_id) != (
            at := to_micros(deadline)
        ):
            scheduled[record.customer_id] = at
            heapq.heappush(deadlines, (at, record.customer_id))

    for event in stream:
        now = to_micros(event.event_time)
        while deadlines and deadlines[0][0] <= now:
            at, customer_id = heapq.heappop(deadlines)
            if scheduled.get(customer_id) != at:
                continue  # replaced by a later deadline
            del scheduled[customer_id]
            record = records[customer_id]
            count(engine.advance(record, from_micros(at)))
            schedule(record)
        record = records.get(event.customer_id)
        if record is None:
            record = records[event.customer_id] = CustomerRecord.new(event.customer_id)
        count(engine.process(record, event))
        schedule(record)
    if digest is not None:
        for _, record in sorted(records.items()):
            digest.update(decompress(record.to_bytes()))
    return produced


SETUPS: dict[str, Callable[[], Engine]] = {
    "model on (predict + learn)": lambda: Engine(learn=True),
    "model off (predict only)": lambda: Engine(learn=False),
}
KEYS = dict(zip(SETUPS, ("model_on", "model_off"), strict=True))
"""Each set-up's name in the JSON line."""

PARTS: dict[str, Callable[..., object]] = {
    "features: applying the event": CustomerState.apply,
    "features: the view (once a step, and before an order)": CustomerState.features,
    "features: time passing": CustomerState.advance,
    "features: next deadline (the replay's timers)": CustomerState.next_deadline,
    "River: late-payment model, predict": LatePaymentModel.predict,
    "River: late-payment model, learn": LatePaymentModel.learn,
    "River: ADWIN on the model's errors": ModelMonitor.update,
    "River: half-space trees, orders and payments": HalfSpaceTreesDetector.check_and_learn_one,
    **{f"detector {type(detector).__name__}": type(detector).detect for detector in DETECTORS},
    "pictures (customer_risk)": Standing.picture,
}
"""The parts the profile's breakdown shows, each the cumulative time of one function. They
nest: a detector includes the features view when it is the first of a step to read it, and
the River parts it runs."""


def breakdown(profiler: cProfile.Profile, total: float) -> list[tuple[str, float]]:
    """Each part of `PARTS` as its share of ``total`` seconds of profiled time."""
    where = {
        (code.co_filename, code.co_firstlineno, code.co_name): label
        for label, function in PARTS.items()
        for code in [function.__code__]
    }
    shares = dict.fromkeys(PARTS, 0.0)
    for key, (*_, seconds, _) in pstats.Stats(profiler).stats.items():  # type: ignore[attr-defined]
        if key in where:
            shares[where[key]] = seconds / total
    return list(shares.items())


def record_figures(records: list[CustomerRecord]) -> dict[str, float]:
    """The customers' records at the end of a replay: bytes as stored (state and detector
    memory, compressed) and before compression, medians; from_bytes + to_bytes, median µs."""
    stored = [record.to_bytes() for record in records]
    round_trips = []
    for blob in stored:
        started = time.perf_counter()
        CustomerRecord.from_bytes(blob).to_bytes()
        round_trips.append(time.perf_counter() - started)
    return {
        "record_bytes_median": statistics.median(map(len, stored)),
        "record_raw_bytes_median": statistics.median(len(decompress(blob)) for blob in stored),
        "record_round_trip_us": round(statistics.median(round_trips) * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--disorder", type=float, default=0.02,
                        help="share of events arriving out of order (default 0.02)")  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="profile the engine, model on")
    parser.add_argument("--digest", action="store_true",
                        help="print a SHA-256 of every output and record of each set-up instead "
                             "(run with PYTHONHASHSEED=0 to compare two versions)")  # fmt: skip
    args = parser.parse_args()

    stream = synthetic_stream(args.events, args.customers, args.seed, args.disorder)
    gc.collect()
    gc.freeze()  # the pre-made stream: see bench_features.py
    print(f"{len(stream):,} events of {args.customers:,} customers "
          f"({args.disorder:.0%} out of order)")  # fmt: skip
    if args.profile:
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.runcall(replay, next(iter(SETUPS.values()))(), stream)
        total = time.perf_counter() - started
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        print("Where the time goes (cumulative shares of the profiled run; parts nest):")
        for label, share in breakdown(profiler, total):
            print(f"  {label:56s}{share:6.1%}")
        print(orjson.dumps({"bench": "engine", "events": len(stream),
                            "customers": args.customers, "profiled": True}).decode())  # fmt: skip
        return
    if args.digest:
        digests = {}
        for name, make in SETUPS.items():
            digest = hashlib.sha256()
            replay(make(), stream, digest)
            digests[KEYS[name] + "_sha256"] = digest.hexdigest()
            print(f"{name + ':':30s}{digest.hexdigest()}")
        print(orjson.dumps({"bench": "engine", "events": len(stream), **digests}).decode())
        return
    rates: dict[str, list[float]] = {name: [] for name in SETUPS}
    produced: dict[str, Counter[str]] = {}
    records: dict[str, CustomerRecord] = {}
    for _ in range(args.repeat):
        for name, make in SETUPS.items():
            engine = make()
            records.clear()
            started = time.process_time()
            produced[name] = replay(engine, stream, records=records)
            rates[name].append(len(stream) / (time.process_time() - started))
    for name, runs in rates.items():
        print(f"{name + ':':30s}{statistics.median(runs):10,.0f} events/s "
              f"(median of {args.repeat})")  # fmt: skip
    for name, counts in produced.items():
        print(
            f"{name + ':':30s}" + ", ".join(f"{kind} {n:,}" for kind, n in sorted(counts.items()))
        )
    stored = record_figures(list(records.values()))
    print(f"{'record as stored:':30s}{stored['record_bytes_median']:10,.0f} bytes median "
          f"({stored['record_raw_bytes_median']:,.0f} before compression), from_bytes + "
          f"to_bytes {stored['record_round_trip_us']:.1f} µs")  # fmt: skip
    figures: dict[str, object] = {"bench": "engine", "events": len(stream),
                                  "customers": args.customers, "repeat": args.repeat,
                                  **stored}  # fmt: skip
    for name, runs in rates.items():
        figures[f"{KEYS[name]}_events_per_cpu_s"] = round(statistics.median(runs), 1)
    for name, counts in produced.items():
        figures[f"{KEYS[name]}_outputs"] = dict(sorted(counts.items()))
    print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main()
