"""How many cases the alerts of a generated history make, as a credit team would work them.

    python tests/bench/bench_cases.py --customers 200 --days 365 --resolve-after never 7 30

Replays a synthetic history (``streams.cli.generate``, the history ``riskstream generate
--customers 200 --days 365 --end 2026-06-01`` writes) through the engine as a backtest does
(event-time order, time passing up to the last event), once per ``--resolve-after``: a team
that never resolves a case, or one that resolves each case that many days after it opened
(a ``case.resolved`` review event at that time). Prints, for each, the alerts, the cases,
the cases per customer (median, max), the case revisions, and the bytes of the customers'
case as their records keep it (mean, max); the last line printed is one JSON object of them.

``--cost-rounds N`` also measures what cases cost the engine: the history through the engine
with and without the cases detector, in turn, N rounds (events/s of CPU time, medians, and
the median ratio of each pair).
"""

import argparse
import heapq
import statistics
import time
from datetime import UTC, datetime, timedelta

import orjson

from schemas.events import CaseResolved, InputEvent
from streams.backtest.sources import event_order
from streams.cli.generate import generate_events
from streams.engine import Engine
from streams.engine.detection import DETECTORS, Cases
from streams.engine.replay import Replay, Step


def work(history: list[InputEvent], resolve_after: int | None) -> dict[str, float]:
    replay = Replay(Engine())
    due: list[tuple[datetime, str, str]] = []
    cases: dict[str, set[str]] = {}
    counted = {"alerts": 0, "revisions": 0}

    def take(steps: list[Step]) -> None:
        for step in steps:
            counted["alerts"] += len(step.outputs.alerts)
            counted["revisions"] += len(step.outputs.cases)
            for case in step.outputs.cases:
                known = cases.setdefault(case.customer_id, set())
                if case.case_id not in known:
                    known.add(case.case_id)
                    if resolve_after is not None:
                        at = case.opened_at + timedelta(days=resolve_after)
                        heapq.heappush(due, (at, case.case_id, case.customer_id))

    for event in history:
        while due and due[0][0] <= event.event_time:
            at, case_id, customer_id = heapq.heappop(due)
            resolved = CaseResolved(event_id=f"resolve-{case_id}", customer_id=customer_id,
                                    case_id=case_id, actor="team", note="handled",
                                    event_time=at)  # fmt: skip
            take(list(replay.feed(resolved)))
        take(list(replay.feed(event)))
    take(list(replay.advance(history[-1].event_time)))
    per_customer = [len(cases.get(customer_id, ())) for customer_id in replay.records]
    kept = [len(kept) for r in replay.records.values() if (kept := r.memo.case_json)]
    return {
        "alerts": counted["alerts"],
        "cases": sum(per_customer),
        "cases_per_customer_median": statistics.median(per_customer),
        "cases_per_customer_max": max(per_customer),
        "case_revisions": counted["revisions"],
        "case_bytes_mean": round(statistics.mean(kept)) if kept else 0,
        "case_bytes_max": max(kept, default=0),
    }


def cost(history: list[InputEvent], rounds: int) -> dict[str, float]:
    """Events/s of CPU time of the engine with and without the cases detector, in turn."""
    without = tuple(detector for detector in DETECTORS if not isinstance(detector, Cases))
    rates: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(rounds):
        for name, detectors in (("without", without), ("with", DETECTORS)):
            replay = Replay(Engine(detectors=detectors))
            started = time.thread_time()
            for event in history:
                for _ in replay.feed(event):
                    pass
            rates[name].append(len(history) / (time.thread_time() - started))
    ratios = [a / b for a, b in zip(rates["with"], rates["without"], strict=True)]
    return {
        "events_per_s_with": round(statistics.median(rates["with"])),
        "events_per_s_without": round(statistics.median(rates["without"])),
        "ratio": round(statistics.median(ratios), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument(
        "--resolve-after", nargs="+", default=["never", "7", "30"],
        help="days after a case opens that it is resolved, or never",
    )  # fmt: skip
    parser.add_argument("--cost-rounds", type=int, default=0)
    args = parser.parse_args()
    end = datetime(2026, 6, 1, tzinfo=UTC)
    history = sorted(generate_events(args.customers, args.days, end), key=event_order)
    figures = {}
    for after in args.resolve_after:
        days = None if after == "never" else int(after)
        figures[after] = found = work(history, days)
        print(f"resolved after {after} days: " + ", ".join(f"{k} {v}" for k, v in found.items()))
    if args.cost_rounds:
        figures["cost"] = measured = cost(history, args.cost_rounds)
        print("cost: " + ", ".join(f"{k} {v}" for k, v in measured.items()))
    print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main()
