"""Quality of the late-payment model on real invoices: a backtest against a batch baseline.

    python tests/bench/bench_quality.py [--data PATH] [--model logreg|arf|all]

Replays IBM's accounts-receivable sample (see `streams.backtest.importers`) through the pure
engine in event time, learning online as a backtest does: each invoice's outcome is learnt when
it is known (paid, or overdue as its due date passes; the replay lets time pass for every customer).
Each invoice's labelled example carries the probability predicted at issue and the features it
was predicted from; the replay checks that every invoice was labelled and lists any that was not.
Invoices are split by issue date, the first 70% and the last 30%. Printed: the exact ROC AUC and
the log loss, on the last 30% against the data set's outcome (DaysLate > 0), of the online
model's predictions at issue and of a batch scikit-learn logistic regression (standardised)
trained on the first 70% with the same point-in-time features, with a paired bootstrap interval
of the difference of AUCs; the counts; and the replay's events/s (the whole engine: features,
model, score, outputs). Needs scikit-learn for the baseline.

A model, its settings and its features are to be chosen without the last 30%: for that it also
prints the same comparison within the first 70% (`SELECTION_WINDOWS`), the online predictions
made in 30-50% and in 50-70% of the invoices against a batch regression trained on every
invoice issued before each window.

The last line printed is one JSON object of the headline figures, each model's under its name
(``logreg_online_roc_auc``, ...).
"""

import argparse
import random
import time
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import orjson

from detectors.delayed_labels import LabelledExample
from detectors.late_payment import MODELS, LatePaymentModel
from detectors.monitoring import log_loss, roc_auc
from streams.backtest.importers import Imported, load_accounts_receivable
from streams.engine import Engine
from streams.engine.replay import Replay as EventReplay

TARGET_AUC = 0.88
TRAIN_SHARE = 0.7
SELECTION_WINDOWS = ((0.3, 0.5), (0.5, TRAIN_SHARE))
"""Shares of the invoices, by issue date, whose predictions choose a model within the first 70%."""
BOOTSTRAP = 1000


@dataclass(frozen=True, slots=True)
class Replay:
    examples: dict[str, LabelledExample]
    unresolved: list[str]
    events: int
    advances: int
    seconds: float


def replay(imported: Imported, model: str) -> Replay:
    """The events through one engine, time passing for every customer as the events' time does."""
    replayer = EventReplay(Engine(model=LatePaymentModel(model), learn=True))
    examples: dict[str, LabelledExample] = {}
    advances = 0
    started = time.perf_counter()
    for step in chain.from_iterable(map(replayer.feed, imported.events)):
        advances += step.event is None
        examples.update((example.invoice_id, example) for example in step.outputs.examples)
    for step in replayer.advance(None):
        advances += 1
        examples.update((example.invoice_id, example) for example in step.outputs.examples)
    seconds = time.perf_counter() - started
    records = replayer.records.values()
    pending = {p.invoice_id for r in records for p in r.memo.pending.predictions()}
    unresolved = sorted(pending | (imported.outcomes.keys() - examples.keys()))
    return Replay(examples, unresolved, len(imported.events), advances, seconds)


def evaluate(imported: Imported, result: Replay, model: str) -> dict[str, object]:
    """Print the comparison; its headline figures."""
    outcomes = imported.outcomes
    resolved = sorted(result.examples.values(), key=lambda e: (e.issued_at, e.invoice_id))
    issued = [e.issued_at for e in resolved]
    names = sorted({name for e in resolved for name in e.features})

    def rows(part: list[LabelledExample]) -> list[list[float]]:
        return [[e.features.get(name, 0.0) for name in names] for e in part]

    def truth(part: list[LabelledExample]) -> list[bool]:
        return [outcomes[e.invoice_id].late for e in part]

    def batch_after(start: int, end: int) -> list[float]:
        before = resolved[:start]
        return batch_predictions(rows(before), truth(before), rows(resolved[start:end]))

    def online_in(start: int, end: int) -> list[float]:
        return [e.probability for e in resolved[start:end]]

    def truth_in(start: int, end: int) -> list[bool]:
        return truth(resolved[start:end])

    split = split_index(issued, TRAIN_SHARE)
    train, test = resolved[:split], resolved[split:]
    batch_p = batch_after(split, len(resolved))
    online_p = [e.probability for e in test]
    labels = truth(test)
    disagree = sum(e.label != outcomes[e.invoice_id].late for e in resolved)

    print(f"model {model}: {result.events:,} events + {result.advances:,} clock steps in "
          f"{result.seconds:.2f} s = {result.events / result.seconds:,.0f} events/s")  # fmt: skip
    if imported.rejected:
        print(f"  {len(imported.rejected)} rows of the CSV could not be read, the first: "
              f"line {imported.rejected[0].line}, {imported.rejected[0].reason}")  # fmt: skip
    print(f"  invoices: {len(outcomes):,} imported, {len(resolved):,} resolved, "
          f"{len(result.unresolved)} unresolved; "
          f"{disagree} engine labels differ from DaysLate > 0")  # fmt: skip
    if result.unresolved:
        print(f"  UNRESOLVED (never labelled): {' '.join(result.unresolved)}")
    print(f"  split at issue {test[0].issued_at.date()}: first {len(train):,} "
          f"({sum(truth(train)):,} late) / last {len(test):,} ({sum(labels):,} late)")  # fmt: skip
    print(f"  {len(names)} point-in-time features")
    windows = [tuple(split_index(issued, share) for share in w) for w in SELECTION_WINDOWS]
    shares = " / ".join(f"{start:.0%}-{end:.0%}" for start, end in SELECTION_WINDOWS)
    print(f"  first {TRAIN_SHARE:.0%} only, to choose by: ROC AUC of the predictions made in "
          f"{shares} of the invoices")  # fmt: skip
    figures: dict[str, float] = {
        "selection_online_roc_auc": print_windows("online " + model, windows, online_in, truth_in),
        "selection_batch_roc_auc": print_windows("batch logreg", windows, batch_after, truth_in),
    }
    figures = {name: round(value, 4) for name, value in figures.items()}
    print(f"  last {1 - TRAIN_SHARE:.0%}, to report:")
    for name, probabilities in (("online " + model, online_p), ("batch logreg", batch_p)):
        auc, loss = roc_auc(probabilities, labels), log_loss(probabilities, labels)
        print(f"    {name + ':':16s} ROC AUC {auc:.4f}   log loss {loss:.4f}")
        side = name.split()[0]
        figures |= {f"{side}_roc_auc": round(auc, 4), f"{side}_log_loss": round(loss, 4)}
    online_auc, batch_auc = roc_auc(online_p, labels) or 0.0, roc_auc(batch_p, labels) or 0.0
    low, high = difference_interval(online_p, batch_p, labels)
    print(f"  online - batch ROC AUC: {online_auc - batch_auc:+.4f}, "
          f"95% paired bootstrap interval [{low:+.4f}, {high:+.4f}]")  # fmt: skip
    met = online_auc >= TARGET_AUC and online_auc >= batch_auc
    print(f"  target (online >= {TARGET_AUC} and >= batch): {'met' if met else 'NOT met'}")
    return {
        "events_per_s": round(result.events / result.seconds, 1),
        "invoices": len(outcomes),
        "invoices_resolved": len(resolved),
        "invoices_unresolved": len(result.unresolved),
        **figures,
        "online_minus_batch_roc_auc": round(online_auc - batch_auc, 4),
        "online_minus_batch_roc_auc_low": round(low, 4),
        "online_minus_batch_roc_auc_high": round(high, 4),
        "target_roc_auc": TARGET_AUC,
        "target_met": met,
    }


def split_index(issued: Sequence, share: float) -> int:
    """How many of the invoices, sorted by ``issued``, come before the one at ``share`` of
    them; invoices issued at the same moment stay on the same side.

    >>> split_index([1, 2, 2, 2, 3], 0.5), split_index([1, 2, 2, 2, 3], 0.8)
    (1, 4)
    """
    return bisect_left(issued, issued[int(len(issued) * share)])


def print_windows(
    name: str,
    windows: list[tuple[int, ...]],
    predict: Callable[[int, int], list[float]],
    truth: Callable[[int, int], list[bool]],
) -> float:
    """One line: the ROC AUC of ``predict(start, end)`` in each window, and their mean
    (returned)."""
    aucs = [roc_auc(predict(start, end), truth(start, end)) or 0.0 for start, end in windows]
    each = " / ".join(f"{auc:.4f}" for auc in aucs)
    mean = sum(aucs) / len(aucs)
    print(f"    {name + ':':16s} ROC AUC {each}   mean {mean:.4f}")
    return mean


def batch_predictions(
    train: list[list[float]], labels: list[bool], test: list[list[float]]
) -> list[float]:
    """Probabilities of late payment on ``test`` from a standardised logistic regression fitted
    on ``train`` in one batch."""
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        raise SystemExit("the batch baseline needs scikit-learn: pip install it") from None
    batch = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    batch.fit(train, labels)
    late = list(batch.classes_).index(True)
    return [float(p[late]) for p in batch.predict_proba(test)]


def difference_interval(
    first: list[float], second: list[float], labels: list[bool]
) -> tuple[float, float]:
    """95% interval of AUC(first) - AUC(second), resampling invoices (seeded)."""
    rng, n, differences = random.Random(0), len(labels), []
    while len(differences) < BOOTSTRAP:
        sample = [rng.randrange(n) for _ in range(n)]
        drawn = [labels[i] for i in sample]
        a = roc_auc([first[i] for i in sample], drawn)
        b = roc_auc([second[i] for i in sample], drawn)
        if a is not None and b is not None:
            differences.append(a - b)
    differences.sort()
    return differences[int(0.025 * BOOTSTRAP)], differences[int(0.975 * BOOTSTRAP) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None,
                        help="the accounts-receivable CSV (default ../shared/data/ from the "
                             "repository root)")  # fmt: skip
    parser.add_argument("--model", choices=[*sorted(MODELS), "all"], default="all")
    args = parser.parse_args()
    try:
        imported = load_accounts_receivable(args.data)
    except FileNotFoundError as error:
        parser.exit(2, f"{error}\n")
    figures: dict[str, object] = {"bench": "quality"}
    for model in sorted(MODELS) if args.model == "all" else [args.model]:
        found = evaluate(imported, replay(imported, model), model)
        figures |= {f"{model}_{name}": value for name, value in found.items()}
    print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main()
