"""CPU time of sending one output: Faust's ``Topic.send`` against the app's producer itself.

    python -m tests.bench.bench_send [--messages 20000] [--rounds 5]

On the broker of ``RISKSTREAM_TEST_BROKER`` (else the local one), in one Faust app, sends
``--messages`` messages of an alert's size to a topic of its own, keyed by 200 customers,
then waits for the broker to have them all; the two ways in turn, ``--rounds`` times. A
worker sends its outputs the second way (`streams.worker.outputs.Emitter`). Prints the
median CPU time per message of each, and as the last line one JSON object of them.
"""

import argparse
import asyncio
import contextlib
import json
import logging
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable

import faust

from tests.integration.harness import given_services

VALUE = b'{"type":"alert","message":"' + b"x" * 400 + b'"}'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    run = uuid.uuid4().hex[:8]
    app = faust.App(f"bench-send-{run}", broker=f"kafka://{given_services()[0]}",
                    datadir=tempfile.mkdtemp(prefix="bench-send-"), web_enabled=False,
                    producer_acks=-1)  # fmt: skip
    topic = app.topic(f"bench-send-{run}", partitions=2, key_serializer="raw",
                      value_serializer="raw")  # fmt: skip
    keys = [f"cust-{number:05d}".encode() for number in range(200)]
    micros: dict[str, list[float]] = {"Topic.send": [], "producer.send": []}

    async def timed(send: Callable[[bytes], Awaitable[asyncio.Future]]) -> float:
        started = time.process_time()
        sent = [await send(keys[number % len(keys)]) for number in range(args.messages)]
        await asyncio.gather(*sent)
        return (time.process_time() - started) / args.messages * 1e6

    @app.task
    async def measure() -> None:
        # Started this way, Faust leaves the root logger at DEBUG: every debug line of the
        # send paths would make a record. A worker logs at INFO and above.
        for name in ("faust", "aiokafka", "mode"):
            logging.getLogger(name).setLevel(logging.INFO)
        await topic.maybe_declare()
        producer = await app.maybe_start_producer()
        name = topic.get_topic_name()
        ways = {
            "Topic.send": lambda key: topic.send(key=key, value=VALUE),
            "producer.send": lambda key: producer.send(name, key, VALUE, None, None, None),
        }
        for _ in range(args.rounds):
            for way, send in ways.items():
                micros[way].append(await timed(send))
        await app.stop()

    sys.argv = [sys.argv[0], "worker", "--loglevel", "warn"]
    with contextlib.suppress(SystemExit):  # the app exits once measure() stops it
        app.main()
    medians = {way: statistics.median(times) for way, times in micros.items()}
    for way, times in micros.items():
        rounds = ", ".join(f"{time:.1f}" for time in times)
        print(f"{way + ':':15s}{medians[way]:7.1f} µs of CPU a message (median; rounds {rounds})")
    ratio = medians["Topic.send"] / medians["producer.send"]
    print(f"Topic.send / producer.send: {ratio:.1f}")
    print(json.dumps({"bench": "send", "messages": args.messages, "rounds": args.rounds,
                      "topic_send_us": round(medians["Topic.send"], 1),
                      "producer_send_us": round(medians["producer.send"], 1),
                      "ratio": round(ratio, 2)}))  # fmt: skip


if __name__ == "__main__":
    main()
