"""Settings from the environment: every bad value is refused with one line naming the variable."""

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli.commands import app
from streams.settings import SettingsError, load_settings
from tests.unit.test_cli import one_line_error


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RISKSTREAM_LATENESS", "-P1D", "RISKSTREAM_LATENESS: '-P1D' is negative: give a"),
        ("RISKSTREAM_OVERDUE_GRACE", "-PT1H", "RISKSTREAM_OVERDUE_GRACE: '-PT1H' is negative"),
        ("RISKSTREAM_LATENESS", "banana", "'banana' is not an ISO 8601 duration such as PT30M"),
        ("RISKSTREAM_LATENESS", "P1Y", "(weeks, days, hours, minutes, seconds; no years or"),
        ("RISKSTREAM_TOPICS", "banana", "RISKSTREAM_TOPICS: not a JSON object (got 'banana')"),
        ("RISKSTREAM_TOPIC_ALERTS", "", "RISKSTREAM_TOPIC_ALERTS: '' is not a Kafka topic name"),
        ("RISKSTREAM_TOPIC_ORDERS", "crm orders", "'crm orders' is not a Kafka topic name"),
        ("RISKSTREAM_TOPIC_TICKS", "..", "'..' is not a Kafka topic name: use 1 to 249"),
        (
            "RISKSTREAM_STORE",
            "foo://",
            "RISKSTREAM_STORE: Input should be 'rocksdb://' or 'memory://'",
        ),
        ("RISKSTREAM_BROKER", "banana", "'banana' is not a Kafka bootstrap address: use kafka://"),
        ("RISKSTREAM_BROKER", "kafka://k1:9092,k2", "is not a Kafka bootstrap address"),
        ("RISKSTREAM_BROKER", "kafka://k1:90920", "is not a Kafka bootstrap address"),
        ("RISKSTREAM_API_TOKEN", "short-secret", "RISKSTREAM_API_TOKEN: use 16 characters"),
        ("RISKSTREAM_REDIS_URL", "notaurl", "RISKSTREAM_REDIS_URL: 'notaurl' is not a Redis URL"),
        ("RISKSTREAM_REDIS_URL", "http://redis:6379/0", "'http://redis:6379/0' is not a Redis"),
        ("RISKSTREAM_REDIS_URL", "redis://redis:637900/0", "'redis://redis:637900/0' is not"),
        ("RISKSTREAM_REDIS_URL", "redis://redis:6379/zero", "'redis://redis:6379/zero' is not"),
        ("RISKSTREAM_REDIS_URL", "redis://:short-secret@redis:port", "redis://:***@redis:port"),
        (
            "RISKSTREAM_CONSOLE_API_URL",
            "workers:6066",
            "RISKSTREAM_CONSOLE_API_URL: 'workers:6066'"
            " is not an http:// or https:// URL of a host: use http://host:port",
        ),
        ("RISKSTREAM_CONSOLE_API_URL", "http://workers:66066", "'http://workers:66066' is not an"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert message in str(refused.value)
    result = CliRunner().invoke(app, ["control", "list"])
    assert str(refused.value) in one_line_error(result)  # as an option's or a bad setting
    assert "short-secret" not in result.stderr


@pytest.mark.parametrize(
    ("broker", "servers"),
    [
        ("kafka://127.0.0.1:19092", "127.0.0.1:19092"),
        ("k1:9092", "k1:9092"),
        ("kafka://k1:9092,k2:9093", "k1:9092,k2:9093"),
        ("kafka://k1:9092;kafka://k2:9093", "k1:9092,k2:9093"),
        ("kafka://[::1]:9092", "[::1]:9092"),
    ],
)
def test_broker_urls_in_each_accepted_form_name_their_servers(monkeypatch, broker, servers):
    monkeypatch.setenv("RISKSTREAM_BROKER", broker)
    assert load_settings().bootstrap_servers == servers


def test_durations_are_read_as_control_documents_write_them(monkeypatch):
    monkeypatch.setenv("RISKSTREAM_LATENESS", "P2W")
    monkeypatch.setenv("RISKSTREAM_OVERDUE_GRACE", "PT6H")
    settings = load_settings()
    assert (settings.lateness, settings.overdue_grace) == (timedelta(days=14), timedelta(hours=6))
    assert settings.feature_config().lateness == timedelta(days=14)


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:16379/0", "rediss://user:pw@redis.example:6380/2", "unix:///r.sock"]
)
def test_redis_urls_in_each_accepted_form_are_taken(monkeypatch, url):
    monkeypatch.setenv("RISKSTREAM_REDIS_URL", url)
    assert load_settings().redis_url == url


def worker(tmp_path: Path, **env: str):
    """``riskstream worker`` on an unreachable broker, with ``env``."""
    given = {"RISKSTREAM_BROKER": "kafka://127.0.0.1:1", "RISKSTREAM_DATA_DIR": str(tmp_path),
             **env}  # fmt: skip
    return CliRunner().invoke(app, ["worker"], env=given)


def test_a_worker_refuses_the_development_model_key_unless_told_it_is_development(tmp_path):
    """Issue 16: the built-in development key signed and checked model snapshots without a
    word; anyone who read the code could sign a snapshot every worker would load."""
    refused = one_line_error(worker(tmp_path))
    assert refused.startswith("riskstream: bad setting RISKSTREAM_MODEL_KEY: ")
    assert "RISKSTREAM_DEVELOPMENT=true" in refused and "openssl rand" in refused
    for allowed in ({"RISKSTREAM_DEVELOPMENT": "true"},
                    {"RISKSTREAM_MODEL_KEY": "a-real-secret-of-24-chars"}):  # fmt: skip
        assert "cannot use the broker" in one_line_error(worker(tmp_path, **allowed))


@pytest.mark.parametrize("bind", ["0.0.0.0", "::", "10.1.2.3", "worker-1.internal"])
def test_a_worker_serving_beyond_loopback_wants_an_api_token(tmp_path, bind):
    """Issue 16: the query API answered anyone on the network with customers' risk, unless a
    token was set by choice."""
    key = {"RISKSTREAM_MODEL_KEY": "a-real-secret-of-24-chars", "RISKSTREAM_WEB_BIND": bind}
    refused = one_line_error(worker(tmp_path, **key))
    assert refused.startswith("riskstream: bad setting RISKSTREAM_API_TOKEN: ")
    assert f"answer anyone who reaches {bind}" in refused and "openssl rand" in refused
    for allowed in ({"RISKSTREAM_API_TOKEN": "a-token-of-24-characters"},
                    {"RISKSTREAM_DEVELOPMENT": "true"}):  # fmt: skip
        assert "cannot use the broker" in one_line_error(worker(tmp_path, **key, **allowed))


@pytest.mark.parametrize("bind", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_a_worker_serving_on_loopback_alone_may_go_without_a_token(tmp_path, bind):
    key = {"RISKSTREAM_MODEL_KEY": "a-real-secret-of-24-chars", "RISKSTREAM_WEB_BIND": bind}
    assert "cannot use the broker" in one_line_error(worker(tmp_path, **key))
