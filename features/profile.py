"""What a customer is: currency, country, segment, credit limit and payment terms.

Each field is a register that keeps the value of the newest event that set it, by event time
(then event id), so the fields are the same whatever order their events came in. The
currency is the one of the customer's earliest event that names one; an event in another
currency is rejected. Personal data (name, e-mail) never gets here: facts drop it.
"""

from typing import Any

from features.facts import Fact
from schemas.validation import InvalidEvent


class Profile:
    """The customer fields from ``customer.*`` events, and the customer's currency.

    >>> profile = Profile()
    >>> profile.update(Fact(5, "e2", "customer.credit_limit", amount=9000_0000, currency="EUR"))
    >>> profile.update(Fact(1, "e1", "customer.credit_limit", amount=5000_0000, currency="EUR"))
    >>> profile.credit_limit  # the newest in event time, whatever came last
    90000000
    >>> profile.check(Fact(1, "e3", "order.placed", "o1", 10, "USD"))
    Traceback (most recent call last):
    ...
    schemas.validation.InvalidEvent: inconsistent: e3 is in USD, the customer's currency is EUR
    """

    __slots__ = ("country", "credit_limit", "currency", "registers", "segment", "terms_days")

    def __init__(self) -> None:
        self.registers: dict[str, list[Any]] = {}
        """Field -> [event time, event id, value]; each field is also an attribute."""
        self.currency: str | None = None
        self.country: str | None = None
        self.segment: str | None = None
        self.credit_limit: int | None = None
        """In units."""
        self.terms_days: int | None = None

    def check(self, fact: Fact) -> None:
        currency = self.currency
        if fact.currency is not None and currency not in (None, fact.currency):
            raise InvalidEvent(
                "inconsistent",
                f"{fact.event_id} is in {fact.currency}, the customer's currency is {currency}",
            )

    def update(self, fact: Fact) -> None:
        """Take the currency of any event, and the fields of a ``customer.*`` event."""
        if fact.currency is not None:
            self._set("currency", fact, fact.currency, earliest=True)
        kind = fact.type
        if kind == "customer.profile":
            if fact.country:
                self._set("country", fact, fact.country)
            if fact.segment:
                self._set("segment", fact, fact.segment)
        elif kind == "customer.credit_limit":
            self._set("credit_limit", fact, fact.amount)
        elif kind == "customer.payment_terms":
            self._set("terms_days", fact, fact.terms_days)

    def _set(self, field: str, fact: Fact, value: Any, earliest: bool = False) -> None:
        register = self.registers.get(field)
        key = (fact.time, fact.event_id)
        if register is None or (key < (register[0], register[1])) == earliest:
            self.registers[field] = [fact.time, fact.event_id, value]
            setattr(self, field, value)

    def to_row(self) -> dict[str, list[Any]]:
        return dict(sorted(self.registers.items()))

    @classmethod
    def from_row(cls, row: dict[str, list[Any]]) -> "Profile":
        profile = cls()
        profile.registers = dict(row)
        for field, (_, _, value) in row.items():
            setattr(profile, field, value)
        return profile
