"""The pure core: the engine, replay in event time, control documents, dead-letter reasons.

Nothing here does I/O or imports faust, aiokafka, redis or mode (a test holds it to that): the
workers and the backtester wrap it. The engine's main names are importable from here.
"""

from streams.engine.engine import CustomerRecord, Engine, Outputs, RiskConfig, picture

__all__ = ["CustomerRecord", "Engine", "Outputs", "RiskConfig", "picture"]
