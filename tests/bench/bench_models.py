"""Every late-payment model on a history with business-to-business payment calendars.

    python tests/bench/bench_models.py [--customers 1000] [--days 540] [--models logreg,arf]

Generates a history whose invoices fall due at month ends and are paid in weekly or monthly
payment runs, some in two parts (`streams.cli.generate.B2B`), so whole blocks of "on time"
and then "late" outcomes arrive together; then backtests each model on it, learning, exactly
as ``riskstream backtest`` does. Printed per model, over the invoices whose outcome is known:
ROC AUC, log loss, expected calibration error (10 bins), mean predicted probability against
the observed late rate, the spread of the predictions (standard deviation, distinct values),
the drifts the monitor saw and the seconds taken; and AUC and ECE again over the invoices
issued after the first `WARM_UP` days (a model that starts knowing nothing is judged on its
first weeks too in the first figures); then, as the last line, one JSON object.
"""

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from detectors.late_payment import MODELS
from detectors.monitoring import expected_calibration_error, roc_auc
from streams.backtest import report
from streams.backtest.backtest import Backtest, FileSink, build_engine
from streams.backtest.sources import Source, in_memory
from streams.cli.generate import B2B, generate_events

AUC_TARGET = 0.80
ECE_TARGET = 0.05
WARM_UP = 90
END = datetime(2026, 6, 1, tzinfo=UTC)


def measure(model: str, customers: int, days: int, folder: Path) -> dict[str, object]:
    """Backtest one model on the calendar history; its figures."""
    events = generate_events(customers, days, END, 11, calendar=B2B)
    started = time.perf_counter()
    with FileSink(folder) as sink:
        backtest = Backtest(build_engine(model, learn=True))
        tally = backtest.run(Source(in_memory(events, "generated")), sink)
    seconds = time.perf_counter() - started
    quality = report.summarise(folder)["model"]
    lines = [
        line for line in report.read_lines(folder / "invoices.jsonl") if line["late"] is not None
    ]
    known = [line["probability"] for line in lines]
    warm = END - timedelta(days=days - WARM_UP)
    later = [
        (line["probability"], line["late"])
        for line in lines
        if datetime.fromisoformat(line["issued_at"]) >= warm
    ]
    probabilities, labels = [p for p, _ in later], [late for _, late in later]
    return {
        "invoices": quality["invoices"],
        "late_rate": round(quality["late"] / quality["invoices"], 4),
        "mean_probability": round(statistics.fmean(known), 4),
        "auc": round(quality["auc"], 4),
        "log_loss": round(quality["log_loss"], 4),
        "ece": round(quality["ece"], 4),
        "spread": round(statistics.pstdev(known), 4),
        "distinct": len(set(known)),
        "auc_after_warm_up": round(roc_auc(probabilities, labels) or 0.0, 4),
        "ece_after_warm_up": round(expected_calibration_error(probabilities, labels) or 0.0, 4),
        "drifts": tally.model_health,
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=540)
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    figures = {}
    with tempfile.TemporaryDirectory(prefix="bench-models-") as work:
        for model in args.models.split(","):
            figures[model] = got = measure(model, args.customers, args.days, Path(work) / model)
            met = got["auc"] >= AUC_TARGET and got["ece"] <= ECE_TARGET
            print(f"{model}: AUC {got['auc']:.3f}, log loss {got['log_loss']:.3f}, "
                  f"ECE {got['ece']:.3f} (targets AUC >= {AUC_TARGET}, ECE <= {ECE_TARGET}: "
                  f"{'met' if met else 'NOT met'}); mean probability {got['mean_probability']:.3f}"
                  f" against {got['late_rate']:.3f} late; spread {got['spread']:.3f}, "
                  f"{got['distinct']:,} distinct; {got['drifts']} drifts; {got['invoices']:,} "
                  f"invoices in {got['seconds']:.0f} s; after {WARM_UP} days AUC "
                  f"{got['auc_after_warm_up']:.3f}, "
                  f"ECE {got['ece_after_warm_up']:.3f}")  # fmt: skip
    print(orjson.dumps({
        "bench": "models",
        "customers": args.customers,
        "days": args.days,
        "calendar": "b2b",
        "warm_up_days": WARM_UP,
        "auc_target": AUC_TARGET,
        "ece_target": ECE_TARGET,
        "targets_met": all(f["auc"] >= AUC_TARGET and f["ece"] <= ECE_TARGET
                           for f in figures.values()),
        "models": figures,
    }).decode())  # fmt: skip


if __name__ == "__main__":
    main()
