"""Early warning: how long before customers stop paying riskstream says so, and how falsely.

    python tests/bench/bench_early_warning.py [--customers 1000] [--days 540] [--seed 11]

Generates a history with business-to-business payment calendars (`streams.cli.generate.B2B`)
and its truth file, backtests it with the default configuration (the `logreg` model, learning,
exactly as ``riskstream backtest`` does), and reads from the outputs every signal about a
customer (`streams.backtest.early_warning.signal_of`). Printed per kind of signal, per family
of warnings and overall (the kinds that claim a customer may not pay, `WARNINGS`): for the
customers that stop paying within the history, the median days from the first signal (from
the start of their decline) to the end of the due date of their first unpaid invoice, a
missed one counting 0, and the share warned before it; for the customers that never
deteriorate, the share that got the signal at all (false alarms), and those of all warnings
by behaviour; then, as the last line, one JSON object.
"""

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

from schemas.codec import dumps
from streams.backtest import report
from streams.backtest.backtest import Backtest, FileSink, build_engine
from streams.backtest.early_warning import OVERALL, WARNINGS, Fate, by_kind, measure, signal_of
from streams.backtest.sources import Source, in_memory
from streams.cli.generate import B2B, generate_history

FLOOR_DAYS = 14
TARGET_DAYS = 30
TARGET_FALSE_ALARMS = 0.10
END = datetime(2026, 6, 1, tzinfo=UTC)
SIGNAL_FILES = ("alerts", "changes", "actions", "decisions")


def run(customers: int, days: int, seed: int, folder: Path) -> dict[str, object]:
    """Generate, write the truth file, backtest, and measure every kind of signal, family and
    all warnings; and the false alarms of all warnings by the behaviour of the customers that
    kept paying."""
    events, people = generate_history(customers, days, END, seed, calendar=B2B)
    started = time.perf_counter()
    with FileSink(folder) as sink:
        tally = Backtest(build_engine()).run(Source(in_memory(events, "generated")), sink)
    seconds = time.perf_counter() - started
    truth = folder / "truth.jsonl"
    truth.write_bytes(b"".join(dumps(person.truth()) + b"\n" for person in people))
    lines = list(report.read_lines(truth))
    fates = [Fate.from_truth(line) for line in lines]
    outputs = (
        line for name in SIGNAL_FILES for line in report.read_lines(folder / f"{name}.jsonl")
    )
    signals = [signal for line in outputs if (signal := signal_of(line)) is not None]
    return {
        "events": tally.events,
        "seconds": round(seconds, 1),
        "kinds": {
            kind: figures.summary() for kind, figures in by_kind(signals, fates, END).items()
        },
        "false_alarms_by_behaviour": {
            behaviour: measure(
                signals,
                [
                    fate
                    for fate, line in zip(fates, lines, strict=True)
                    if line["behaviour"] == behaviour
                ],
                WARNINGS,
                END,
            ).summary()["false_alarm_rate"]
            for behaviour in sorted({line["behaviour"] for line in lines} - {"deteriorating"})
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=540)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-early-warning-") as work:
        got = run(args.customers, args.days, args.seed, Path(work))
    kinds: dict[str, dict] = got["kinds"]  # type: ignore[assignment]
    for kind, f in kinds.items():
        counted = ("overall" if kind == OVERALL else "family" if kind.startswith("family:")
                   else "counts" if kind in WARNINGS else "listed")  # fmt: skip
        print(f"{kind:38} [{counted}] median lead {f['median_lead_days']} days, caught "
              f"{f['caught']}/{f['non_payers']} ({f['caught_share']}); false alarms "
              f"{f['false_alarms']}/{f['kept_paying']} ({f['false_alarm_rate']})")  # fmt: skip
    print(f"overall false alarms by behaviour: {got['false_alarms_by_behaviour']}")
    overall = kinds[OVERALL]
    lead, false = overall["median_lead_days"] or 0.0, overall["false_alarm_rate"] or 0.0
    floor_met = lead >= FLOOR_DAYS
    target_met = lead >= TARGET_DAYS and false <= TARGET_FALSE_ALARMS
    print(f"overall: median lead {lead} days (floor {FLOOR_DAYS}: "
          f"{'met' if floor_met else 'NOT met'}), false alarms {false} (target {TARGET_DAYS} "
          f"days with <= {TARGET_FALSE_ALARMS}: {'met' if target_met else 'NOT met'}); "
          f"{got['events']:,} events in {got['seconds']:.0f} s")  # fmt: skip
    print(orjson.dumps({
        "bench": "early_warning",
        "customers": args.customers,
        "days": args.days,
        "seed": args.seed,
        "calendar": "b2b",
        "floor_days": FLOOR_DAYS,
        "target_days": TARGET_DAYS,
        "target_false_alarm_rate": TARGET_FALSE_ALARMS,
        "floor_met": floor_met,
        "target_met": target_met,
        "overall_kinds": sorted(WARNINGS),
        **got,
    }).decode())  # fmt: skip


if __name__ == "__main__":
    main()
