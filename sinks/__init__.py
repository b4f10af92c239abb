"""Writers of riskstream's outputs: Kafka topics, Redis, Prometheus."""

from sinks.base import Sink

__all__ = ["Sink"]
