"""Workers under faults at full size: what was lost, repeated or doubled, and how long they took
to recover.

    RISKSTREAM_TEST_BROKER=127.0.0.1:19092 RISKSTREAM_TEST_REDIS=redis://127.0.0.1:16379/0 \\
        python -m tests.bench.bench_chaos --customers 1500 --days 180 --kills 10 --down 30

Generates ``--customers`` customers' history over ``--days`` days (1,500 over 180 days: about
100,000 events), replays it through the pure engine (the truth: `tests.chaos.faults`), then
runs each fault of ``--faults`` on topics and Redis keys of its own, the stream sent as a
backlog (the broker outage: half before, half after):

- ``kills``: one worker SIGKILLed ``--kills`` times at random points of its progress, a new
  one started at once each time;
- ``two``: two workers, one SIGKILLed between a fifth and two fifths of the way;
- ``broker``: one worker, and a broker of the benchmark's own (``deploy/local/kafka.sh`` on
  free ports, its data in a scratch directory) stopped for ``--down`` seconds mid-stream.

``--reference`` adds a crash-free run of one worker over the same stream first, and compares
each fault's order-dependent outputs (risk changes, credit actions, rule and anomaly alerts)
and every customer's score and tier with it: how much two runs differ when a worker reads its
topics in another order, not a fault's doing.

For each fault: outputs lost (of the truth on their topics, and of the topics in Redis), exact
repeats on the topics (same id, same content: expected of at-least-once delivery), true doubles
(the same id with another content; another id for the same thing; an id twice in Redis), the
differences from the truth's final state of every customer, and the seconds from each fault
until every customer not done had moved on. The last line printed is one JSON object.
"""

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from tests.chaos import faults
from tests.integration import harness

FAULTS = ("kills", "two", "broker")


def one_fault(
    name: str, args: argparse.Namespace, truth: faults.Truth, scratch: Path, reference: Any
) -> dict[str, Any]:
    broker_address, redis_url = harness.given_services()
    rng = random.Random(args.seed)
    own = faults.OwnBroker(scratch / "kafka") if name == "broker" else None
    if own is not None:
        broker_address = own.start()
    run = faults.Run.over(broker_address, redis_url, scratch / name, truth, args.partitions)
    started = time.monotonic()
    do: dict[str, Callable[[], list[float]]] = {
        "kills": lambda: faults.random_kills(run, args.kills, rng),
        "two": lambda: [faults.one_of_two_killed(run, rng)],
        "broker": lambda: [faults.broker_outage(run, own, args.down)],  # type: ignore[arg-type]
    }
    try:
        recoveries = do[name]()
        run.settle(timeout=1800)
        left = run.left()
    finally:
        run.stop()
        if own is not None:
            own.stop(clean=True)
    comparison = faults.compare(truth, left, reference)
    return {"seconds": round(time.monotonic() - started, 1),
            "recovery_s": [round(r, 1) for r in recoveries]} | comparison.figures()  # fmt: skip


def crash_free(args: argparse.Namespace, truth: faults.Truth, scratch: Path) -> faults.Left:
    broker_address, redis_url = harness.given_services()
    run = faults.Run.over(broker_address, redis_url, scratch / "reference", truth, args.partitions)
    run.send(truth.events)
    run.start("reference")
    try:
        run.settle(timeout=1800)
        return run.left()
    finally:
        run.stop()


def describe(name: str, figures: dict[str, Any]) -> None:
    print(f"{name}: {figures['seconds']} s, recovery {figures['recovery_s']} s")
    print(f"  lost {figures['lost']}, exact repeats {figures['repeats']}, true doubles "
          f"{figures['true_doubles']} (same id, other content {figures['same_id_other_content']}"
          f"; other id, same thing {figures['other_id_same_thing']}), final state "
          f"differences {figures['state_differences']}")  # fmt: skip
    if "other_tier" in figures:
        print(f"  against the crash-free run: {figures['other_tier']} customers of another "
              f"tier, {figures['other_score']} of another score (at most "
              f"{figures['largest_score_gap']} points apart)")  # fmt: skip
    for kind, tally in figures["by_kind"].items():
        print(f"  {kind:15s} " + "  ".join(f"{k} {v}" for k, v in tally.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1500)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs of the kills fault")
    parser.add_argument("--down", type=float, default=30, help="seconds the broker is down")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--faults", default=",".join(FAULTS),
                        help=f"comma-separated, of {', '.join(FAULTS)}")  # fmt: skip
    parser.add_argument("--reference", action="store_true",
                        help="compare with a crash-free run as well")  # fmt: skip
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    chosen = [name.strip() for name in args.faults.split(",") if name.strip()]
    if not chosen or set(chosen) - set(FAULTS) or args.kills < 1 or args.partitions < 2:
        parser.exit(2, f"bench_chaos: --faults of {', '.join(FAULTS)}, --kills 1 or more, "
                       "--partitions 2 or more\n")  # fmt: skip
    broker_address, redis_url = harness.given_services()
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        settings = harness.settings_of(harness.isolated_env(broker_address, redis_url, scratch))
        began = time.monotonic()
        truth = faults.history(args.customers, args.days, settings, seed=args.seed)
        print(f"{len(truth.events):,} events of {len(truth.customers):,} customers over "
              f"{args.days} days; the truth ({sum(map(len, truth.outputs.values())):,} alerts "
              f"and decisions to find) replayed in {time.monotonic() - began:.0f} s")  # fmt: skip
        reference = crash_free(args, truth, scratch) if args.reference else None
        results = {}
        for name in chosen:
            results[name] = one_fault(name, args, truth, scratch, reference)
            describe(name, results[name])
    print(orjson.dumps({
        "bench": "chaos",
        "events": len(truth.events),
        "customers": len(truth.customers),
        "kills": args.kills,
        "down_s": args.down,
        "partitions": args.partitions,
        "faults": {name: {k: v for k, v in figures.items() if k != "by_kind"}
                   for name, figures in results.items()},
    }).decode())  # fmt: skip


if __name__ == "__main__":
    main()
