"""Per-customer state and the features computed from it.

The feature engine is pure, synchronous and deterministic: no I/O, no clock of its own.

>>> from datetime import UTC, datetime
>>> from features import CustomerState
>>> state = CustomerState.new("c1")
>>> state.features(datetime(2026, 1, 1, tzinfo=UTC)).exposure
Decimal('0.00')

Modules, one concept each: ``config`` (settings), ``eventtime`` (time as integers), ``units``
(money as integers), ``facts`` (events reduced to what is kept), ``items`` (orders, invoices,
payments as mergeable records), ``ledger`` (exposure, and the allocation of money derived from
the items), ``aging``, ``behaviour`` (how a customer pays), ``activity`` and ``windows`` (what
it does, when, in event-time tiles), ``stats`` (exact running sums), ``profile`` (customer
fields as registers), ``transitions``, ``state`` (lateness, duplicates, time passing,
serialisation) and ``view`` (the features snapshot).
"""

from features.aging import Aging
from features.config import FeatureConfig
from features.state import CustomerState
from features.stats import Summary
from features.transitions import Transition
from features.view import Features

__all__ = ["Aging", "CustomerState", "FeatureConfig", "Features", "Summary", "Transition"]
