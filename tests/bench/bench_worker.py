"""Throughput of one live worker catching up on a backlog, against a Faust app that only counts.

    RISKSTREAM_TEST_BROKER=127.0.0.1:19092 RISKSTREAM_TEST_REDIS=redis://127.0.0.1:16379/0 \\
        python -m tests.bench.bench_worker --customers 200 --days 365
    python -m tests.bench.bench_worker --latency [--rate EVENTS_PER_S] [--duration 60]

Writes ``--customers`` customers' generated history (``riskstream generate``) twice, to the
input topics of two isolated app ids (own topics and Redis prefix, like the integration
tests) on the broker and Redis named by the environment (else the local defaults), with the
same partitions. Then, one after the other, each in its own process:

- the baseline: a Faust app whose one agent reads the four input topics with raw values,
  takes them in Faust's batches (``take_events(200, within=0.01)``) and only counts them;
- one riskstream worker doing the full job.

The worker is timed from the moment its ``/ready`` answers until it has taken every input
event (``riskstream_events_received_total`` but the clock's ticks), then until every customer
is at its final revision in Redis; events taken before ``/ready`` answers are left out of the
rates. The baseline times itself, from its first batch (left out) to its last. Prints events/s
of the wall clock and per second of the process's CPU time (user and system), which tells a
process waiting on the broker from one bound by its own work, and the worker's rates as a
share of the baseline's.

``--latency``: starts one worker, lets it catch up on the first half of the history (timed as
above), then sends the rest live, one event at a time, at ``--send-rate`` events/s (default:
half of ``--rate``, else half of the catch-up rate just measured) for at most ``--duration``
seconds, and prints the median, 99th percentile and maximum of the time from an event's
send to its first alert read on the alerts topic, and to its customer's picture in Redis at
the event's revision (Redis read every 10 ms, less often when it takes long), and the CPU time
the worker and the benchmark itself took meanwhile.

The last line printed is one JSON object of the headline figures.
"""

import argparse
import asyncio
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import faust
import orjson
import redis
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faust.web import Request, Response, View

from schemas.events import InputEvent
from streams.cli.generate import generate_events
from streams.settings import Settings
from streams.worker.rebalance import rewind_uncommitted
from tests.integration import harness

BATCH, BATCH_WAIT = 200, 0.01
"""How the baseline's agent takes its events: Faust's own batches."""
REDIS_POLL = 0.01
"""Seconds between two reads of the awaited customers' revisions in Redis, at least; more when
a read takes long (many customers awaited), so that watching takes little of the CPU."""


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# The baseline, in its own process -----------------------------------------------------------


def serve_baseline(expected: int) -> None:
    """Run the counting Faust app of the settings in the environment until stopped; it times
    itself, from its first batch of events to the one that makes ``expected``."""
    settings = Settings()
    asyncio.set_event_loop(asyncio.new_event_loop())
    app = faust.App(
        settings.app_id,
        broker=settings.broker,
        store="memory://",
        datadir=str(settings.data_dir),
        web_port=settings.web_port,
        web_bind="127.0.0.1",
        topic_partitions=settings.partitions,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        **settings.faust_options(),
    )
    inputs = list(settings.topics.inputs())
    topic = app.topic(*inputs, key_serializer="raw", value_serializer="raw")
    taken: dict[str, float] = {"events": 0}
    assigned = asyncio.Event()

    @app.agent(topic, name="count")
    async def count(stream: faust.StreamT) -> None:
        first = (0.0, 0.0, 0)
        async for events in stream.take_events(BATCH, within=BATCH_WAIT):
            now, cpu = time.perf_counter(), time.process_time()
            if not taken["events"]:  # timed from here: the first batch is not
                first = (now, cpu, len(events))
            taken["events"] += len(events)
            if taken["events"] >= expected and "seconds" not in taken:
                taken["seconds"], taken["cpu"] = now - first[0], cpu - first[1]
                taken["timed"] = taken["events"] - first[2]

    @app.page("/ready", name="baseline-ready")
    async def ready(view: View, request: Request) -> Response:
        if not assigned.is_set() or app.rebalancing:
            return view.json({"ready": False}, status=503)
        return view.json({"ready": True})

    @app.page("/taken", name="baseline-taken")
    async def taken_page(view: View, request: Request) -> Response:
        return view.json(taken)

    @app.on_rebalance_complete.connect
    async def rewind(sender: object, **_: object) -> None:
        await rewind_uncommitted(app.consumer, set(inputs))  # as the worker does
        assigned.set()

    loglevel = os.environ.get("WORKER_LOGLEVEL", "warning")
    faust.Worker(app, loglevel=loglevel).execute_from_commandline()


class Baseline(harness.Worker):
    """The counting app (`serve_baseline`) as a process, served like a worker."""

    expected: int = 0

    def start(self) -> "Baseline":
        with self.log_path.open("ab") as log:
            command = ["-m", "tests.bench.bench_worker", "--serve-baseline", str(self.expected)]
            self.process = subprocess.Popen(
                [sys.executable, *command],
                env={**os.environ, **self.env},
                cwd=harness.REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def catch_up(self) -> "CatchUp":
        """Its own timing (`serve_baseline`), once it has taken every event."""
        self.wait_serving(180)
        done = harness.wait_for(lambda: "seconds" in (taken := self.get("/taken")[1]) and taken,
                                1800, 0.2)  # fmt: skip
        assert done, self.log_tail()
        return CatchUp(self.expected, done["timed"], done["seconds"], done["cpu"])


def worker_taken(worker: harness.Worker) -> float:
    taken = worker.metric("riskstream_events_received_total", "type")
    return sum(count for (kind,), count in taken.items() if kind != "tick")


# Catching up ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CatchUp:
    events: int
    timed: float
    """Events taken after ``/ready`` answered: those the rates are of."""
    seconds: float
    cpu: float
    settled: float | None = None
    """Seconds until every customer was at its final revision in Redis (the worker only)."""

    @property
    def rate(self) -> float:
        return self.timed / self.seconds

    @property
    def cpu_rate(self) -> float:
        return self.timed / self.cpu

    def describe(self, name: str) -> str:
        return (f"{name + ':':10s}{self.seconds:7.1f} s   {self.rate:7,.0f} events/s "
                f"(wall clock)   {self.cpu_rate:7,.0f} events per CPU second "
                f"(busy {self.cpu / self.seconds:.0%})")  # fmt: skip


def catch_up(
    process: harness.Worker,
    taken: Callable[[], float],
    events: int,
    settled: Callable[[], bool] | None = None,
) -> CatchUp:
    """Time ``process`` (started) from ``/ready`` until it has taken ``events`` input events,
    then (if given) until ``settled()``."""
    process.wait_serving(180)
    assert process.process is not None
    pid = process.process.pid
    started, cpu_started = time.perf_counter(), cpu_seconds(pid)
    timed = events - taken()  # it may take events before /ready says so: time only those after
    assert until_taken(taken, events, 1800), process.log_tail()
    seconds = time.perf_counter() - started
    cpu = cpu_seconds(pid) - cpu_started
    if settled is not None:
        assert harness.wait_for(settled, 600, 0.5), process.log_tail()
    at_rest = time.perf_counter() - started if settled is not None else None
    if timed < events / 2:
        raise SystemExit(f"only {timed:,.0f} of {events:,} events were taken after /ready "
                         "answered: too few to time, give more --customers or --days")  # fmt: skip
    return CatchUp(events, timed, seconds, cpu, at_rest)


def until_taken(taken: Callable[[], float], events: int, timeout: float) -> bool:
    """Wait until ``taken()`` reaches ``events``: every 0.2 s near the end, seldom while it is
    far: each read renders the worker's ``/metrics``, 4% of its CPU when read every 0.2 s."""
    started = time.monotonic()
    first = count = taken()
    while count < events:
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            return False
        rate = (count - first) / elapsed if elapsed else 0.0
        left = (events - count) / rate if rate > 0 else 1.0
        time.sleep(min(2.0, max(0.2, left / 2)))
        count = taken()
    return True


def in_redis(client: redis.Redis, prefix: str, revisions: dict[str, int]) -> Callable[[], bool]:
    """Whether Redis has every customer at (at least) its revision."""

    def check() -> bool:
        with client.pipeline(transaction=False) as pipe:
            for customer in revisions:
                pipe.hget(f"{prefix}:customer:{customer}", "revision")
            stored = pipe.execute()
        return all(s is not None and int(s) >= revisions[c]
                   for c, s in zip(revisions, stored, strict=True))  # fmt: skip

    return check


def throughput(args: argparse.Namespace, scratch: Path) -> None:
    broker, redis_url = harness.given_services()
    events = list(generate_events(args.customers, args.days, end=datetime.now(UTC)))
    revisions = Counter(event.customer_id for event in events)
    sides = {}
    for side in ("baseline", "worker"):
        env = harness.isolated_env(broker, redis_url, scratch / side, args.partitions)
        settings = harness.settings_of(env)
        harness.run(harness.create_topics(settings))
        harness.run(harness.send(settings, events))
        sides[side] = env, settings
    print(f"{len(events):,} events of {len(revisions):,} customers over {args.days} days, "
          f"{args.partitions} partitions, the same events on each side's own topics")  # fmt: skip

    baseline = Baseline(sides["baseline"][0], scratch / "baseline.log")
    baseline.expected = len(events)
    try:
        base = baseline.start().catch_up()
    finally:
        baseline.stop()
    env, settings = sides["worker"]
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    worker = harness.Worker(env, scratch / "worker.log").start()
    try:
        full = catch_up(worker, lambda: worker_taken(worker), len(events),
                        in_redis(client, settings.redis_prefix, revisions))  # fmt: skip
    finally:
        worker.stop()

    assert full.settled is not None
    ratio, cpu_ratio = full.rate / base.rate, full.cpu_rate / base.cpu_rate
    print(base.describe("baseline") + "   (Faust, raw values, counting only)")
    print(full.describe("worker") + "   (one riskstream worker, the full job)")
    print(f"{'':10s}{full.settled:7.1f} s   {full.timed / full.settled:7,.0f} events/s "
          "until every customer was at its final revision in Redis")  # fmt: skip
    print(f"worker / baseline: {ratio:.3f} of the events/s (wall clock), "
          f"{cpu_ratio:.3f} of the events per CPU second")  # fmt: skip
    print(f"(not timed: the baseline's first batch, {base.events - base.timed:,.0f} events; "
          f"the worker's events taken before /ready answered, "
          f"{full.events - full.timed:,.0f})")  # fmt: skip
    print_json({
        "bench": "worker",
        "events": len(events),
        "customers": len(revisions),
        "days": args.days,
        "partitions": args.partitions,
        "baseline_events_per_s": round(base.rate, 1),
        "worker_events_per_s": round(full.rate, 1),
        "ratio": round(ratio, 4),
        "baseline_events_per_cpu_s": round(base.cpu_rate, 1),
        "worker_events_per_cpu_s": round(full.cpu_rate, 1),
        "cpu_ratio": round(cpu_ratio, 4),
        "baseline_seconds": round(base.seconds, 2),
        "worker_seconds": round(full.seconds, 2),
        "worker_in_redis_seconds": round(full.settled, 2),
        "worker_in_redis_events_per_s": round(full.timed / full.settled, 1),
    })  # fmt: skip


# Latency -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Live:
    """What the live sending saw: send times, and when their alerts and pictures showed up."""

    sent: dict[str, float]
    """Event id -> wall-clock time it was handed to the producer."""
    alerted: dict[str, float]
    """Event id -> when its first alert was read."""
    pictured: dict[str, float]
    """Event id -> when Redis first had its customer at the event's revision."""
    seconds: float


async def send_live(
    settings: Settings,
    events: list[InputEvent],
    revisions: Counter[str],
    rate: float,
    duration: float,
    redis_url: str,
) -> Live:
    """Send ``events`` at ``rate`` for at most ``duration`` seconds, watching the alerts topic
    and Redis (``revisions``: each customer's revision before the first of them)."""
    sent: dict[str, float] = {}
    alerted: dict[str, float] = {}
    pictured: dict[str, float] = {}
    awaited: dict[str, list[tuple[int, str]]] = {}  # customer -> (revision, event id), in order
    sending = True

    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers,
                                enable_auto_commit=False, fetch_max_wait_ms=100)  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    client = aioredis.Redis.from_url(redis_url)
    await consumer.start()
    await producer.start()

    async def watch_alerts() -> None:
        while sending or awaited:
            batches = await consumer.getmany(timeout_ms=100)
            now = time.time()
            for records in batches.values():
                for record in records:
                    cause = orjson.loads(record.value).get("source_event_id")
                    if cause in sent and cause not in alerted:
                        alerted[cause] = now

    async def watch_redis() -> None:
        took = 0.0
        while sending or awaited:
            await asyncio.sleep(max(REDIS_POLL, 4 * took))
            began = time.perf_counter()
            customers = list(awaited)
            if not customers:
                continue
            async with client.pipeline(transaction=False) as pipe:
                for customer in customers:
                    pipe.hget(f"{settings.redis_prefix}:customer:{customer}", b"revision")
                stored = await pipe.execute()
            now = time.time()
            for customer, revision in zip(customers, stored, strict=True):
                waiting = awaited[customer]
                while waiting and revision is not None and int(revision) >= waiting[0][0]:
                    pictured[waiting.pop(0)[1]] = now
                if not waiting:
                    del awaited[customer]
            took = time.perf_counter() - began

    try:
        alerts = [TopicPartition(settings.topics.alerts, p) for p in range(settings.partitions)]
        consumer.assign(alerts)
        await consumer.seek_to_end(*alerts)
        for tp in alerts:  # resolve the end now, before anything is sent
            await consumer.position(tp)
        watchers = [asyncio.create_task(watch_alerts()), asyncio.create_task(watch_redis())]
        started = time.monotonic()
        for number, event in enumerate(events):
            ahead = started + number / rate - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)
            if time.monotonic() - started >= duration:
                break
            topic, key, value = harness.as_message(settings, event)
            revisions[event.customer_id] += 1
            awaited.setdefault(event.customer_id, []).append(
                (revisions[event.customer_id], event.event_id)
            )
            sent[event.event_id] = time.time()
            await producer.send(topic, value, key=key)
        await producer.flush()
        seconds = time.monotonic() - started
        sending = False
        # Alerts are on their topic before the pictures are in Redis (written from the topics).
        try:
            await asyncio.wait_for(asyncio.gather(*watchers), 60)
        except TimeoutError:
            print(f"gave up waiting for {sum(map(len, awaited.values()))} pictures in Redis")
        await asyncio.sleep(1)  # the last alerts to be read
    finally:
        awaited.clear()
        sending = False
        await producer.stop()
        await consumer.stop()
        await client.aclose()
    return Live(sent, alerted, pictured, seconds)


def delays_ms(sent: dict[str, float], seen: dict[str, float]) -> dict[str, float]:
    """Median, 99th percentile and maximum of ``seen - sent``, in milliseconds."""
    delays = sorted((seen[event] - sent[event]) * 1000 for event in seen)
    if not delays:
        return {}
    p99 = delays[math.ceil(0.99 * len(delays)) - 1]  # nearest rank
    return {"p50": statistics.median(delays), "p99": p99, "max": delays[-1]}


WINDOW_S = 10.0
"""The live phase's delays are also given per window of this many seconds of sending."""


def by_window(sent: dict[str, float], seen: dict[str, float]) -> list[dict[str, float]]:
    """`delays_ms` of the events sent in each `WINDOW_S` of the sending, in turn: the first
    window shows what the catch-up left behind (ticks, the trainer), the later the steady
    state."""
    if not sent:
        return []
    start = min(sent.values())
    windows: dict[int, dict[str, float]] = {}
    for event, at in sent.items():
        windows.setdefault(int((at - start) // WINDOW_S), {})[event] = at
    return [delays_ms(windows[index], {e: seen[e] for e in windows[index] if e in seen})
            for index in sorted(windows)]  # fmt: skip


def latency(args: argparse.Namespace, scratch: Path) -> None:
    broker, redis_url = harness.given_services()
    env = harness.isolated_env(broker, redis_url, scratch / "worker", args.partitions)
    settings = harness.settings_of(env)
    harness.run(harness.create_topics(settings))
    events = list(generate_events(args.customers, args.days, end=datetime.now(UTC)))
    history, rest = events[: len(events) // 2], events[len(events) // 2 :]
    revisions = Counter(event.customer_id for event in history)
    harness.run(harness.send(settings, history))
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    worker = harness.Worker(env, scratch / "worker.log").start()
    try:
        caught = catch_up(worker, lambda: worker_taken(worker), len(history),
                          in_redis(client, settings.redis_prefix, revisions))  # fmt: skip
        print(f"{len(history):,} events of {len(revisions):,} customers (the first half of "
              f"{args.days} days) caught up on:")  # fmt: skip
        print(caught.describe("worker"))
        rate = args.send_rate or (args.rate or caught.rate) / 2
        assert worker.process is not None
        worker_cpu, own_cpu = cpu_seconds(worker.process.pid), time.process_time()
        wall = time.perf_counter()
        live = harness.run(send_live(settings, rest, revisions, rate, args.duration, redis_url))
        wall = time.perf_counter() - wall
        worker_cpu = cpu_seconds(worker.process.pid) - worker_cpu
        own_cpu = time.process_time() - own_cpu
        assert worker.process.poll() is None, worker.log_tail()
    finally:
        worker.stop()

    alert, picture = delays_ms(live.sent, live.alerted), delays_ms(live.sent, live.pictured)
    print(f"sent {len(live.sent):,} events live in {live.seconds:.1f} s "
          f"({len(live.sent) / live.seconds:,.0f} events/s, asked {rate:,.0f})"
          + ("; the history ran out first" if len(live.sent) == len(rest) else ""))  # fmt: skip
    print(f"CPU over the {wall:.1f} s of sending and waiting for the last: "
          f"worker {worker_cpu:.1f} s "
          f"({worker_cpu / wall:.0%}), this benchmark (sending, watching) {own_cpu:.1f} s "
          f"({own_cpu / wall:.0%})")  # fmt: skip
    for name, delays, seen in (("first alert on the alerts topic", alert, live.alerted),
                               ("customer picture in Redis", picture, live.pictured)):  # fmt: skip
        figures = "   ".join(f"{k} {v:7.1f} ms" for k, v in delays.items()) or "none seen"
        print(f"send -> {name + ':':33s}{figures}   ({len(seen):,} events)")
        for number, window in enumerate(by_window(live.sent, seen)):
            start = number * WINDOW_S
            print(f"    sent {start:3.0f} to {start + WINDOW_S:3.0f} s: "
                  + "   ".join(f"{k} {v:7.1f} ms" for k, v in window.items()))  # fmt: skip
    summary = {
        "bench": "worker_latency",
        "send_rate_events_per_s": round(len(live.sent) / live.seconds, 1),
        "asked_rate_events_per_s": round(rate, 1),
        "catch_up_events_per_s": round(caught.rate, 1),
        "live_wall_s": round(wall, 2),
        "worker_cpu_s": round(worker_cpu, 2),
        "bench_cpu_s": round(own_cpu, 2),
        "duration_s": round(live.seconds, 2),
        "events_sent": len(live.sent),
        "alerts_matched": len(live.alerted),
        "pictures_matched": len(live.pictured),
    }
    for name, delays in (("alert", alert), ("redis", picture)):
        summary |= {f"{name}_{k}_ms": round(v, 1) for k, v in delays.items()}
    after_first = {event: at for event, at in live.sent.items()
                   if at >= min(live.sent.values(), default=0.0) + WINDOW_S}  # fmt: skip
    for name, seen in (("alert", live.alerted), ("redis", live.pictured)):
        steady = delays_ms(after_first, {e: seen[e] for e in after_first if e in seen})
        summary |= {f"{name}_after_first_window_{k}_ms": round(v, 1) for k, v in steady.items()}
    print_json(summary)


def print_json(figures: dict) -> None:
    print(orjson.dumps(figures).decode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--latency", action="store_true",
                        help="send events live to a worker and time their alerts")  # fmt: skip
    parser.add_argument("--rate", type=float, default=None,
                        help="--latency: the worker's catch-up rate, events/s, to send at half "
                             "of (default: measured)")  # fmt: skip
    parser.add_argument("--send-rate", type=float, default=None,
                        help="--latency: events/s to send (default: half of --rate)")  # fmt: skip
    parser.add_argument("--duration", type=float, default=60,
                        help="--latency: seconds of sending, at most (default 60)")  # fmt: skip
    parser.add_argument("--serve-baseline", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline is not None:
        serve_baseline(args.serve_baseline)
        return
    with tempfile.TemporaryDirectory() as scratch:
        (latency if args.latency else throughput)(args, Path(scratch))


if __name__ == "__main__":
    main()
