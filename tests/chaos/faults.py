"""Faults against live workers on the real broker and Redis, and what they left behind, checked
output by output against the pure engine's replay of the same stream (the truth).

The workers follow at-least-once delivery with exactly-once effects: every output has a
deterministic id, so after a fault an output may be repeated on its topic, with the same id and
the same content (a *repeat*: expected), but never made twice differently (a *double*: the same
id with another content, or another id for the same thing), and Redis holds each id once.
An output of the truth missing on its topic or in Redis is *lost*.

The truth is the replay in event-time order with time passing between events (`Replay`), then
up to now, as a worker's clock lets it pass. Only what does not depend on the order in which a
worker happens to read its four input topics (and on when its clock ticks) is compared: the
decision of every order, the alerts of an invoice whose outcome no order can change (the
late-payment alert of an invoice no reversed payment paid, the overdue alert of an invoice
never paid), and every customer's final revision, exposure and open invoices. A worker that
reads a payment and its reversal before the invoice they pay never sees the invoice paid late,
and one whose clock ticks between an invoice and its late payment sees it overdue: no fault in
that. The other outputs (risk changes, credit actions, anomaly and rule alerts, scores and
tiers) are compared with a crash-free run of a worker over the same stream, when there is one,
and are in any case checked for doubles.
"""

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import redis
from aiokafka import AIOKafkaConsumer, TopicPartition

from detectors.late_payment import LatePaymentModel
from schemas.codec import dumps
from schemas.events import InputEvent, InvoiceIssued, PaymentReceived, PaymentReversed
from streams.cli.embedded import free_port
from streams.cli.generate import generate_events
from streams.engine import Engine
from streams.engine.replay import Replay
from streams.settings import Settings
from tests.integration import harness
from tests.integration.harness import REPO, Worker

KINDS: dict[str, tuple[str, str]] = {
    "alert": ("alerts", "alert_id"),
    "risk_change": ("changes", "change_id"),
    "order_decision": ("decisions", "decision_id"),
    "credit_action": ("actions", "action_id"),
}
"""The outputs that happen once, by ``type``: the field of the topics naming its topic, and the
name of its id."""
REDIS_STREAMS = {"alert": "alerts", "credit_action": "actions", "risk_change": "risk-changes"}
"""The portfolio feed (``{prefix}:feed:{name}``) that holds each output of a kind once."""
INVOICE_ALERTS = {"late_payment", "overdue"}
"""Alerts about an invoice (their cause may be the clock)."""
STATE = ("revision", "exposure", "open_invoices")
"""A customer's final state that the order of reading does not change."""


def thing(output: dict) -> tuple:
    """What an output is about: two outputs with different ids about the same thing are a
    double. An invoice's alert is about the invoice (its cause may be the clock), a decision
    about its order, any other about its kind (and rule, or anomaly) and its cause."""
    kind, details = output["type"], output.get("details") or {}
    if kind == "order_decision":
        return kind, output["order_id"]
    if kind == "alert" and output["kind"] in INVOICE_ALERTS:
        return kind, output["kind"], details["invoice_id"]
    about = (
        output.get("kind"),
        details.get("rule_id"),
        details.get("what"),
        details.get("feature"),
    )
    return kind, output["customer_id"], *about, output["source_event_id"]


@dataclass
class Truth:
    """The outputs and final customers of the pure engine's replay of a stream."""

    events: list[InputEvent]
    outputs: dict[str, dict[str, dict]]
    """Type -> id -> output (as JSON), of the outputs compared with the truth."""
    customers: dict[str, dict[str, Any]]
    """Customer -> its final state (`STATE`)."""


def history(customers: int, days: int, settings: Settings, seed: int = 5) -> Truth:
    """A generated history up to now, and its truth for workers of ``settings``."""
    events = list(generate_events(customers, days, end=datetime.now(UTC), seed=seed))
    return truth_of(events, settings)


def truth_of(events: list[InputEvent], settings: Settings) -> Truth:
    """Replay ``events`` through the pure engine configured as a worker of ``settings``."""
    engine = Engine(
        settings.feature_config(), model=LatePaymentModel(settings.model_name), learn=False
    )
    replay = Replay(engine)
    outputs: dict[str, dict[str, dict]] = {kind: {} for kind in ("alert", "order_decision")}
    pictures: dict[str, Any] = {}
    order_free = order_free_invoices(events)

    def keep(steps: Iterable[Any]) -> None:
        for step in steps:
            for output in step.outputs.events():
                found = orjson.loads(dumps(output))
                kind = found["type"]
                if kind == "order_decision" or (
                    kind == "alert"
                    and found["details"].get("invoice_id") in order_free.get(found["kind"], ())
                ):
                    outputs[kind][found[KINDS[kind][1]]] = found
            if step.outputs.picture is not None:
                pictures[step.customer_id] = step.outputs.picture

    for event in events:
        keep(replay.feed(event))
    keep(replay.advance(datetime.now(UTC)))
    customers = {
        customer: {
            "revision": p.revision,
            "exposure": p.exposure,
            "open_invoices": p.open_invoices,
        }
        for customer, p in pictures.items()
    }
    return Truth(events, outputs, customers)


def order_free_invoices(events: Iterable[InputEvent]) -> dict[str, set[str]]:
    """Alert kind -> the invoices whose alert of that kind every order of reading makes: no
    reversed payment paid them (late payment), nothing paid them (overdue).

    >>> from schemas import InvoiceIssued, PaymentReceived, PaymentReversed, Money
    >>> when, eur = "2026-01-01T00:00:00Z", Money(amount="5.00", currency="EUR")
    >>> issued = [InvoiceIssued(event_id=f"i{n}", customer_id="c", invoice_id=f"inv{n}",
    ...                         event_time=when, due_date="2026-01-31", amount=eur)
    ...           for n in (1, 2, 3)]
    >>> paid = [PaymentReceived(event_id=f"p{n}", customer_id="c", payment_id=f"p{n}",
    ...                         invoice_id=f"inv{n}", event_time=when, amount=eur)
    ...         for n in (1, 2)]
    >>> reversed_ = PaymentReversed(event_id="r2", customer_id="c", payment_id="p2",
    ...                             event_time=when)
    >>> found = order_free_invoices([*issued, *paid, reversed_])
    >>> sorted(found["late_payment"]), sorted(found["overdue"])
    (['inv1', 'inv3'], ['inv3'])
    """
    invoices: set[str] = set()
    paying: dict[str, str | None] = {}
    reversed_payments: set[str] = set()
    for event in events:
        if isinstance(event, InvoiceIssued):
            invoices.add(event.invoice_id)
        elif isinstance(event, PaymentReceived):
            paying[event.payment_id] = event.invoice_id
        elif isinstance(event, PaymentReversed):
            reversed_payments.add(event.payment_id)
    reversed_ = {paying.get(payment) for payment in reversed_payments}
    paid = set(paying.values())
    if None in paid:  # a payment that names no invoice may pay any
        return {
            "late_payment": set() if None in reversed_ else invoices - reversed_,
            "overdue": set(),
        }
    return {"late_payment": invoices - reversed_, "overdue": invoices - paid}


# What a run left behind ---------------------------------------------------------------------


@dataclass
class Left:
    """What a run left on its topics and in Redis."""

    topics: dict[str, list[dict]]
    """Type -> every output of the kind read from its topic, repeats included."""
    feeds: dict[str, list[str]]
    """Type -> the ids in its portfolio feed in Redis, in order."""
    streams: dict[str, list[str]]
    """``alerts`` / ``actions`` -> the ids in every customer's stream of the kind."""
    customers: dict[str, dict[str, str]]
    """Customer -> its picture in Redis."""
    published: dict[str, dict]
    """Customer -> its picture of the highest revision on the customers' topic."""


async def read_topic(settings: Settings, topic: str) -> list[dict]:
    """Every record of ``topic``, from its start to its end now."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(settings.partitions)]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[dict] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for tp, batch in (await consumer.getmany(timeout_ms=500)).items():
                records += [orjson.loads(r.value) for r in batch if r.offset < ends[tp]]
        return records
    finally:
        await consumer.stop()


def left_by(settings: Settings, client: redis.Redis, customers: Iterable[str]) -> Left:
    topics = {
        kind: harness.run(read_topic(settings, getattr(settings.topics, topic)))
        for kind, (topic, _) in KINDS.items()
    }
    prefix = settings.redis_prefix
    feeds = {
        kind: [entry[KINDS[kind][1]] for _, entry in client.xrange(f"{prefix}:feed:{name}")]
        for kind, name in REDIS_STREAMS.items()
    }
    streams: dict[str, list[str]] = {"alerts": [], "actions": []}
    pictures = {}
    for customer in customers:
        for name, id_name in (("alerts", "alert_id"), ("actions", "action_id")):
            streams[name] += [e[id_name] for _, e in client.xrange(f"{prefix}:{name}:{customer}")]
        pictures[customer] = client.hgetall(f"{prefix}:customer:{customer}")
    published: dict[str, dict] = {}
    for picture in harness.run(read_topic(settings, settings.topics.customers_out)):
        newest = published.setdefault(picture["customer_id"], picture)
        if picture["revision"] > newest["revision"]:
            published[picture["customer_id"]] = picture
    return Left(topics, feeds, streams, pictures, published)


# The comparison -----------------------------------------------------------------------------


@dataclass
class Tally:
    """One kind of output of a faulted run: what is lost, repeated, changed, doubled (ids)."""

    kind: str
    on_topic: int = 0
    """Distinct ids on its topic."""
    expected: int = 0
    """Outputs of the truth to find on the topic."""
    lost: list[str] = field(default_factory=list)
    """Outputs of the truth missing on the topic."""
    lost_in_redis: list[str] = field(default_factory=list)
    """Outputs on the topic that Redis (feed, or the customer's stream) has not."""
    repeats: int = 0
    """Records on the topic repeating an earlier one: same id, same content (expected)."""
    changed: list[str] = field(default_factory=list)
    """Ids on the topic twice with different contents: a redelivery made another output."""
    doubles: list[str] = field(default_factory=list)
    """Ids of two outputs about the same thing, or ids twice in Redis."""
    unlike_reference: int = 0
    """Ids on the topic that the crash-free run has not, and the other way round."""

    def figures(self) -> dict[str, int]:
        return {
            "on_topic": self.on_topic,
            "expected": self.expected,
            "lost": len(self.lost),
            "lost_in_redis": len(self.lost_in_redis),
            "repeats": self.repeats,
            "same_id_other_content": len(self.changed),
            "other_id_same_thing": len(self.doubles),
        }


@dataclass
class Comparison:
    tallies: dict[str, Tally]
    state_differences: list[str]
    """``customer field where: found != expected`` for every difference from the truth's final
    state (revision, exposure, open invoices) of a customer's picture in Redis, and of its
    newest on the customers' topic."""
    unlike_reference: dict[str, float] | None = None
    """Against the crash-free run (None: none to compare with): customers of another tier,
    customers of another score, the largest difference of scores (points)."""

    def total(self, name: str) -> int:
        return sum(t.figures()[name] for t in self.tallies.values())

    @property
    def lost(self) -> int:
        return self.total("lost") + self.total("lost_in_redis")

    @property
    def true_doubles(self) -> int:
        return self.total("same_id_other_content") + self.total("other_id_same_thing")

    def figures(self) -> dict[str, Any]:
        figures = {
            "lost": self.lost,
            "repeats": self.total("repeats"),
            "true_doubles": self.true_doubles,
            "same_id_other_content": self.total("same_id_other_content"),
            "other_id_same_thing": self.total("other_id_same_thing"),
            "state_differences": len(self.state_differences),
            "by_kind": {kind: tally.figures() for kind, tally in self.tallies.items()},
        }
        if self.unlike_reference is not None:
            figures |= self.unlike_reference
            for kind, tally in self.tallies.items():
                figures["by_kind"][kind]["unlike_reference"] = tally.unlike_reference
        return figures

    def failures(self, *, changed: bool = True) -> str:
        """What went wrong, for an assertion message (``changed``: same ids with another
        content too); empty when nothing did."""
        lines = []
        for kind, t in self.tallies.items():
            wrong = {"lost": t.lost, "lost in Redis": t.lost_in_redis, "doubled": t.doubles}
            if changed:
                wrong["changed"] = t.changed
            lines += [f"{kind} {name}: {ids[:5]}" for name, ids in wrong.items() if ids]
        return "\n".join(lines + self.state_differences[:10])


def compare(truth: Truth, left: Left, reference: Left | None = None) -> Comparison:
    """``left`` against the truth, and its order-dependent outputs, scores and tiers against
    ``reference`` (a crash-free run over the same stream) if given."""
    tallies = {kind: tally_of(kind, truth, left) for kind in KINDS}
    for name, kind in (("alerts", "alert"), ("actions", "credit_action")):
        tallies[kind].doubles += [i for i, n in Counter(left.streams[name]).items() if n > 1]
        tallies[kind].lost_in_redis += sorted(set(left.feeds[kind]) - set(left.streams[name]))
    differences = []
    for customer, state in truth.customers.items():
        for where, found in (("in Redis", left.customers), ("on the topic", left.published)):
            stored = found.get(customer) or {}
            differences += [
                f"{customer} {name} {where}: {stored.get(name)} != {state[name]}"
                for name in STATE
                if str(stored.get(name)) != str(state[name])
            ]
    comparison = Comparison(tallies, differences)
    if reference is not None:
        for kind, (_, id_name) in KINDS.items():
            ids = [{o[id_name] for o in run.topics[kind]} for run in (left, reference)]
            tallies[kind].unlike_reference = len(ids[0] ^ ids[1])
        pairs = [(stored, reference.customers[c]) for c, stored in left.customers.items()]
        gaps = [abs(float(a.get("score") or 0) - float(b.get("score") or 0)) for a, b in pairs]
        comparison.unlike_reference = {
            "other_tier": sum(a.get("tier") != b.get("tier") for a, b in pairs),
            "other_score": sum(gap > 0 for gap in gaps),
            "largest_score_gap": round(max(gaps, default=0.0), 2),
        }
    return comparison


def tally_of(kind: str, truth: Truth, left: Left) -> Tally:
    """The outputs of ``kind`` on the topic: repeats, changes, doubles, and what the truth has
    and the topic has not, or the topic has and Redis has not."""
    id_name = KINDS[kind][1]
    tally = Tally(kind)
    contents: dict[str, bytes] = {}
    things: dict[tuple, set[str]] = {}
    for output in left.topics[kind]:
        key, content = output[id_name], orjson.dumps(output, option=orjson.OPT_SORT_KEYS)
        if key not in contents:
            contents[key] = content
        elif contents[key] == content:
            tally.repeats += 1
        elif key not in tally.changed:
            tally.changed.append(key)
        things.setdefault(thing(output), set()).add(key)
    tally.doubles += sorted(i for ids in things.values() if len(ids) > 1 for i in ids)
    tally.on_topic = len(contents)
    expected = set(truth.outputs.get(kind, {}))
    tally.expected = len(expected)
    tally.lost = sorted(expected - set(contents))
    if kind in REDIS_STREAMS:
        fed = left.feeds[kind]
        tally.lost_in_redis += sorted(set(contents) - set(fed))
        tally.doubles += [i for i, n in Counter(fed).items() if n > 1]
    return tally


# Running workers ----------------------------------------------------------------------------


@dataclass
class Run:
    """Workers of one isolated app id (own topics and Redis keys) over one stream."""

    env: dict[str, str]
    truth: Truth
    client: redis.Redis
    logs: Path
    workers: list[Worker] = field(default_factory=list)

    @classmethod
    def over(
        cls, bootstrap: str, redis_url: str, scratch: Path, truth: Truth, partitions: int = 2
    ) -> "Run":
        """A run of the stream of ``truth``, on topics of its own."""
        env = harness.isolated_env(bootstrap, redis_url, scratch / "data", partitions)
        env["RISKSTREAM_SESSION_TIMEOUT"] = "6"  # the least: a dead worker's partitions move soon
        harness.run(harness.create_topics(harness.settings_of(env)))
        scratch.mkdir(parents=True, exist_ok=True)
        return cls(env, truth, redis.Redis.from_url(redis_url, decode_responses=True), scratch)

    @classmethod
    def of(
        cls,
        bootstrap: str,
        redis_url: str,
        scratch: Path,
        customers: int,
        days: int,
        partitions: int = 2,
    ) -> "Run":
        """A run of a generated history of ``customers`` over ``days``."""
        settings = harness.settings_of(harness.isolated_env(bootstrap, redis_url, scratch))
        truth = history(customers, days, settings)
        return cls.over(bootstrap, redis_url, scratch, truth, partitions)

    @property
    def settings(self) -> Settings:
        return harness.settings_of(self.env)

    def send(self, events: list[InputEvent]) -> None:
        harness.run(harness.send(self.settings, events))

    def start(self, name: str, beside: bool = False) -> Worker:
        """Start a worker; ``beside`` others running: with a web port and data dir of its own
        (else those of the run, as a worker restarted in the place of a dead one)."""
        env = self.env
        if beside:
            env = env | {"RISKSTREAM_WEB_PORT": str(free_port()),
                         "RISKSTREAM_DATA_DIR": str(self.logs / f"data-{name}")}  # fmt: skip
        worker = Worker(env, self.logs / f"{name}.log").start()
        self.workers.append(worker)
        return worker

    def revisions(self) -> dict[str, int]:
        """Customer -> its revision in Redis (-1: none yet)."""
        customers = list(self.truth.customers)
        with self.client.pipeline(transaction=False) as pipe:
            for customer in customers:
                pipe.hget(f"{self.settings.redis_prefix}:customer:{customer}", "revision")
            stored = pipe.execute()
        return {c: int(s) if s is not None else -1 for c, s in zip(customers, stored, strict=True)}

    def progress(self) -> float:
        """The share of the final revisions Redis has."""
        final = sum(state["revision"] for state in self.truth.customers.values())
        return sum(max(r, 0) for r in self.revisions().values()) / final

    def resumed_after(self, since: float, timeout: float = 180) -> float:
        """Seconds from ``since`` (monotonic) until every customer not at its final revision
        now has moved on (or there is none); fails if that takes longer than ``timeout``."""
        before = self.revisions()
        waiting = {c for c, s in self.truth.customers.items() if before[c] < s["revision"]}

        def moved() -> bool:
            now = self.revisions()
            waiting.difference_update(c for c in list(waiting) if now[c] > before[c])
            return not waiting

        assert harness.wait_for(moved, timeout, 0.2), self.tails()
        return time.monotonic() - since

    def settle(self, timeout: float = 240) -> None:
        """Until Redis has every customer at its final revision and every output of the truth
        is on its topic, then until Redis holds every output on the topics of the kinds it
        keeps (at most a minute each: what stays missing is lost). Redis follows the topics, so
        after kills it can be seconds behind them."""
        final = {c: s["revision"] for c, s in self.truth.customers.items()}
        reached = harness.wait_for(lambda: self.revisions() == final, timeout, 0.5)
        assert reached, f"{self.behind(final)}\n{self.tails()}"
        wanted = {kind: set(ids) for kind, ids in self.truth.outputs.items()}

        def all_out() -> bool:
            for kind, ids in wanted.items():
                ids -= {o[KINDS[kind][1]] for o in self._topic(kind)}
            return not any(wanted.values())

        harness.wait_for(all_out, 60, 1)
        on_topics = {kind: {o[KINDS[kind][1]] for o in self._topic(kind)} for kind in REDIS_STREAMS}
        prefix = self.settings.redis_prefix

        def all_in_redis() -> bool:
            return all(
                ids <= {e[KINDS[kind][1]] for _, e in self.client.xrange(
                    f"{prefix}:feed:{REDIS_STREAMS[kind]}")}
                for kind, ids in on_topics.items()
            )  # fmt: skip

        harness.wait_for(all_in_redis, 60, 1)

    def _topic(self, kind: str) -> list[dict]:
        return harness.run(read_topic(self.settings, getattr(self.settings.topics, KINDS[kind][0])))

    def left(self) -> Left:
        return left_by(self.settings, self.client, self.truth.customers)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()

    def behind(self, final: dict[str, int]) -> str:
        """What is missing, and whether the workers still had input to read: a worker left
        with no lag says an event was lost, one with lag that it stalled."""
        revisions = self.revisions()
        late = {c: final[c] - revisions[c] for c in final if revisions[c] != final[c]}
        lines = [f"{len(late)} customers short of their final revision, by {sum(late.values())}"]
        inputs = set(self.settings.topics.inputs())
        for worker in self.workers:
            if worker.process is None or worker.process.poll() is not None:
                continue
            try:
                lags = worker.metric("riskstream_consumer_lag_messages", "topic")
            except (OSError, AssertionError) as error:
                lines.append(f"{worker.log_path.stem} alive, metrics unreadable: {error!r}")
                continue
            lag = sum(value for (topic,), value in lags.items() if topic in inputs)
            lines.append(f"{worker.log_path.stem} alive, input lag {lag:.0f}")
        return "\n".join(lines)

    def tails(self) -> str:
        return "\n".join(f"--- {w.log_path.name}\n{w.log_tail(15)}" for w in self.workers)


def kill(worker: Worker) -> float:
    """SIGKILL the worker; the monotonic time it died."""
    worker.stop(signal.SIGKILL)
    return time.monotonic()


def random_kills(run: Run, kills: int, rng: random.Random) -> list[float]:
    """Send the stream as a backlog, and SIGKILL the worker at ``kills`` random points of its
    progress (shares of the final revisions in Redis between 5% and 90%), starting a new one
    at once each time. Returns the seconds each recovery took: from the kill until every
    customer not done at the kill has moved on."""
    run.send(run.truth.events)
    points = sorted(rng.uniform(0.05, 0.9) for _ in range(kills))
    worker = run.start("worker-0")
    recoveries = []
    for number, point in enumerate(points, 1):
        reached = harness.wait_for(lambda p=point: run.progress() >= p, 300, 0.05)
        assert reached, run.tails()
        time.sleep(rng.uniform(0, 0.5))  # anywhere in its batches, not just after a write
        died = kill(worker)
        worker = run.start(f"worker-{number}")
        recoveries.append(run.resumed_after(died))
    return recoveries


def one_of_two_killed(run: Run, rng: random.Random) -> float:
    """Two workers share the stream; one is SIGKILLed at a random point between a fifth and
    two fifths of the way. Returns the seconds until every customer not done then has moved
    on: the survivor took over."""
    first, second = run.start("first", beside=True), run.start("second", beside=True)
    first.wait_serving()
    second.wait_serving()
    wait_shared = harness.wait_for(lambda: both_assigned(first, second), 60, 0.5)
    assert wait_shared, run.tails()
    run.send(run.truth.events)
    point = rng.uniform(0.2, 0.4)
    reached = harness.wait_for(lambda: run.progress() >= point, 300, 0.05)
    assert reached, run.tails()
    recovered = run.resumed_after(kill(second))
    assert first.process is not None and first.process.poll() is None, run.tails()
    return recovered


def both_assigned(first: Worker, second: Worker) -> bool:
    """Whether each worker consumes input partitions of its own (from its consumer lag)."""
    inputs = set(harness.settings_of(first.env).topics.inputs())
    held = [
        {
            key
            for key in w.metric("riskstream_consumer_lag_messages", "topic", "partition")
            if key[0] in inputs
        }
        for w in (first, second)
    ]
    return all(held) and not held[0] & held[1]


class OwnBroker:
    """A Kafka broker of one test alone, on free ports, stopped and started by
    ``deploy/local/kafka.sh`` with its data under ``run_dir``."""

    def __init__(self, run_dir: Path) -> None:
        self.env = {
            **os.environ,
            "KAFKA_PORT": str(free_port()),
            "KAFKA_CONTROLLER_PORT": str(free_port()),
            "PYTHON": sys.executable,
            "RISKSTREAM_RUN_DIR": str(run_dir),
        }

    def script(self, command: str) -> str:
        done = subprocess.run(
            [str(REPO / "deploy/local/kafka.sh"), *command.split()],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.strip()

    def start(self) -> str:
        return self.script("start").splitlines()[-1]

    def stop(self, clean: bool = False) -> None:
        self.script("stop --clean" if clean else "stop")


def broker_outage(run: Run, broker: OwnBroker, down: float) -> float:
    """Send half the stream, stop the broker once the worker is into it, keep it down
    ``down`` seconds, start it again and send the rest. Returns the seconds from the broker's
    return until every customer not done has moved on: the worker resumed by itself."""
    events = run.truth.events
    worker = run.start("worker")
    worker.wait_serving()
    run.send(events[: len(events) // 2])
    assert harness.wait_for(lambda: run.progress() >= 0.2, 300, 0.1), run.tails()
    broker.stop()
    time.sleep(down)
    broker.start()
    back = time.monotonic()
    run.send(events[len(events) // 2 :])
    return run.resumed_after(back)
