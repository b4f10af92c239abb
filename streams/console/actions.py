"""What a console form asks for, as the review event it publishes: pure, no I/O.

Each action of the console is one review event of the contract (``schemas.events``), keyed
by the customer on the reviews topic. Its ``event_id`` is derived from the form it came from
(each rendered form carries a random ``nonce``): a form sent twice (a double click, a retry)
gives the same event, which the worker counts once.

>>> from datetime import datetime, UTC
>>> now = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
>>> event = review_event("snooze", {"customer_id": "c-1", "case_id": "k-1", "days": "3",
...                                  "note": "promised to pay", "nonce": "n1"}, "ana.k", now)
>>> event.type, event.until.isoformat(), event.actor, event.note
('case.snoozed', '2026-03-04T09:30:00+00:00', 'ana.k', 'promised to pay')
>>> try:
...     review_event("resolve", {"customer_id": "c-1", "case_id": "k-1"}, "ana.k", now)
... except ActionError as error:
...     print(error)
note: a resolution needs a note saying how it was resolved
"""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from schemas.events import (
    CaseAcknowledged,
    CaseAssigned,
    CaseResolved,
    CaseSnoozed,
    OrderRejected,
    OrderReleased,
    ProposalAccepted,
    ProposalDeclined,
    ReviewEvent,
)
from schemas.ids import derive_id

ACTIONS: dict[str, tuple[type[ReviewEvent], tuple[str, ...]]] = {
    "acknowledge": (CaseAcknowledged, ("case_id",)),
    "assign": (CaseAssigned, ("case_id", "assignee")),
    "snooze": (CaseSnoozed, ("case_id",)),
    "resolve": (CaseResolved, ("case_id",)),
    "release": (OrderReleased, ("decision_id", "order_id")),
    "reject": (OrderRejected, ("decision_id", "order_id")),
    "accept": (ProposalAccepted, ("action_id",)),
    "decline": (ProposalDeclined, ("action_id",)),
}
"""A console action -> the review event it publishes and the form fields it copies."""
SNOOZE_DAYS = (1, 3, 7, 14, 30)


class ActionError(ValueError):
    """A form that cannot become its event; the message names the field and why."""


def review_event(action: str, form: Mapping[str, str], actor: str, now: datetime) -> ReviewEvent:
    """The review event of ``action`` by ``actor`` at ``now`` from a submitted ``form``."""
    if action not in ACTIONS:
        raise ActionError(f"action: one of {', '.join(ACTIONS)}, not {action!r}")
    contract, copied = ACTIONS[action]
    if action == "resolve" and not form.get("note", "").strip():
        raise ActionError("note: a resolution needs a note saying how it was resolved")
    fields: dict[str, Any] = {name: form.get(name, "") for name in copied}
    if action == "snooze":
        days = form.get("days", "")
        if days not in {str(choice) for choice in SNOOZE_DAYS}:
            raise ActionError(f"days: one of {', '.join(map(str, SNOOZE_DAYS))}, not {days!r}")
        fields["until"] = now + timedelta(days=int(days))
    target, nonce = fields[copied[0]], form.get("nonce", "")
    if not nonce:
        raise ActionError("nonce: the form is incomplete; reload the page")
    customer_id = form.get("customer_id", "")
    try:
        return contract(
            event_id=derive_id("console", action, customer_id, target, nonce),
            customer_id=customer_id,
            event_time=now,
            actor=actor,
            note=form.get("note", "").strip(),
            **fields,
        )
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        name = ".".join(map(str, first["loc"])) or "form"
        raise ActionError(f"{name}: {first['msg'].removeprefix('Value error, ')}") from None
