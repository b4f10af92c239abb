"""Champion and challengers: every model scores every invoice, the champion's probability
drives, a `model` control document promotes a challenger without a new engine, and the
guard refuses a challenger that is not ahead."""

from datetime import UTC, datetime

import pytest

from detectors.champion import Lineup, promotion_refused
from detectors.delayed_labels import LabelledExample
from detectors.late_payment import LatePaymentModel
from streams.backtest.backtest import Backtest, FileSink, build_engine
from streams.backtest.report import read_lines, summarise
from streams.backtest.sources import Source, in_memory
from streams.cli.generate import generate_events
from streams.engine import CustomerRecord, Engine
from streams.engine.control import InvalidDocument, apply_document, parse_document

END = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def history():
    return list(generate_events(40, 240, END, seed=5))


def _promote(engine: Engine, champion: str, version: str = "m1") -> None:
    document = parse_document(f"kind: model\nversion: {version}\nbody: {{champion: {champion}}}")
    engine.configure(apply_document(engine.risk, document))


def _run(engine: Engine, events, records=None) -> list:
    records = {} if records is None else records
    examples = []
    for event in events:
        record = records.setdefault(event.customer_id, CustomerRecord.new(event.customer_id))
        examples += engine.process(record, event).examples
    return examples


def test_every_model_scores_every_invoice_and_the_champions_probability_drives(history, tmp_path):
    engine = build_engine("logreg", challengers=["arf"])
    with FileSink(tmp_path) as sink:
        Backtest(engine).run(Source(in_memory(history, "generated")), sink)
    lines = list(read_lines(tmp_path / "invoices.jsonl"))
    assert lines and all(set(line["probabilities"]) == {"logreg", "arf"} for line in lines)
    assert all(line["probability"] == line["probabilities"]["logreg"] for line in lines)
    assert any(line["probabilities"]["arf"] != line["probabilities"]["logreg"] for line in lines)
    known = sum(line["late"] is not None for line in lines)
    monitors = engine.lineup.monitors
    assert monitors["logreg"].n == monitors["arf"].n == known  # judged on the same labels
    assert engine.lineup.models["arf"].n_learned == engine.model.n_learned == known
    models = summarise(tmp_path)["model"]["models"]
    assert set(models) == {"logreg", "arf"} and models["logreg"]["auc"] != models["arf"]["auc"]


def test_one_model_writes_no_probabilities_beside_its_own(history, tmp_path):
    with FileSink(tmp_path) as sink:
        Backtest(build_engine("logreg")).run(Source(in_memory(history, "generated")), sink)
    assert not any("probabilities" in line for line in read_lines(tmp_path / "invoices.jsonl"))
    assert "models" not in summarise(tmp_path)["model"]


def test_a_model_document_promotes_the_challenger_and_a_rollback_restores_the_own(history):
    engine = Engine(model=LatePaymentModel("logreg"), challengers=[LatePaymentModel("arf")])
    half = len(history) // 2
    records: dict = {}
    before = _run(engine, history[:half], records)
    _promote(engine, "arf")
    assert engine.model.name == "arf" and engine.versions.model.startswith("arf@")
    after = _run(engine, history[half:], records)
    issued_after = [e for e in after if e.issued_at >= history[half].event_time]
    assert before and issued_after
    assert all(e.probability == e.probabilities["logreg"] for e in before)
    assert all(e.probability == e.probabilities["arf"] for e in issued_after)
    engine.configure(apply_document(engine.risk, parse_document(
        "kind: rules\nversion: r9\nbody: {rules: []}")))  # fmt: skip
    assert engine.model.name == "arf"  # another kind leaves the champion as it is
    engine.configure(engine.risk.__class__())  # every kind back to its built-in default
    assert engine.model.name == "logreg"


def test_a_champion_the_engine_does_not_score_changes_nothing():
    engine = Engine(model=LatePaymentModel("logreg"))
    risk = engine.risk
    with pytest.raises(ValueError, match="arf is not in this lineup"):
        _promote(engine, "arf")
    assert engine.model.name == "logreg" and engine.risk is risk


def test_a_model_document_names_a_known_model():
    with pytest.raises(InvalidDocument, match="unknown model 'gbm'"):
        parse_document("kind: model\nversion: m2\nbody: {champion: gbm}")


def _outcome(number: int, late: bool, probabilities: dict[str, float]) -> LabelledExample:
    at = datetime(2026, 3, 2, tzinfo=UTC)
    return LabelledExample(invoice_id=f"i{number}", features={}, probability=0.5, issued_at=at,
                           due_date=at.date(), label=late, labelled_at=at,
                           probabilities=probabilities)  # fmt: skip


def test_the_guard_wants_enough_common_labels_and_a_better_ranking():
    lineup = Lineup(LatePaymentModel("logreg"), [LatePaymentModel("arf")])

    def ahead(lineup: Lineup, challenger: str, min_labels: int) -> str | None:
        return promotion_refused(challenger, lineup.champion, lineup.health(), min_labels)

    assert ahead(lineup, "logreg", 10) is None  # the champion already
    assert "no figures of gbm" in ahead(lineup, "gbm", 10)
    labels = [i % 3 == 0 for i in range(300)]
    for i, late in enumerate(labels):
        sharp = 0.8 if late else 0.2
        lineup.observe(_outcome(i, late, {"logreg": 0.5 + (i % 7) / 100, "arf": sharp}))
    assert (
        ahead(lineup, "arf", 301)
        == "arf has 300 labels in common with logreg; the guard asks for 301"
    )
    assert ahead(lineup, "arf", 300) is None
    worse = Lineup(LatePaymentModel("arf"), [LatePaymentModel("logreg")])
    for i, late in enumerate(labels):
        worse.observe(_outcome(i, late, {"arf": 0.8 if late else 0.2,
                                         "logreg": 0.5 + (i % 7) / 100}))  # fmt: skip
    assert ahead(worse, "logreg", 100).startswith("logreg is not ahead: ROC AUC")


def test_the_trainer_learns_and_judges_every_model_and_snapshots_each():
    from detectors.delayed_labels import LabelledExample
    from detectors.snapshots import load
    from streams.worker.models import Trainer, snapshot_key

    trainer = Trainer(Lineup(LatePaymentModel("logreg"), [LatePaymentModel("arf")]), 3)
    at = datetime(2026, 3, 2, tzinfo=UTC)
    due = []
    for n in range(3):
        example = LabelledExample(
            invoice_id=f"i{n}", features={"limit_use": n / 3}, probability=0.2, issued_at=at,
            due_date=at.date(), label=n == 2, labelled_at=at,
            probabilities={"logreg": 0.2, "arf": 0.1 + n / 4},
        )  # fmt: skip
        trainer.learn(example)
        due.append(trainer.due)
    assert due == [False, False, True]
    trainer.learn(example)  # a redelivery
    health = trainer.lineup.health()
    assert health["arf"]["n"] == health["logreg"]["n"] == 3
    assert health["arf"]["auc"] == 1.0 and health["logreg"]["auc"] == 0.5
    key = b"a shared secret of 16+ bytes"
    snapshots = dict(trainer.snapshots(key))
    assert {name: load(blob, key)[1] for name, blob in snapshots.items()} == {
        "logreg": "logreg@3", "arf": "arf@3"}  # fmt: skip
    assert trainer.snapshots(key) == []  # nothing learnt since
    assert snapshot_key("arf") == b"late_payment:arf"
