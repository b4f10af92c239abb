"""Settings of a riskstream worker, from ``RISKSTREAM_*`` environment variables.

Every setting has a default that works with the local broker and Redis started by
``deploy/local``; the README lists them all.
"""

import ipaddress
import os
import re
import socket
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args
from urllib.parse import SplitResult, urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    FilePath,
    HttpUrl,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as UnreadableSetting

from detectors.rules import parse_duration
from features import FeatureConfig
from schemas.outputs import Severity, Tier
from streams.kafka.security import KafkaClient, KafkaSecurity

DEVELOPMENT_KEY = "riskstream-development-key-change-me"

ModelName = Literal["logreg", "arf"]
"""The late-payment models a worker can learn (``detectors.late_payment.MODELS``)."""

_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")
_BROKER = re.compile(
    r"(?:kafka://)?(?P<server>(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>\d{1,5}))"
)


def topic_name(name: str) -> str:
    """``name`` if Kafka takes it as a topic name, else a `ValueError` saying what it takes.

    >>> topic_name("risk.alerts")
    'risk.alerts'
    >>> topic_name("risk alerts")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: 'risk alerts' is not a Kafka topic name: use 1 to 249 letters, digits, ...
    """
    if not _TOPIC_NAME.fullmatch(name) or name in (".", ".."):
        raise ValueError(
            f"{name!r} is not a Kafka topic name: use 1 to 249 letters, digits, '.', '_' or '-'"
        )
    return name


def bootstrap_servers(broker: str) -> list[str]:
    """The host:port of each broker in ``broker``, else a `ValueError` saying the form it takes.

    >>> bootstrap_servers("kafka://k1:9092,k2:9093"), bootstrap_servers("127.0.0.1:19092")
    (['k1:9092', 'k2:9093'], ['127.0.0.1:19092'])
    >>> bootstrap_servers("banana")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: 'banana' is not a Kafka bootstrap address: use kafka://host:port or host:port, ...
    """
    found = [_BROKER.fullmatch(part.strip()) for part in re.split("[,;]", broker)]
    if not all(match and 0 < int(match["port"]) < 65536 for match in found):
        raise ValueError(
            f"{broker!r} is not a Kafka bootstrap address: use kafka://host:port or host:port, "
            "several separated by commas"
        )
    return [match["server"] for match in found if match]


def redis_url(url: str) -> str:
    """``url`` if it names a Redis server, else a `ValueError` saying the forms it takes (with
    any password in it masked).

    >>> redis_url("redis://127.0.0.1:16379/0")
    'redis://127.0.0.1:16379/0'
    >>> redis_url("redis://:hunter2@redis:6379/zero")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: 'redis://:***@redis:6379/zero' is not a Redis URL (the database is not a number...
    >>> redis_url("redis://redis:6379/0?socket_timeout=soon")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: '...' is not a Redis URL (invalid value for 'socket_timeout' in connection URL.)...
    """
    try:
        split = urlsplit(url)
        if not url.lower().startswith(("redis://", "rediss://", "unix://")):
            problem: str | None = "it starts with none of redis://, rediss://, unix://"
        else:
            problem = _redis_url_problem(split)
            if split.query:  # its options, as redis reads them (redis is loaded only for those)
                from redis.connection import parse_url

                parse_url(url)
    except ValueError as error:
        problem = str(error)
    if problem:
        shown = re.sub(r"(//[^/@:]*:)[^/@]*@", r"\1***@", url)
        raise ValueError(
            f"{shown!r} is not a Redis URL ({problem[0].lower()}{problem[1:]}): use "
            "redis://[user:password@]host:port/db, rediss://... for TLS, or unix:///path"
        )
    return url


def api_url(url: str) -> str:
    """``url`` without a trailing slash if it is an http:// or https:// URL of a host, else a
    `ValueError` saying the form it takes.

    >>> api_url("http://workers.internal:6066/")
    'http://workers.internal:6066'
    >>> api_url("workers:6066")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: 'workers:6066' is not an http:// or https:// URL of a host: use ...
    """
    try:
        split = urlsplit(url)
        taken = (split.scheme in ("http", "https") and bool(split.hostname) and split.port != 0
                 and not (split.query or split.fragment))  # fmt: skip
    except ValueError:  # a port that is not one
        taken = False
    if not taken:
        raise ValueError(
            f"{url!r} is not an http:// or https:// URL of a host: use http://host:port, "
            "e.g. http://127.0.0.1:6066"
        )
    return url.rstrip("/")


def _redis_url_problem(split: SplitResult) -> str | None:
    """What redis would let pass but a worker would not use as meant."""
    if split.scheme == "unix":
        return None if split.path else "no socket path"
    if not split.hostname:
        return "no host"
    if split.port is not None and not 0 < split.port < 65536:
        return f"port {split.port} is not from 1 to 65535"
    database = split.path.strip("/")
    if database and not (database.isascii() and database.isdigit()):
        return f"the database is not a number: {database!r}"
    return None


def _duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


TopicName = Annotated[str, AfterValidator(topic_name)]
RedisUrl = Annotated[str, AfterValidator(redis_url)]
ApiUrl = Annotated[str, AfterValidator(api_url)]
Duration = Annotated[timedelta, BeforeValidator(_duration), Field(ge=timedelta(0))]
"""An ISO 8601 duration of weeks, days, hours, minutes and seconds, as control documents
write them (years and months have no fixed length); never negative."""


class Topics(BaseSettings):
    """Topic names. ``RISKSTREAM_TOPIC_ORDERS=shop.orders`` renames one."""

    model_config = SettingsConfigDict(env_prefix="RISKSTREAM_TOPIC_", frozen=True)

    orders: TopicName = "crm.orders"
    invoices: TopicName = "crm.invoices"
    payments: TopicName = "crm.payments"
    customers: TopicName = "crm.customers"
    reviews: TopicName = Field(
        "risk.reviews", description="People's actions on cases, held orders and proposals"
    )
    alerts: TopicName = "risk.alerts"
    changes: TopicName = "risk.changes"
    decisions: TopicName = "risk.decisions"
    actions: TopicName = Field(
        "risk.actions", description="Proposed credit actions and their reviews"
    )
    cases: TopicName = Field("risk.cases", description="Case revisions")
    deadletter: TopicName = "risk.deadletter"
    customers_out: TopicName = Field("risk.customers", description="Current risk per customer")
    ticks: TopicName = Field("risk.ticks", description="Internal: time passing, per customer")
    training: TopicName = Field("risk.training", description="Labelled examples for the trainer")
    models: TopicName = Field("risk.models", description="Signed model snapshots (compacted)")
    model_health: TopicName = Field("risk.model-health", description="Model drift events")
    control: TopicName = Field(
        "risk.control", description="Versioned control documents (compacted)"
    )

    def inputs(self) -> dict[str, str]:
        """Input topic name -> the event family it carries."""
        return {
            self.orders: "order",
            self.invoices: "invoice",
            self.payments: "payment",
            self.customers: "customer",
            self.reviews: "review",
        }

    def per_customer(self) -> list[str]:
        """The topics keyed by customer id, all with the same partition count."""
        return [
            *self.inputs(),
            self.alerts,
            self.changes,
            self.decisions,
            self.actions,
            self.cases,
            self.deadletter,
            self.customers_out,
            self.ticks,
        ]


class NotifySettings(BaseSettings):
    """Where and when ``riskstream notify`` tells the credit team of cases.
    ``RISKSTREAM_NOTIFY_WEBHOOK_URL=https://hooks.slack.com/...`` sets ``webhook_url``."""

    model_config = SettingsConfigDict(env_prefix="RISKSTREAM_NOTIFY_", frozen=True)

    webhook_url: HttpUrl | None = Field(
        None, description="A Slack-compatible incoming webhook to post cases to"
    )
    smtp_url: str | None = Field(
        None,
        description="SMTP server to e-mail cases through: smtp://[user:password@]host:port "
        "(STARTTLS when offered) or smtps://... (TLS)",
    )
    email_from: str | None = Field(None, description="The sender of the e-mails")
    email_to: str | None = Field(None, description="Their recipients, separated by commas")
    min_severity: Severity = Field("warning", description="Cases of lower severity: no word")
    at_once: str = Field(
        "critical,high",
        description="Severities and tiers told at once (the rest wait for the digest), "
        "separated by commas",
    )
    per_minute: int = Field(20, ge=1, description="Messages told at once in a minute at most")
    digest_every: Duration = Field(
        timedelta(hours=1), description="Between digests; PT0S: no digest, all at once"
    )

    @field_validator("smtp_url")
    @classmethod
    def _smtp(cls, url: str | None) -> str | None:
        if url is not None and urlsplit(url).scheme not in ("smtp", "smtps"):
            raise ValueError("use smtp://[user:password@]host:port or smtps://...")
        return url

    @field_validator("at_once")
    @classmethod
    def _known(cls, words: str) -> str:
        known = {*get_args(Severity), *get_args(Tier)}
        unknown = sorted(set(_listed(words)) - known)
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: use severities and tiers of "
                             f"{', '.join(sorted(known))}")  # fmt: skip
        return words

    @model_validator(mode="after")
    def _addressed(self) -> Self:
        if self.smtp_url and not (self.email_from and self.email_to):
            raise ValueError(
                "e-mail wants a sender and recipients: set RISKSTREAM_NOTIFY_EMAIL_FROM and "
                "RISKSTREAM_NOTIFY_EMAIL_TO"
            )
        return self

    def check_addressed(self) -> None:
        """`SettingsError` unless a channel is set."""
        if self.webhook_url is None and self.smtp_url is None:
            raise SettingsError(
                "RISKSTREAM_NOTIFY_WEBHOOK_URL or RISKSTREAM_NOTIFY_SMTP_URL: neither is set, so "
                "there is nobody to tell: set a webhook, an SMTP server, or both"
            )

    def at_once_words(self) -> set[str]:
        """The severities and tiers told at once."""
        return set(_listed(self.at_once))

    def recipients(self) -> list[str]:
        return _listed(self.email_to or "")


def _listed(words: str) -> list[str]:
    return [word.strip() for word in words.split(",") if word.strip()]


class Settings(BaseSettings):
    """One worker's settings. ``RISKSTREAM_BROKER=kafka://host:9092`` sets ``broker``."""

    model_config = SettingsConfigDict(env_prefix="RISKSTREAM_", frozen=True)

    app_id: str = Field("riskstream", description="Faust app id: consumer group and table prefix")
    broker: str = Field("kafka://127.0.0.1:19092", description="Kafka bootstrap, kafka://host:port")
    redis_url: RedisUrl = Field(
        "redis://127.0.0.1:16379/0",
        description="Redis URL, redis://host:port/db (rediss:// for TLS)",
    )
    redis_prefix: str = Field("riskstream", description="Prefix of every Redis key")
    redis_cluster: bool = Field(
        False,
        description="RISKSTREAM_REDIS_URL is a node of a Redis Cluster; the prefix must then be a "
        "hash tag such as {riskstream}",
    )
    redis_ca_file: FilePath | None = Field(
        None, description="CA certificates to trust for rediss:// URLs, PEM (default: the system's)"
    )
    redis_cert_file: FilePath | None = Field(
        None, description="Client certificate for Redis, PEM (when Redis asks for one)"
    )
    redis_key_file: FilePath | None = Field(None, description="Its key, PEM")
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
    console_port: int = Field(6070, ge=1, le=65535, description="Port of riskstream console")
    console_bind: str = Field("127.0.0.1", description="Address the console listens on")
    console_user_header: str | None = Field(
        None,
        description="Header naming the signed-in user, set by a sign-in proxy in front of the "
        "console (e.g. X-Forwarded-User); none: people give their user id when signing in",
    )
    console_api_url: ApiUrl | None = Field(
        None,
        description="The workers' query API the console asks for a customer's open invoices, "
        "http://host:port (default: the worker of this machine, at RISKSTREAM_WEB_BIND and "
        "RISKSTREAM_WEB_PORT)",
    )
    store: Literal["rocksdb://", "memory://"] = Field(
        "rocksdb://", description="Tables on disk (with changelogs), or in memory for experiments"
    )
    lateness: Duration = Field(timedelta(days=1), description="Out-of-order events allowed")
    clock_skew: Duration = Field(
        timedelta(hours=1),
        description="How far ahead of the worker's clock an event time or a tick may be; "
        "later ones are from_future dead letters (backtests take any time)",
    )
    overdue_grace: Duration = Field(timedelta(0), description="Due date + grace = overdue")
    overdue_check_interval: float = Field(5.0, gt=0, description="Seconds between overdue sweeps")
    alert_stream_length: int = Field(1000, ge=1, description="Alerts kept per customer in Redis")
    redis_feed_length: int = Field(
        100_000, ge=1, description="Entries kept in each of Redis' portfolio-wide change feeds"
    )
    session_timeout: float = Field(10.0, ge=6, description="Consumer group session, seconds")
    fetch_wait_ms: int = Field(
        10,
        ge=0,
        le=1500,
        description="Milliseconds the broker may hold a worker's fetch until it has 64 KB",
    )
    embedded_broker: bool = Field(False, description="Settings tuned for the embedded broker")
    topics: Topics = Field(default_factory=Topics)
    kafka: KafkaSecurity = Field(default_factory=KafkaSecurity)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    model_name: ModelName = Field("logreg", description="Late-payment model: logreg or arf")
    challengers: str = Field(
        "",
        description="Late-payment models scored beside the champion, separated by commas "
        "(e.g. arf); a model control document can promote one",
    )
    model_key: SecretStr = Field(
        SecretStr(DEVELOPMENT_KEY),
        min_length=16,
        description="HMAC key of model snapshots; a worker refuses the built-in one unless "
        "development is set",
    )
    development: bool = Field(
        False,
        description="A development machine: a worker may sign and check model snapshots with "
        "the built-in key (riskstream demo sets it)",
    )
    snapshot_every: int = Field(50, ge=1, description="Examples learnt between snapshots")
    record_cache: int = Field(
        10_000, ge=0, description="Customer records a worker keeps in memory besides its table"
    )
    snapshot_interval: float = Field(
        30.0, gt=0, description="Seconds between snapshots of whatever was learnt meanwhile"
    )

    @field_validator("challengers")
    @classmethod
    def _known_models(cls, words: str) -> str:
        known = get_args(ModelName)
        unknown = sorted(set(_listed(words)) - set(known))
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: use models of {', '.join(known)}")
        return words

    @model_validator(mode="after")
    def _challengers_not_the_champion(self) -> Self:
        if self.model_name in _listed(self.challengers):
            raise ValueError(
                f"RISKSTREAM_CHALLENGERS: {self.model_name} is the champion "
                "(RISKSTREAM_MODEL_NAME); name only other models"
            )
        return self

    def challenger_names(self) -> list[str]:
        """The challengers, in the order given, each once."""
        return list(dict.fromkeys(_listed(self.challengers)))

    @field_validator("broker")
    @classmethod
    def _reachable_form(cls, broker: str) -> str:
        bootstrap_servers(broker)
        return broker

    @field_validator("api_token")
    @classmethod
    def _long_enough(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and len(token.get_secret_value()) < 16:
            raise ValueError("use 16 characters or more, e.g. from: openssl rand -hex 24")
        return token

    @model_validator(mode="after")
    def _one_slot_in_a_cluster(self) -> Self:
        prefix = self.redis_prefix
        if self.redis_cluster and not re.fullmatch(r"\{[^{}]+\}", prefix):
            raise ValueError(
                f"RISKSTREAM_REDIS_PREFIX: {prefix!r} is not a hash tag, and in a Redis Cluster "
                "the keys riskstream writes together must be in one hash slot: use one, e.g. "
                f"{{{prefix.strip('{}') or 'riskstream'}}}"
            )
        return self

    @model_validator(mode="after")
    def _redis_tls_complete(self) -> Self:
        if (self.redis_cert_file is None) != (self.redis_key_file is None):
            raise ValueError(
                "a client certificate wants its key, and a key its certificate: set both "
                "RISKSTREAM_REDIS_CERT_FILE and RISKSTREAM_REDIS_KEY_FILE, or neither"
            )
        if (self.redis_ca_file or self.redis_cert_file) and not self.redis_url.startswith(
            "rediss://"
        ):
            raise ValueError(
                "certificates for Redis are given but RISKSTREAM_REDIS_URL does not use TLS: "
                "make it rediss://..."
            )
        return self

    def redis_client(self, **options: Any) -> Any:
        """A Redis client as the settings say (cluster, TLS), with ``options`` for redis-py."""
        from sinks.redis import connect

        return connect(self.redis_url, cluster=self.redis_cluster, **self.redis_options(),
                       **options)  # fmt: skip

    def redis_options(self) -> dict[str, str]:
        """What a Redis client is given besides its URL: the TLS files, for rediss://.

        >>> Settings().redis_options()
        {}
        """
        files = {"ssl_ca_certs": self.redis_ca_file, "ssl_certfile": self.redis_cert_file,
                 "ssl_keyfile": self.redis_key_file}  # fmt: skip
        return {option: str(path) for option, path in files.items() if path is not None}

    def check_worker(self) -> None:
        """`SettingsError` if a worker would run unprotected where it should not: see
        `check_model_key` and `check_api_token`."""
        self.check_model_key()
        self.check_api_token()

    def check_api_token(self) -> None:
        """`SettingsError` if the query API would answer anyone beyond this machine without a
        token, on a machine not said to be for development."""
        if self.api_token is None and not self.development and not _loopback(self.web_bind):
            raise SettingsError(
                f"RISKSTREAM_API_TOKEN: not set, and the query API would answer anyone who "
                f"reaches {self.web_bind} (RISKSTREAM_WEB_BIND) with customers' risk: set a "
                "token of 16 characters or more (e.g. openssl rand -hex 24), or bind to "
                "127.0.0.1"
            )

    def check_console(self) -> None:
        """`SettingsError` if the console would let anyone who reaches it act without a token,
        on a machine not said to be for development."""
        if self.api_token is None and not self.development and not _loopback(self.console_bind):
            raise SettingsError(
                f"RISKSTREAM_API_TOKEN: not set, and the console would let anyone who reaches "
                f"{self.console_bind} (RISKSTREAM_CONSOLE_BIND) see customers' risk and act on "
                "it: set a token of 16 characters or more (e.g. openssl rand -hex 24), or bind "
                "to 127.0.0.1"
            )

    def check_model_key(self) -> None:
        """`SettingsError` if a worker would sign model snapshots with the built-in key, which
        anyone who reads the code knows, on a machine not said to be for development."""
        if self.uses_development_key and not self.development:
            raise SettingsError(
                "RISKSTREAM_MODEL_KEY: not set, and the built-in development key would let "
                "anyone sign model snapshots: set it to a secret of 16 bytes or more, the same "
                "on every worker (e.g. openssl rand -hex 32), or RISKSTREAM_DEVELOPMENT=true "
                "on a development machine"
            )

    @property
    def uses_development_key(self) -> bool:
        """Model snapshots are signed with the built-in key (RISKSTREAM_MODEL_KEY not set)."""
        return self.model_key.get_secret_value() == DEVELOPMENT_KEY

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
    def workers_api_url(self) -> str:
        """Where the console asks the workers' query API: RISKSTREAM_CONSOLE_API_URL, else the
        web server of this machine's worker (on loopback when it listens on every address).

        >>> Settings(web_bind="0.0.0.0", web_port=7000, console_api_url=None).workers_api_url
        'http://127.0.0.1:7000'
        >>> Settings(web_bind="::1", web_port=7000, console_api_url=None).workers_api_url
        'http://[::1]:7000'
        """
        if self.console_api_url is not None:
            return self.console_api_url
        host = "127.0.0.1" if self.web_bind in ("0.0.0.0", "::") else self.web_bind
        return f"http://{f'[{host}]' if ':' in host else host}:{self.web_port}"

    @property
    def kafka_client(self) -> KafkaClient:
        """What every aiokafka client of riskstream is given: servers, protocol, credentials."""
        return {"bootstrap_servers": self.bootstrap_servers, **self.kafka.client_options()}

    @property
    def bootstrap_servers(self) -> str:
        """The broker as aiokafka wants it: host:port[,host:port]."""
        return ",".join(bootstrap_servers(self.broker))


def _loopback(host: str) -> bool:
    """Whether ``host`` is this machine alone.

    >>> [_loopback(host) for host in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "db.example")]
    [True, True, True, False, False]
    """
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class SettingsError(ValueError):
    """Settings that cannot be used; the message says which and how to fix it."""


def load_settings(**given: Any) -> Settings:
    """The settings ``given`` (by their field names) over those of the environment;
    `SettingsError` names a bad variable and what is wrong."""
    try:
        return Settings(**given)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
    except UnreadableSetting as error:
        found = re.search(r'field "(\w+)"', str(error))
        name = f"RISKSTREAM_{found[1] if found else ''}".upper()
        raise SettingsError(
            f"{name}: not a JSON object (got {os.environ.get(name)!r}): leave it unset and "
            "name topics one by one, e.g. RISKSTREAM_TOPIC_ALERTS=risk.alerts"
        ) from None


def _describe(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    models = (Settings, Topics, KafkaSecurity, NotifySettings)
    model = {model.__name__: model for model in models}[error.title]
    names = "_".join(str(part) for part in first["loc"]).upper() or "*"  # * : of several
    name = model.model_config["env_prefix"] + names
    field = model.model_fields.get(str(first["loc"][0])) if first["loc"] else None
    secret = field is not None and SecretStr in (get_args(field.annotation) or (field.annotation,))
    # The Redis URL's message shows it, masked; URLs with credentials or tokens in them (SMTP,
    # a webhook's) are not shown; a check of several fields is given them all.
    secret = secret or first["loc"][:1] in (("redis_url",), ("smtp_url",), ("webhook_url",), ())
    message = first["msg"].removeprefix("Value error, ")
    given = repr(first.get("input"))
    shown = "" if secret or given in message else f" (got {given})"  # never print a secret
    return f"{name}: {message}{shown}"
