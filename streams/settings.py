"""Settings of a riskstream worker, from ``RISKSTREAM_*`` environment variables.

Every setting has a default that works with the local broker and Redis started by
``deploy/local``; the README lists them all.
"""

import socket
from datetime import timedelta
from pathlib import Path
from typing import get_args

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from features import FeatureConfig

DEVELOPMENT_KEY = "riskstream-development-key-change-me"


class Topics(BaseSettings):
    """Topic names. ``RISKSTREAM_TOPIC_ORDERS=shop.orders`` renames one."""

    model_config = SettingsConfigDict(env_prefix="RISKSTREAM_TOPIC_", frozen=True)

    orders: str = "crm.orders"
    invoices: str = "crm.invoices"
    payments: str = "crm.payments"
    customers: str = "crm.customers"
    alerts: str = "risk.alerts"
    changes: str = "risk.changes"
    decisions: str = "risk.decisions"
    actions: str = Field("risk.actions", description="Proposed credit actions")
    deadletter: str = "risk.deadletter"
    customers_out: str = Field("risk.customers", description="Current risk per customer")
    ticks: str = Field("risk.ticks", description="Internal: time passing, per customer")
    training: str = Field("risk.training", description="Labelled examples for the trainer")
    models: str = Field("risk.models", description="Signed model snapshots (compacted)")
    model_health: str = Field("risk.model-health", description="Model drift events")
    control: str = Field("risk.control", description="Versioned control documents (compacted)")

    def inputs(self) -> dict[str, str]:
        """Input topic name -> the event family it carries."""
        return {
            self.orders: "order",
            self.invoices: "invoice",
            self.payments: "payment",
            self.customers: "customer",
        }

    def per_customer(self) -> list[str]:
        """The topics keyed by customer id, all with the same partition count."""
        return [
            *self.inputs(),
            self.alerts,
            self.changes,
            self.decisions,
            self.actions,
            self.deadletter,
            self.customers_out,
            self.ticks,
        ]


class Settings(BaseSettings):
    """One worker's settings. ``RISKSTREAM_BROKER=kafka://host:9092`` sets ``broker``."""

    model_config = SettingsConfigDict(env_prefix="RISKSTREAM_", frozen=True)

    app_id: str = Field("riskstream", description="Faust app id: consumer group and table prefix")
    broker: str = Field("kafka://127.0.0.1:19092", description="Kafka bootstrap, kafka://host:port")
    redis_url: str = "redis://127.0.0.1:16379/0"
    redis_prefix: str = Field("riskstream", description="Prefix of every Redis key")
    partitions: int = Field(4, ge=1, description="Partitions of every topic riskstream creates")
    replication: int = Field(1, ge=1)
    data_dir: Path = Field(Path(".run/worker"), description="Table state (RocksDB)")
    web_port: int = Field(6066, ge=1, le=65535)
    web_bind: str = Field("127.0.0.1", description="Address the web server listens on")
    web_host: str | None = Field(
        None,
        description="Host name the other workers reach this web server at, to forward a query "
        "to the worker that owns the customer (default: the bind address, or this machine's "
        "host name when binding every address)",
    )
    api_token: SecretStr | None = Field(
        None, description="Bearer token the query API asks for (none: open)"
    )
    store: str = Field("rocksdb://", description="rocksdb:// or memory://")
    lateness: timedelta = Field(timedelta(days=1), description="Out-of-order events allowed")
    overdue_grace: timedelta = Field(timedelta(0), description="Due date + grace = overdue")
    overdue_check_interval: float = Field(5.0, gt=0, description="Seconds between overdue sweeps")
    alert_stream_length: int = Field(1000, ge=1, description="Alerts kept per customer in Redis")
    session_timeout: float = Field(10.0, ge=6, description="Consumer group session, seconds")
    embedded_broker: bool = Field(False, description="Settings tuned for the embedded broker")
    topics: Topics = Field(default_factory=Topics)
    model_name: str = Field("logreg", description="Late-payment model: logreg or arf")
    model_key: SecretStr = Field(
        SecretStr(DEVELOPMENT_KEY), min_length=16, description="HMAC key of model snapshots"
    )
    snapshot_every: int = Field(50, ge=1, description="Examples learnt between snapshots")
    record_cache: int = Field(
        10_000, ge=0, description="Customer records a worker keeps in memory besides its table"
    )
    snapshot_interval: float = Field(
        30.0, gt=0, description="Seconds between snapshots of whatever was learnt meanwhile"
    )

    @field_validator("api_token")
    @classmethod
    def _long_enough(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and len(token.get_secret_value()) < 16:
            raise ValueError("use 16 characters or more, e.g. from: openssl rand -hex 24")
        return token

    def feature_config(self) -> FeatureConfig:
        return FeatureConfig(lateness=self.lateness, overdue_grace=self.overdue_grace)

    def faust_options(self) -> dict[str, float | int]:
        """Faust settings that depend on the broker."""
        if self.embedded_broker:
            # The embedded broker holds a group join for half the session timeout, and it
            # under-reports end offsets of multi-record batches, which breaks table recovery.
            return {
                "broker_session_timeout": 2.0,
                "broker_heartbeat_interval": 0.5,
                "producer_max_batch_size": 1,
            }
        return {
            "broker_session_timeout": self.session_timeout,
            "broker_heartbeat_interval": self.session_timeout / 5,
        }

    def topic_specs(self) -> list[tuple[str, int, dict[str, str]]]:
        """(name, partitions, config) of every topic a worker uses, apart from Faust's own."""
        compacted = {"cleanup.policy": "compact"}
        specs = [
            (name, self.partitions, compacted if name == self.topics.customers_out else {})
            for name in self.topics.per_customer()
        ]
        # One partition: one trainer, and every worker reads every snapshot.
        specs.append((self.topics.training, 1, {}))
        specs.append((self.topics.models, 1, compacted))
        specs.append((self.topics.model_health, 1, {}))
        # One partition: every worker reads every document, in the order it was published.
        specs.append((self.topics.control, 1, compacted))
        return specs

    @property
    def advertised_web_host(self) -> str:
        """Where the other workers reach this worker's web server."""
        if self.web_host:
            return self.web_host
        return socket.gethostname() if self.web_bind in ("0.0.0.0", "::") else self.web_bind

    @property
    def bootstrap_servers(self) -> str:
        """The broker as aiokafka wants it: host:port[,host:port]."""
        return ",".join(url.split("://", 1)[-1] for url in self.broker.split(";"))


class SettingsError(ValueError):
    """Settings that cannot be used; the message says which and how to fix it."""


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        name = "RISKSTREAM_" + "_".join(str(part) for part in first["loc"]).upper()
        field = Settings.model_fields.get(str(first["loc"][0]))
        secret = field is not None and SecretStr in (
            get_args(field.annotation) or (field.annotation,)
        )
        shown = "" if secret else f" (got {first.get('input')!r})"  # never print a secret
        raise SettingsError(f"{name}: {first['msg']}{shown}") from None
