"""Backtest speed and memory over a generated history, the models on (logreg, learning).

    python tests/bench/bench_backtest.py [--events 1000000] [--customers 4000] [--days 730]

Generates the history to a JSON Lines file first (timed apart, in a process of its own), then
backtests it on one core exactly as ``riskstream backtest FILE`` does: reading and validating
every line, merging in event time, the engine with its deadline heap, and writing every output
file. Printed: events/s
of the whole backtest, the share of the CPU time inside the engine and the share that is the
backtester's own reading, merging and writing (with their events/s if the engine cost nothing),
and the peak resident memory of the process; then, as the last line, one JSON object of them.
"""

import argparse
import multiprocessing
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import orjson

from schemas.codec import dumps
from streams.backtest.backtest import Backtest, FileSink, build_engine
from streams.backtest.sources import jsonl_source
from streams.cli.generate import generate_events

TARGET = 20_000


def generate(path: Path, events: int, customers: int, days: int) -> float:
    started = time.perf_counter()
    end = datetime(2026, 6, 1, tzinfo=UTC)
    with path.open("wb") as file:
        for event in islice(generate_events(customers, days, end, seed=1), events):
            file.write(dumps(event) + b"\n")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=4_000)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as work:
        history = Path(work) / "history.jsonl"
        # In a process of its own: its memory is not the backtest's (`riskstream backtest`
        # reads a file), and the peak below is the backtest's alone.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
            seconds = child.submit(
                generate, history, args.events, args.customers, args.days
            ).result()
        size = history.stat().st_size
        rate = args.events / seconds
        print(f"generated {args.events:,} events of {args.customers:,} customers in "
              f"{seconds:.1f} s ({rate:,.0f} events/s), {size / 1e6:,.0f} MB")  # fmt: skip
        with FileSink(Path(work) / "out") as sink:
            backtest = Backtest(build_engine("logreg", learn=True))
            tally = backtest.run(jsonl_source([history], backtest.reject), sink)
        own = tally.cpu_seconds - tally.engine_seconds
        print(tally.describe())
        rate, cpu_rate = tally.events / tally.seconds, tally.events / tally.cpu_seconds
        verdict = "met" if cpu_rate >= TARGET else "NOT met"
        print(f"backtest: {rate:,.0f} events/s wall clock, {cpu_rate:,.0f} events/s of CPU time "
              f"on one core (target {TARGET:,}: {verdict})")  # fmt: skip
        print(f"  CPU time: engine {tally.engine_seconds:.1f} s "
              f"({tally.events / tally.engine_seconds:,.0f} events/s), "
              f"reading, merging and writing {own:.1f} s "
              f"({tally.events / own:,.0f} events/s if the engine cost nothing)")  # fmt: skip
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  peak memory (RSS) {peak:,.0f} MB")
        print(orjson.dumps({
            "bench": "backtest",
            "events": tally.events,
            "customers": args.customers,
            "days": args.days,
            "generate_seconds": round(seconds, 2),
            "history_mb": round(size / 1e6, 1),
            "seconds": round(tally.seconds, 2),
            "events_per_s": round(rate, 1),
            "events_per_cpu_s": round(cpu_rate, 1),
            "target_events_per_cpu_s": TARGET,
            "target_met": cpu_rate >= TARGET,
            "engine_cpu_s": round(tally.engine_seconds, 2),
            "engine_events_per_cpu_s": round(tally.events / tally.engine_seconds, 1),
            "own_cpu_s": round(own, 2),
            "own_events_per_cpu_s": round(tally.events / own, 1),
            "peak_rss_mb": round(peak, 1),
        }).decode())  # fmt: skip


if __name__ == "__main__":
    main()
