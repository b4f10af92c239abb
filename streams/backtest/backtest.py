"""``riskstream backtest``: the workers' engine over history, outputs to files or prefixed topics.

A `Backtest` reads a `streams.backtest.sources.Source`, replays it in event time
(`streams.engine.replay`) and writes what the engine says to a sink (`streams.backtest.outlets`):
alerts, risk changes, order decisions, credit actions, model drift, dead letters (of inputs that
are not valid events and of events the engine refuses), and one line per invoice with the
prediction made at issue and the outcome it had. The same input and configuration give
byte-identical outputs.

>>> import tempfile, pathlib
>>> from datetime import datetime, UTC
>>> from streams.cli.generate import generate_events
>>> from streams.backtest.sources import Source, in_memory
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> events = generate_events(customers=3, days=90, end=datetime(2026, 6, 1, tzinfo=UTC))
>>> with FileSink(folder) as sink:
...     tally = Backtest(build_engine()).run(Source(in_memory(events, "generated")), sink)
>>> tally.events > 0 and tally.alerts > 0 and tally.actions > 0 and tally.invoices > 0
True
>>> sorted(path.name for path in folder.iterdir())  # doctest: +NORMALIZE_WHITESPACE
['actions.jsonl', 'alerts.jsonl', 'cases.jsonl', 'changes.jsonl', 'customers.jsonl',
 'deadletter.jsonl', 'decisions.jsonl', 'invoices.jsonl', 'ledger.jsonl', 'model_health.jsonl']
"""

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from detectors.delayed_labels import LabelledExample, Prediction
from detectors.late_payment import MODELS, LatePaymentModel
from features import FeatureConfig
from schemas.codec import dumps
from schemas.outputs import DeadLetter, ModelDrift
from schemas.validation import InvalidEvent
from streams.backtest.ledger import Ledger
from streams.backtest.outlets import OUTPUTS, ConfigError, FileSink, Sink, Tee, TopicSink
from streams.backtest.progress import ProgressBar
from streams.backtest.sources import Reject, Source, csv_source, jsonl_source, kafka_source
from streams.engine import Engine
from streams.engine.control import InvalidDocument, config_from_files
from streams.engine.deadletter import dead_letter
from streams.engine.replay import Replay, Step
from streams.settings import Settings

PROGRESS_EVERY = 1_000


def build_engine(
    model: str = "logreg",
    documents: Sequence[Path] = (),
    learn: bool = True,
    features: FeatureConfig | None = None,
    challengers: Sequence[str] = (),
) -> Engine:
    """The engine a backtest runs: the workers' own, with a model and the control documents
    (rule set, scorecard, tiers, decision and credit policies) of one's choice over the
    defaults.

    ``learn``: the model learns each invoice's outcome when it is known, as the trainer does
    live; off, it keeps predicting as it started (as a worker that never loads a snapshot).
    ``challengers``: models scored beside ``model``, learning alike.
    """
    for name in (model, *challengers):
        if name not in MODELS:
            raise ConfigError(f"unknown model {name!r}: choose one of {', '.join(sorted(MODELS))}")
    try:
        risk = config_from_files(documents)
    except InvalidDocument as error:
        raise ConfigError(str(error)) from None
    try:
        return Engine(features, risk=risk, model=LatePaymentModel(model), learn=learn,
                      challengers=[LatePaymentModel(name) for name in challengers])  # fmt: skip
    except ValueError as error:  # a model document naming a model not in the lineup
        raise ConfigError(str(error)) from None


@dataclass(slots=True)
class Tally:
    """What a backtest read and wrote, and where its time went."""

    events: int = 0
    rejected: int = 0
    """Inputs that are not valid events."""
    refused: int = 0
    """Valid events the engine refused (inconsistent, or later than the lateness)."""
    failed: int = 0
    """Events and clock steps the engine failed on unexpectedly (a bug)."""
    clock_steps: int = 0
    alerts: int = 0
    changes: int = 0
    decisions: int = 0
    actions: int = 0
    cases: int = 0
    """Case revisions."""
    customers: int = 0
    """Customer updates of accepted credit proposals."""
    model_health: int = 0
    deadletter: int = 0
    invoices: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    engine_seconds: float = 0.0
    """CPU time in the engine; ``cpu_seconds`` minus it is the backtester's own work."""
    first: datetime | None = None
    last: datetime | None = None

    def count(self, kind: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)

    def describe(self) -> str:
        """A few lines for people: counts, speed, and how much of the time the engine took."""
        rate = self.events / self.seconds if self.seconds else 0.0
        engine = self.engine_seconds / self.cpu_seconds if self.cpu_seconds else 0.0
        span = f"{self.first:%Y-%m-%d} to {self.last:%Y-%m-%d}" if self.first and self.last else "-"
        return (
            f"{self.events:,} events ({span}), {self.rejected:,} rejected, "
            f"{self.refused:,} refused by the engine, {self.failed:,} failed, "
            f"{self.clock_steps:,} clock steps\n"
            f"{self.alerts:,} alerts, {self.changes:,} risk changes, {self.decisions:,} "
            f"decisions, {self.actions:,} credit actions, {self.cases:,} case revisions, "
            f"{self.model_health:,} model drifts, "
            f"{self.invoices:,} invoices\n"
            f"{self.seconds:.2f} s, {rate:,.0f} events/s; engine {engine:.0%} of the CPU time, "
            f"reading, merging and writing {1 - engine:.0%}"
        )


class Backtest:
    """Replays a source through one engine into a sink; `reject` takes the source's bad lines,
    and an event the engine refuses is a dead letter too, as in a worker."""

    def __init__(self, engine: Engine, progress: bool = False) -> None:
        self.replay = Replay(engine)
        self.progress = progress
        self.tally = Tally()
        self.sink: Sink  # set by run: a source reads, and so rejects, only while it runs

    def reject(self, letter: DeadLetter) -> None:
        """Write a dead letter for an input that is not a valid event."""
        self.tally.rejected += 1
        self._emit(letter, letter.key)

    def run(self, source: Source, sink: Sink) -> Tally:
        """Replay every event; time passes up to the last one, not beyond."""
        self.sink = sink
        started, cpu_started = time.perf_counter(), time.thread_time()
        tally = self.tally
        config = self.replay.engine.config  # the money of the history, for the report
        ledger = Ledger(self._write_ledger, max(config.payment_retention, config.lateness))
        with ProgressBar(self.progress, source.count) as (progress, task):
            for event, origin in source.events:
                tally.events += 1
                if tally.first is None:
                    tally.first = event.event_time
                tally.last = event.event_time
                try:
                    self._take(self.replay.feed(event))
                except InvalidEvent as error:
                    tally.count("failed" if error.code == "failed" else "refused")
                    letter = origin.reject(error)
                    self._emit(letter, letter.key)
                else:
                    ledger.feed(event)
                if not tally.events % PROGRESS_EVERY:
                    progress.update(task, completed=tally.events + tally.rejected)
            progress.update(task, completed=tally.events + tally.rejected)
        if tally.last is not None:
            self._take(self.replay.advance(tally.last))
        self._write_open_invoices()
        ledger.close()
        tally.seconds = time.perf_counter() - started
        tally.cpu_seconds = time.thread_time() - cpu_started
        tally.engine_seconds = self.replay.engine_seconds
        return tally

    def _take(self, steps: Iterator[Step]) -> None:
        for step in steps:
            if step.event is None:
                self.tally.clock_steps += 1
            outputs, key = step.outputs, step.customer_id.encode()
            if step.failed is not None:
                self.tally.failed += 1
                self._emit(clock_letter(step, step.failed), key)
            for output in outputs.events():
                if not isinstance(output, ModelDrift | LabelledExample):
                    self._emit(output, key)
            for drift in outputs.drifts:  # keyed by model, as the workers key them
                self._emit(drift, drift.model)
            for example in outputs.examples:
                self.sink.write("invoices", key, invoice_line(step.customer_id, example))
                self.tally.invoices += 1

    def _emit(self, output: BaseModel, key: str | bytes | None) -> None:
        kind = OUTPUTS[type(output)]
        self.sink.write(kind, key.encode() if isinstance(key, str) else key, dumps(output))
        self.tally.count(kind)

    def _write_ledger(self, line: dict[str, Any]) -> None:
        self.sink.write("ledger", line["customer_id"].encode(), orjson.dumps(line))

    def _write_open_invoices(self) -> None:
        """Invoices whose outcome is not known by the end: their prediction, outcome null."""
        for customer_id in sorted(self.replay.records):
            pending = self.replay.records[customer_id].memo.pending.predictions()
            for prediction in sorted(pending, key=lambda p: p.invoice_id):
                line = invoice_line(customer_id, prediction)
                self.sink.write("invoices", customer_id.encode(), line)
                self.tally.invoices += 1


def clock_letter(step: Step, error: InvalidEvent) -> DeadLetter:
    """The dead letter of time passing that failed: source ``clock``, the payload a worker's
    tick to the same effect.

    >>> from datetime import UTC, datetime
    >>> from streams.engine.deadletter import failure
    >>> from streams.engine import Outputs
    >>> step = Step("c1", None, datetime(2026, 2, 1, tzinfo=UTC), Outputs())
    >>> letter = clock_letter(step, failure(OverflowError("date value out of range")))
    >>> letter.source_topic, letter.reason_code, letter.payload
    ('clock', 'failed', '{"customer_id":"c1","now":"2026-02-01T00:00:00+00:00"}')
    """
    tick = orjson.dumps({"customer_id": step.customer_id, "now": step.now.isoformat()})
    return dead_letter(error, "clock", None, None, step.customer_id.encode(), tick)


def invoice_line(customer_id: str, prediction: Prediction) -> bytes:
    """One invoice: the probability of paying late predicted at issue, and what happened.

    ``late`` is True when it was paid late, went overdue or was written off, False when paid on
    time, None when still open at the end of the history.

    >>> from datetime import UTC, date, datetime
    >>> example = LabelledExample(invoice_id="i1", features={}, probability=0.25, label=True,
    ...     issued_at=datetime(2026, 1, 5, tzinfo=UTC), due_date=date(2026, 2, 4),
    ...     labelled_at=datetime(2026, 2, 5, tzinfo=UTC))
    >>> line = orjson.loads(invoice_line("c1", example))
    >>> line["issued_at"], line["due_date"], line["probability"], line["late"], line["known_at"]
    ('2026-01-05T00:00:00Z', '2026-02-04', 0.25, True, '2026-02-05T00:00:00Z')
    """
    labelled = isinstance(prediction, LabelledExample)
    return orjson.dumps(
        {
            "type": "invoice_outcome",
            "customer_id": customer_id,
            "invoice_id": prediction.invoice_id,
            "issued_at": prediction.issued_at,
            "due_date": prediction.due_date,
            "probability": prediction.probability,
            "late": prediction.label if labelled else None,
            "known_at": prediction.labelled_at if labelled else None,
            **({"probabilities": prediction.probabilities} if prediction.probabilities else {}),
        },
        option=orjson.OPT_UTC_Z,
    )


@dataclass(frozen=True, slots=True)
class Configuration:
    """What a backtest varies: the late-payment model, the control documents, whether the
    model learns."""

    model: str = "logreg"
    documents: tuple[Path, ...] = ()
    learn: bool = True
    challengers: tuple[str, ...] = ()

    def describe(self) -> str:
        learning = "learning" if self.learn else "not learning"
        documents = ", ".join(map(str, self.documents)) or "the defaults"
        beside = f", challengers {', '.join(self.challengers)}" if self.challengers else ""
        return f"model {self.model} ({learning}{beside}), configuration {documents}"


@dataclass(frozen=True, slots=True)
class History:
    """Where the history comes from: JSON Lines files, the CSV, or the topics from ``start``."""

    files: Sequence[Path] = ()
    csv: Path | None = None
    start: datetime | None = None
    end: datetime | None = None

    def open(self, settings: Settings, reject: Reject) -> Source:
        """A fresh source of the history (each configuration of a comparison reads its own)."""
        if self.csv is not None:
            try:
                return csv_source(self.csv, reject)
            except (ValueError, OSError) as error:  # OSError: DataNotFound, unreadable
                raise ConfigError(str(error)) from None
        if self.start is not None:
            # imported here: a backtest from files loads no Kafka client
            from aiokafka.errors import KafkaError

            if self.end is None or self.end <= self.start:
                raise ConfigError("--end must be after --start")
            try:
                return kafka_source(settings.kafka_client, settings.topics.inputs(),
                                    settings.partitions, self.start, self.end, reject)  # fmt: skip
            except (KafkaError, ValueError) as error:
                raise ConfigError(f"cannot read the input topics: {error}") from None
        return jsonl_source(list(self.files), reject)


def run_backtest(
    settings: Settings,
    history: History,
    output: Path,
    a: Configuration,
    b: Configuration | None = None,
    progress: bool = True,
    topic_prefix: str | None = None,
) -> dict[str, Tally]:
    """Backtest one configuration into ``output`` (or two, into ``output/a`` and ``output/b``,
    with a comparison), each with its report: ``report.json`` and ``report.html``. With a
    ``topic_prefix``, the outputs of one configuration go to those topics too."""
    from streams.backtest import report

    if topic_prefix is not None and b is not None:
        raise ConfigError("a topic prefix takes the outputs of one configuration: not with B")
    runs = {"": a} if b is None else {"a": a, "b": b}
    tallies, reports = {}, {}
    for name, configuration in runs.items():
        folder = output / name
        engine = build_engine(configuration.model, configuration.documents, configuration.learn,
                              settings.feature_config(), configuration.challengers)  # fmt: skip
        backtest = Backtest(engine, progress)
        source = history.open(settings, backtest.reject)  # fails before anything is written
        topics = None if topic_prefix is None else TopicSink(settings, topic_prefix)
        try:
            files = FileSink(folder)
        except OSError as error:
            raise ConfigError(f"cannot write to {folder}: {error.strerror}") from None
        sink: Sink = files if topics is None else Tee(files, topics)
        try:
            tallies[name] = backtest.run(source, sink)
        finally:
            sink.close()
        reports[name] = report.summarise(folder)
        report.write_json(folder / "report.json", reports[name])
        title = f"riskstream backtest: {configuration.describe()}"
        (folder / "report.html").write_text(report.render(reports[name], title), "utf-8")
    if b is not None:
        comparison = report.compare(output / "a", output / "b", reports["a"], reports["b"])
        report.write_json(output / "comparison.json", comparison)
        page = report.render_comparison(comparison, a.describe(), b.describe())
        (output / "comparison.html").write_text(page, "utf-8")
    return tallies
