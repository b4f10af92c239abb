"""How riskstream's Kafka clients prove who they are and protect what they send.

One set of settings (``RISKSTREAM_KAFKA_*``) for every client riskstream makes: the Faust app
of a worker, the topic admin, the control and generate commands, the backtest's topic reader
and writer, the followers of the models and control topics. ``PLAINTEXT`` by default (a local
broker); ``SASL_SSL`` with SCRAM-SHA-512 is what a shared cluster wants; ``SSL`` alone with a
client certificate is mutual TLS.

>>> KafkaSecurity().client_options()
{'security_protocol': 'PLAINTEXT'}
>>> sasl = KafkaSecurity(protocol="SASL_PLAINTEXT", username="rs", password="pw")
>>> options = sasl.client_options()
>>> options["sasl_mechanism"], options["sasl_plain_username"], options["sasl_plain_password"]
('SCRAM-SHA-512', 'rs', 'pw')
"""

import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import Field, FilePath, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    import faust

KafkaClient = dict[str, Any]
"""The options of an aiokafka client: its bootstrap servers, protocol, credentials, TLS."""


class KafkaSecurity(BaseSettings):
    """``RISKSTREAM_KAFKA_PROTOCOL=SASL_SSL`` sets ``protocol``."""

    model_config = SettingsConfigDict(env_prefix="RISKSTREAM_KAFKA_", frozen=True)

    protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="Kafka's security protocol"
    )
    mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism"
    )
    username: str | None = Field(None, description="SASL user")
    password: SecretStr | None = Field(None, description="SASL password")
    password_file: FilePath | None = Field(
        None, description="A file holding the SASL password (a mounted secret), instead"
    )
    ca_file: FilePath | None = Field(
        None, description="CA certificates to trust, PEM (default: the system's)"
    )
    cert_file: FilePath | None = Field(None, description="Client certificate, PEM (mutual TLS)")
    key_file: FilePath | None = Field(None, description="Client certificate's key, PEM")

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.protocol.startswith("SASL") and not (
            self.username and (self.password or self.password_file)
        ):
            raise ValueError(
                f"{self.protocol} wants a user and a password (RISKSTREAM_KAFKA_USERNAME, and "
                "RISKSTREAM_KAFKA_PASSWORD or RISKSTREAM_KAFKA_PASSWORD_FILE)"
            )
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError(
                "a client certificate wants its key, and a key its certificate: set both "
                "RISKSTREAM_KAFKA_CERT_FILE and RISKSTREAM_KAFKA_KEY_FILE, or neither"
            )
        if not self.tls and (self.ca_file or self.cert_file):
            raise ValueError(
                f"certificates are given but {self.protocol} does not use TLS: set "
                "RISKSTREAM_KAFKA_PROTOCOL to SSL or SASL_SSL"
            )
        return self

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of every client, if the protocol uses TLS."""
        # imported here: the settings (and a backtest from files) load no Kafka client
        from aiokafka.helpers import create_ssl_context

        if not self.tls:
            return None
        return create_ssl_context(
            cafile=_text(self.ca_file), certfile=_text(self.cert_file), keyfile=_text(self.key_file)
        )

    def client_options(self) -> KafkaClient:
        """What an aiokafka client (producer, consumer, admin) is given, but its servers."""
        options: KafkaClient = {"security_protocol": self.protocol}
        if self.tls:
            options["ssl_context"] = self.ssl_context()
        if self.protocol.startswith("SASL"):
            options.update(
                sasl_mechanism=self.mechanism,
                sasl_plain_username=self.username,
                sasl_plain_password=self._password(),
            )
        return options

    def faust_credentials(self) -> "faust.SASLCredentials | faust.SSLCredentials | None":
        """The same for a Faust app."""
        import faust  # imported here: only a worker loads Faust

        if self.protocol.startswith("SASL"):
            return faust.SASLCredentials(
                username=self.username,
                password=self._password(),
                ssl_context=self.ssl_context(),
                mechanism=self.mechanism,
            )
        context = self.ssl_context()
        return None if context is None else faust.SSLCredentials(context)

    def _password(self) -> str:
        if self.password is not None:
            return self.password.get_secret_value()
        assert self.password_file is not None  # checked when read
        return self.password_file.read_text().strip()


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)
