"""Every shipped late-payment model on a history with business-to-business payment calendars:
invoices due at month ends, paid in weekly or monthly runs, some in parts, so outcomes come in
blocks of one kind. Learnt as they came, the forest said one constant (AUC 0.5) and the
regression was off by far in its probabilities; now every model must rank and be calibrated.
"""

import statistics
from datetime import UTC, datetime

import pytest

from detectors.late_payment import MODELS
from streams.backtest import report
from streams.backtest.backtest import Backtest, FileSink, build_engine
from streams.backtest.sources import Source, in_memory
from streams.cli.generate import B2B, generate_events

END = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def history():
    return list(generate_events(200, 365, END, seed=11, calendar=B2B))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_ranks_and_is_calibrated_on_a_payment_calendar(name, history, tmp_path):
    with FileSink(tmp_path) as sink:
        backtest = Backtest(build_engine(name, learn=True))
        backtest.run(Source(in_memory(history, "generated")), sink)
    quality = report.summarise(tmp_path)["model"]
    predicted = [
        line["probability"]
        for line in report.read_lines(tmp_path / "invoices.jsonl")
        if line["late"] is not None
    ]
    assert quality["invoices"] == len(predicted) > 5_000
    assert statistics.pstdev(predicted) > 0.15 and len(set(predicted)) > 1_000  # no constant
    assert quality["auc"] > AUC_BOUND
    assert quality["ece"] < ECE_BOUND
    late_rate = quality["late"] / quality["invoices"]
    assert statistics.fmean(predicted) == pytest.approx(late_rate, abs=0.05)
