"""A worker writes a Redis Cluster of three nodes, and its query API and the console's store
read it back: every key riskstream writes together is in one hash slot, by the hash tag of
its prefix."""

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster

from sinks.redis import RedisSink
from streams.cli.embedded import free_port
from streams.settings import Settings
from tests.integration import harness
from tests.integration.harness import settings_of

pytestmark = pytest.mark.integration

SLOTS = 16384


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[int]]:
    """Three redis-server nodes of a cluster of this test, a third of the slots each; yields
    their ports."""
    ports = [cluster_port() for _ in range(3)]
    servers = []
    for port in ports:
        folder = tmp_path / f"node-{port}"
        folder.mkdir()
        servers.append(subprocess.Popen(
            [harness.redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1",
             "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--save", "",
             "--appendonly", "no", "--dir", str(folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        ))  # fmt: skip
    try:
        nodes = [redis.Redis(port=port) for port in ports]
        assert harness.wait_for(lambda: all(_answers(node) for node in nodes), timeout=10)
        for index, node in enumerate(nodes):
            node.execute_command("CLUSTER ADDSLOTS", *range(index * SLOTS // 3,
                                                            (index + 1) * SLOTS // 3))  # fmt: skip
        for node in nodes[1:]:
            node.execute_command("CLUSTER MEET", "127.0.0.1", ports[0])
        formed = harness.wait_for(lambda: all(
            node.execute_command("CLUSTER INFO")["cluster_state"] == "ok" for node in nodes
        ), timeout=30)  # fmt: skip
        assert formed, "the cluster did not form"
        time.sleep(1)  # every node learns every other's slots
        yield ports
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)


def cluster_port() -> int:
    """A free port whose cluster bus port (10,000 above) is free too."""
    while True:
        port = free_port()
        if port + 10_000 <= 65_535 and not _taken(port + 10_000):
            return port


def _taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def test_a_worker_writes_a_redis_cluster_and_reads_it_back(env, tmp_path, cluster):
    tag = "{" + env["RISKSTREAM_REDIS_PREFIX"] + "}"
    env = {**env, "RISKSTREAM_REDIS_URL": f"redis://127.0.0.1:{cluster[1]}/0",
           "RISKSTREAM_REDIS_CLUSTER": "true", "RISKSTREAM_REDIS_PREFIX": tag}  # fmt: skip
    reader = RedisCluster(host="127.0.0.1", port=cluster[0], decode_responses=True)
    log = harness.check_pictures_written(env, tmp_path / "worker.log", reader)
    assert "Redis write failed" not in log and "CROSSSLOT" not in log, log
    keys = list(reader.scan_iter(f"{tag}:*"))
    assert {key.split(":")[1] for key in keys} >= {"customer", "scores", "seen", "feed"}
    assert {reader.keyslot(key) for key in keys} == {reader.keyslot(tag)}
    assert pages_read_back(settings_of(env)) == reader.zrevrange(f"{tag}:scores", 0, -1)


def pages_read_back(settings: Settings) -> list[str]:
    """The customers of the ranking, as the query API reads them from the cluster, pages of
    two followed by their cursors; and each one's alerts read too."""
    sink = RedisSink(settings.redis_url, prefix=settings.redis_prefix, cluster=True)

    async def read() -> list[str]:
        await sink.setup()
        ranked, after = [], None
        while True:
            pictures, after = await sink.ranking_page(None, 2, after)
            ranked += [picture.customer_id for picture in pictures]
            for picture in pictures:
                alerts, _ = await sink.stream_page("alerts", picture.customer_id, 1000)
                assert all(alert["customer_id"] == picture.customer_id for alert in alerts)
            if after is None:
                await sink.close()
                return ranked

    return harness.run(read())


def test_a_cluster_wants_a_hash_tag_prefix(env):
    with pytest.raises(Exception, match="hash tag"):
        settings_of({**env, "RISKSTREAM_REDIS_CLUSTER": "true"})
