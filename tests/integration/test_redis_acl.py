"""A worker writes Redis as a user of its own, allowed only the keys and channels under
riskstream's prefix: the least a shared Redis should give it."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from streams.cli.embedded import free_port
from tests.integration import harness

pytestmark = pytest.mark.integration

ADMIN_PASSWORD, WORKER_PASSWORD = "admin-password-of-the-test", "worker-password-of-the-test"


@pytest.fixture
def acl_redis(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[int, str]]:
    """A redis-server of this test: no default user; an admin; a worker user allowed the
    keys and channels under the test's prefix only. Yields (port, prefix)."""
    port, prefix = free_port(), env["RISKSTREAM_REDIS_PREFIX"]
    users = [
        "default off",
        f"admin on >{ADMIN_PASSWORD} ~* &* +@all",
        f"riskstream on >{WORKER_PASSWORD} resetchannels ~{prefix}:* &{prefix}:* +@all -@admin"
        " -@dangerous",
    ]
    arguments = [harness.redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(tmp_path)]  # fmt: skip
    for user in users:
        arguments += ["--user", *user.split()]
    server = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    admin = redis.Redis(port=port, username="admin", password=ADMIN_PASSWORD)
    try:
        assert harness.wait_for(lambda: _answers(admin), timeout=10), "redis-server did not start"
        yield port, prefix
    finally:
        server.terminate()
        server.wait(10)


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def test_a_worker_keeps_to_its_prefix_as_a_user_of_its_own(env, tmp_path, acl_redis):
    port, prefix = acl_redis
    env = {
        **env,
        "RISKSTREAM_REDIS_URL": f"redis://riskstream:{WORKER_PASSWORD}@127.0.0.1:{port}/0",
    }
    admin = redis.Redis(port=port, username="admin", password=ADMIN_PASSWORD,
                        decode_responses=True)  # fmt: skip
    log = harness.check_pictures_written(env, tmp_path / "worker.log", admin)
    assert "NOPERM" not in log and "NoPermission" not in log
    assert set(admin.keys("*")) == set(admin.keys(f"{prefix}:*"))

    as_worker = redis.Redis(port=port, username="riskstream", password=WORKER_PASSWORD)
    with pytest.raises(redis.exceptions.NoPermissionError):
        as_worker.get("someone-else:secret")
    with pytest.raises(redis.exceptions.NoPermissionError):
        as_worker.flushall()
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=port).get(f"{prefix}:scores")  # no user, no password
