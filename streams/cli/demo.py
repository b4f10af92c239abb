"""``riskstream demo``: the whole pipeline on one machine, with nothing installed by hand.

Starts the embedded broker and a local Redis (unless given others), creates the topics,
starts a worker process and the console (whose address it prints, and which asks the
worker's query API for a customer's open invoices), feeds the worker a generated history of
orders, invoices and payments ending now, and prints the alerts as they arrive on the alerts
topic.
"""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.cli.embedded import EmbeddedBroker, LocalRedis, free_port, stop_process
from streams.cli.feed import send_events
from streams.cli.generate import generate_events
from streams.kafka.topics import ensure_topics
from streams.settings import Settings

SEVERITY_MARK = {"info": "·", "warning": "!", "critical": "‼"}


class Demo:
    def __init__(
        self, broker: str | None, redis_url: str | None, customers: int, days: int, rate: float
    ):
        self.broker = broker
        self.redis_url = redis_url
        self.customers = customers
        self.days = days
        self.rate = rate
        self.alerts = 0

    def run(self, duration: float | None) -> None:
        # Stopped by a signal as by Ctrl-C: the worker, the broker and Redis go with it.
        for stop in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(stop, signal.default_int_handler)
        workdir = Path(tempfile.mkdtemp(prefix="riskstream-demo-"))
        with contextlib.ExitStack() as stack:
            print(f"riskstream demo: working in {workdir}", flush=True)
            broker = (
                self.broker
                or "kafka://" + stack.enter_context(EmbeddedBroker(workdir, timeout=60)).bootstrap
            )
            redis_url = self.redis_url or stack.enter_context(LocalRedis(workdir)).url
            web_port = free_port()
            print(f"broker {broker}, Redis {redis_url}", flush=True)
            env = {
                "RISKSTREAM_BROKER": broker,
                "RISKSTREAM_REDIS_URL": redis_url,
                "RISKSTREAM_DATA_DIR": str(workdir / "worker"),
                "RISKSTREAM_WEB_PORT": str(web_port),
                "RISKSTREAM_CONSOLE_PORT": str(free_port()),
                # The console asks this worker for open invoices, whatever the shell says.
                "RISKSTREAM_CONSOLE_API_URL": f"http://127.0.0.1:{web_port}",
                "RISKSTREAM_EMBEDDED_BROKER": "false" if self.broker else "true",
                "RISKSTREAM_APP_ID": "riskstream-demo",
                # The built-in model key, on this machine only.
                "RISKSTREAM_DEVELOPMENT": "true",
                # The history is sent at once and Kafka orders events only within one
                # partition, so an invoice may be read after its payment: allow for it.
                "RISKSTREAM_LATENESS": f"P{self.days + 1}D",
                # The wall clock drives overdue only once the history has been fed.
                "RISKSTREAM_OVERDUE_CHECK_INTERVAL": "30",
            }
            settings = Settings(
                **{k.removeprefix("RISKSTREAM_").lower(): v for k, v in env.items()}
            )
            asyncio.run(ensure_topics(settings))
            stack.callback(stop_process, self._start(env, workdir / "worker.log", "worker"))
            stack.callback(stop_process, self._start(env, workdir / "console.log", "console"))
            print(
                f"console http://127.0.0.1:{settings.console_port}/ (sign in with any user id)",
                flush=True,
            )
            print("worker started; feeding events (Ctrl-C to stop)", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(self._feed_and_watch(settings, duration))
            print(f"\nstopping: {self.alerts} alerts seen", flush=True)

    @staticmethod
    def _start(env: dict[str, str], log_path: Path, command: str) -> subprocess.Popen[bytes]:
        """A ``riskstream`` ``command`` (worker, console) in a process of its own."""
        options = ["--loglevel", "warning"] if command == "worker" else []
        with log_path.open("wb") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "streams.cli", command, *options],
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def _feed_and_watch(self, settings: Settings, duration: float | None) -> None:
        watcher = asyncio.create_task(self._print_alerts(settings))
        events = generate_events(self.customers, self.days, end=datetime.now(UTC))
        sent = await send_events(settings, events, self.rate)
        print(f"fed {sent} events of {self.customers} customers", flush=True)
        deadline = None if duration is None else time.monotonic() + duration
        while deadline is None or time.monotonic() < deadline:
            if watcher.done():
                watcher.result()
            await asyncio.sleep(0.5)
        watcher.cancel()

    async def _print_alerts(self, settings: Settings) -> None:
        # Partitions assigned directly: no consumer-group join to wait for.
        consumer = AIOKafkaConsumer(
            **settings.kafka_client,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            consumer.assign(
                [
                    TopicPartition(settings.topics.alerts, partition)
                    for partition in range(settings.partitions)
                ]
            )
            async for record in consumer:
                alert = orjson.loads(record.value)
                self.alerts += 1
                mark = SEVERITY_MARK.get(alert["severity"], "?")
                print(
                    f"{mark} {alert['event_time'][:16]} {alert['customer_id']:<11} "
                    f"{alert['kind']:<15} {alert['message']}",
                    flush=True,
                )
        finally:
            await consumer.stop()
