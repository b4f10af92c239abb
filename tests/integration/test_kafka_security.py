"""A worker reaches Kafka over TLS, as a SCRAM-SHA-512 user, and a client without the user's
password is refused: against a real broker with a SASL_SSL listener (`deploy/local/kafka.sh`
with ``KAFKA_SECURE_PORT``, certificates made for the test)."""

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError

from streams.cli.embedded import free_port
from streams.cli.generate import generate_events
from streams.kafka.security import KafkaSecurity
from tests.integration import harness
from tests.integration.harness import Worker, run, settings_of

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
USER, PASSWORD = "riskstream", "scram-password-of-the-test"


@dataclass(frozen=True)
class Broker:
    plain: str
    sasl_ssl: str
    mutual_tls: str
    tls: Path
    """Where the CA (ca.pem) and a client's certificate (client.pem, client.key) are."""


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A broker of this module, with its listeners and the folder of its certificates."""
    run_dir = tmp_path_factory.mktemp("secure-kafka")
    plain, controller, secure, mutual = free_port(), free_port(), free_port(), free_port()
    env = {**os.environ, "PYTHON": sys.executable, "RISKSTREAM_RUN_DIR": str(run_dir),
           "KAFKA_PORT": str(plain), "KAFKA_CONTROLLER_PORT": str(controller),
           "KAFKA_SECURE_PORT": str(secure), "KAFKA_MTLS_PORT": str(mutual),
           "KAFKA_SCRAM_USER": USER, "KAFKA_SCRAM_PASSWORD": PASSWORD}  # fmt: skip
    script = [str(REPO / "deploy/local/kafka.sh")]
    started = subprocess.run([*script, "start"], env=env, capture_output=True, text=True)
    assert started.returncode == 0, started.stderr[-3000:]
    try:
        yield Broker(f"127.0.0.1:{plain}", f"127.0.0.1:{secure}", f"127.0.0.1:{mutual}",
                     run_dir / f"kafka-{plain}" / "tls")  # fmt: skip
    finally:
        subprocess.run([*script, "stop", "--clean"], env=env, capture_output=True)


def secure_env(env: dict[str, str], secure: str, ca_file: Path, password_file: Path) -> dict:
    password_file.write_text(PASSWORD + "\n")
    return {**env, "RISKSTREAM_BROKER": f"kafka://{secure}",
            "RISKSTREAM_KAFKA_PROTOCOL": "SASL_SSL", "RISKSTREAM_KAFKA_USERNAME": USER,
            "RISKSTREAM_KAFKA_PASSWORD_FILE": str(password_file),
            "RISKSTREAM_KAFKA_CA_FILE": str(ca_file)}  # fmt: skip


def test_a_worker_works_through_sasl_ssl_alone(secure_broker, redis_url, tmp_path):
    plain_env = harness.isolated_env(secure_broker.plain, redis_url, tmp_path / "data")
    env = secure_env(plain_env, secure_broker.sasl_ssl, secure_broker.tls / "ca.pem",
                     tmp_path / "kafka-password")  # fmt: skip
    events = list(generate_events(customers=4, days=90, end=datetime.now(UTC), seed=5))
    worker = Worker(env, tmp_path / "worker.log").start()  # creates the topics, over SASL_SSL
    try:
        worker.wait_ready()
        settings = settings_of(plain_env)  # the test's own producer and reader: plain
        run(harness.send(settings, events))
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        customers = {event.customer_id for event in events}
        prefix = plain_env["RISKSTREAM_REDIS_PREFIX"]
        pictured = harness.wait_for(
            lambda: all(client.exists(f"{prefix}:customer:{c}") for c in customers), timeout=90
        )
        assert pictured, worker.log_tail()
        decided = run(harness.collect(settings, settings.topics.decisions, lambda r: len(r) > 0))
        assert decided, worker.log_tail()
    finally:
        worker.stop()


@pytest.mark.parametrize(
    "security",
    [
        {"protocol": "SSL"},  # TLS, no user
        {"protocol": "SASL_SSL", "username": USER, "password": "not-the-password"},
        {"protocol": "SASL_SSL", "username": "someone-else", "password": PASSWORD},
    ],
    ids=["no user", "wrong password", "unknown user"],
)
def test_a_client_without_the_users_password_is_refused(secure_broker, security):
    secure, ca_file = secure_broker.sasl_ssl, secure_broker.tls / "ca.pem"
    with pytest.raises(KafkaConnectionError):
        asyncio.run(topics_of(secure, KafkaSecurity(**security, ca_file=ca_file)))
    granted = KafkaSecurity(protocol="SASL_SSL", username=USER, password=PASSWORD, ca_file=ca_file)
    assert isinstance(asyncio.run(topics_of(secure, granted)), list)  # the same listener


def test_mutual_tls_wants_the_clients_certificate(secure_broker):
    tls = secure_broker.tls
    bare = KafkaSecurity(protocol="SSL", ca_file=tls / "ca.pem")
    with pytest.raises(KafkaConnectionError):
        asyncio.run(topics_of(secure_broker.mutual_tls, bare))
    certified = KafkaSecurity(protocol="SSL", ca_file=tls / "ca.pem", cert_file=tls / "client.pem",
                              key_file=tls / "client.key")  # fmt: skip
    assert isinstance(asyncio.run(topics_of(secure_broker.mutual_tls, certified)), list)


async def topics_of(bootstrap: str, security: KafkaSecurity) -> list[str]:
    """The topics on the broker, asked as a client with ``security``."""
    options = security.client_options()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000, **options)
    await admin.start()
    try:
        return await admin.list_topics()
    finally:
        await admin.close()
