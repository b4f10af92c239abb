"""Shared fixtures. Integration tests get a real Kafka broker and a real Redis.

``RISKSTREAM_TEST_BROKER`` (host:port) and ``RISKSTREAM_TEST_REDIS`` (redis://...) name
running ones; otherwise ``deploy/local/kafka.sh`` and ``deploy/local/redis.sh`` start them
for the session and stop them at the end.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _running(script: str) -> bool:
    return (
        subprocess.run(
            [str(REPO / "deploy/local" / script), "status"], capture_output=True
        ).returncode
        == 0
    )


def _start_local(script: str) -> str:
    done = subprocess.run(
        [str(REPO / "deploy/local" / script), "start"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": sys.executable},
    )
    if done.returncode != 0:
        pytest.fail(f"{script} start failed:\n{done.stderr[-3000:]}", pytrace=False)
    return done.stdout.strip().splitlines()[-1]


def _stop_local(script: str) -> None:
    subprocess.run([str(REPO / "deploy/local" / script), "stop"], capture_output=True)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """host:port of a real Kafka broker."""
    given = os.environ.get("RISKSTREAM_TEST_BROKER")
    if given:
        yield given.removeprefix("kafka://")
        return
    already_running = _running("kafka.sh")
    yield _start_local("kafka.sh")
    if not already_running:
        _stop_local("kafka.sh")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a real Redis server."""
    given = os.environ.get("RISKSTREAM_TEST_REDIS")
    if given:
        yield given
        return
    already_running = _running("redis.sh")
    yield _start_local("redis.sh")
    if not already_running:
        _stop_local("redis.sh")
