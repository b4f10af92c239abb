"""What a customer is: currency, country, segment, credit limit and payment terms.

Personal data (name, e-mail) never gets here: facts drop it. The customer's currency is the
first one its events name, in event-time order; an event in another currency is rejected.
"""

from decimal import Decimal
from typing import Any

from features.facts import Fact
from schemas.validation import InvalidEvent


class Profile:
    """The customer fields from ``customer.*`` events, and the customer's currency.

    >>> from decimal import Decimal
    >>> profile = Profile()
    >>> profile.update(Fact(0, "e1", "customer.credit_limit", amount=Decimal(5000), currency="EUR"))
    >>> profile.check(Fact(1, "e2", "order.placed", "o1", Decimal(10), "USD"))
    Traceback (most recent call last):
    ...
    schemas.validation.InvalidEvent: inconsistent: e2 is in USD, the customer's currency is EUR
    """

    __slots__ = ("country", "credit_limit", "currency", "segment", "terms_days")

    def __init__(self) -> None:
        self.currency: str | None = None
        self.country: str | None = None
        self.segment: str | None = None
        self.credit_limit: Decimal | None = None
        self.terms_days: int | None = None

    def check(self, fact: Fact) -> None:
        if fact.currency is not None and self.currency not in (None, fact.currency):
            raise InvalidEvent(
                "inconsistent",
                f"{fact.event_id} is in {fact.currency}, the customer's currency is "
                f"{self.currency}",
            )

    def update(self, fact: Fact) -> None:
        """Take the currency of any event, and the fields of a ``customer.*`` event."""
        if self.currency is None:
            self.currency = fact.currency
        if fact.type == "customer.profile":
            self.country = fact.country or self.country
            self.segment = fact.segment or self.segment
        elif fact.type == "customer.credit_limit":
            self.credit_limit = fact.amount
        elif fact.type == "customer.payment_terms":
            self.terms_days = fact.terms_days

    def to_row(self) -> list[Any]:
        limit = None if self.credit_limit is None else str(self.credit_limit)
        return [self.currency, self.country, self.segment, limit, self.terms_days]

    @classmethod
    def from_row(cls, row: list[Any]) -> "Profile":
        profile = cls()
        profile.currency, profile.country, profile.segment, limit, profile.terms_days = row
        profile.credit_limit = None if limit is None else Decimal(limit)
        return profile
