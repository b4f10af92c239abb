"""Fuzzed events through decoding, validation and the engine, at volume.

    .venv/bin/python -m tests.bench.bench_fuzz --inputs 1000000

Makes hostile inputs of a generated history (`tests/chaos/fuzzing.py`: half the events valid,
half mutated: fields dropped, added or given hostile values, money that is not money, times far
off, references to other items, event ids reused with other content, other types and keys,
bytes cut short, flipped, not UTF-8, nested deep or huge) and feeds each through
``parse_event`` and ``Engine.process`` as a worker does, making the dead letter of each input
refused. Prints what became of the inputs by reason, the rate, and every failure: an error
other than a dead letter's reason (``unexpected``), a dead letter or an output carrying a
customer's name or e-mail (``leaks``), a dead letter over the producer's limit
(``oversize``). All three must be 0. The last line is one JSON object of the figures.
"""

import argparse
import time
import traceback
from collections import Counter

import orjson

from tests.chaos.fuzzing import Fuzz, history, hostile_inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show", type=int, default=5, help="failures printed in full")
    args = parser.parse_args()

    events = history(args.customers, args.days, args.seed)
    fuzz = Fuzz()
    failures: Counter[str] = Counter()
    started = time.process_time()
    for message in hostile_inputs(events, args.inputs, args.seed):
        try:
            fuzz.take(message)
        except AssertionError as error:
            kind = "oversize" if "bytes" in str(error) else "leaks"
            _report(failures, kind, message.mutation, message.value)
        except Exception:
            _report(failures, "unexpected", message.mutation, message.value, args.show)
    elapsed = time.process_time() - started

    print(f"{args.inputs:,} inputs of {len(fuzz.records):,} customers in {elapsed:.1f} s CPU "
          f"({args.inputs / elapsed:,.0f} inputs/s)")  # fmt: skip
    for outcome, count in fuzz.outcomes.most_common():
        print(f"  {outcome:<14} {count:>9,}")
    for kind in ("unexpected", "leaks", "oversize"):
        print(f"{kind}: {failures[kind]}")
    print(orjson.dumps({
        "bench": "fuzz", "inputs": args.inputs, "inputs_per_s": round(args.inputs / elapsed),
        "dead_letters": sum(fuzz.outcomes.values()) - fuzz.outcomes["taken"],
        "unexpected": failures["unexpected"], "leaks": failures["leaks"],
        "oversize": failures["oversize"],
    }).decode())  # fmt: skip


def _report(failures: Counter[str], kind: str, mutation: str, value: bytes, show: int = 5) -> None:
    failures[kind] += 1
    if failures[kind] <= show:
        print(f"{kind} ({mutation}): {value[:200]!r}")
        traceback.print_exc(limit=3)


if __name__ == "__main__":
    main()
