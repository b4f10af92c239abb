"""Per-customer state and the features computed from it.

The feature engine is pure, synchronous and deterministic: no I/O, no clock of its own.

>>> from datetime import UTC, datetime
>>> from features import CustomerState
>>> state = CustomerState.new("c1")
>>> state.features(datetime(2026, 1, 1, tzinfo=UTC)).exposure
Decimal('0')

Modules, one concept each: ``config`` (settings), ``eventtime`` (time as integers), ``facts``
(events reduced to what is kept), ``ledger`` and ``records`` (exposure in exact money),
``aging``, ``behaviour`` (how a customer pays), ``activity`` and ``windows`` (what it does,
when), ``stats`` (running statistics), ``profile`` (customer fields), ``account`` (all of
that, replayable), ``transitions``, ``recent`` (bounded id memory), ``state`` (event-time
order, duplicates, lateness, serialisation) and ``view`` (the features snapshot).
"""

from features.aging import Aging
from features.config import FeatureConfig
from features.state import CustomerState
from features.stats import Summary
from features.transitions import Transition
from features.view import Features

__all__ = ["Aging", "CustomerState", "FeatureConfig", "Features", "Summary", "Transition"]
