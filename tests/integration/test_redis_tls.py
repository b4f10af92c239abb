"""A worker writes Redis over TLS, trusting only the CA it is given and showing a client
certificate, to a redis-server that wants one (Debian's build, which has TLS: see
deploy/local/ensure-redis-tls.sh)."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from streams.cli.embedded import free_port
from tests.integration import harness

pytestmark = pytest.mark.integration

REDIS_SH = Path(__file__).resolve().parents[2] / "deploy/local/redis.sh"


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A redis-server of this test with a TLS port that wants a client certificate. Yields the
    TLS port and the directory of its certificates (ca.pem, client.pem, client.key)."""
    plain, port = free_port(), free_port()
    env = {**os.environ, "RISKSTREAM_RUN_DIR": str(tmp_path), "REDIS_PORT": str(plain),
           "REDIS_TLS_PORT": str(port), "PYTHON": sys.executable}  # fmt: skip
    started = subprocess.run([REDIS_SH, "start"], env=env, capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    try:
        yield port, tmp_path / f"redis-{plain}" / "tls"
    finally:
        subprocess.run([REDIS_SH, "stop"], env=env, capture_output=True)


def over_tls(port: int, **options: str) -> redis.Redis:
    return redis.Redis(port=port, ssl=True, decode_responses=True, **options)


def test_a_worker_writes_redis_over_mutual_tls(env, tmp_path, tls_redis):
    port, tls = tls_redis
    env = {
        **env,
        "RISKSTREAM_REDIS_URL": f"rediss://127.0.0.1:{port}/0",
        "RISKSTREAM_REDIS_CA_FILE": str(tls / "ca.pem"),
        "RISKSTREAM_REDIS_CERT_FILE": str(tls / "client.pem"),
        "RISKSTREAM_REDIS_KEY_FILE": str(tls / "client.key"),
    }
    files = {"ssl_ca_certs": "ca.pem", "ssl_certfile": "client.pem", "ssl_keyfile": "client.key"}
    admin = over_tls(port, **{option: str(tls / name) for option, name in files.items()})
    log = harness.check_pictures_written(env, tmp_path / "worker.log", admin)
    assert "Redis write failed" not in log

    with pytest.raises(redis.ConnectionError, match=r"certificate required|EOF occurred"):
        over_tls(port, ssl_ca_certs=str(tls / "ca.pem")).ping()  # no client certificate
    with pytest.raises(redis.ConnectionError, match="certificate verify failed"):
        over_tls(port).ping()  # the system's CAs do not know the server's
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=port, socket_timeout=2).ping()  # no TLS at all
