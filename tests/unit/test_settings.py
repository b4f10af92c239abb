"""Settings from the environment: every bad value is refused with one line naming the variable."""

from datetime import timedelta

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
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert message in str(refused.value)
    result = CliRunner().invoke(app, ["control", "list"])
    assert f"riskstream: bad setting {refused.value}" == one_line_error(result).strip()
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
