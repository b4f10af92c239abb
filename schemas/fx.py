"""Exchange rates into a reporting currency: the body of the ``fx`` control document.

Customers bill in their own currencies; a total in the reporting currency adds each amount
times its currency's rate (1 unit = ``rate`` reporting units), exactly, as decimals. An
amount in a currency without a rate is never converted nor added to another currency: it
stays in its own.

>>> fx = FxRates.model_validate({"version": "fx-1", "reporting": "EUR",
...                              "rates": {"USD": "0.92", "GBP": "1.17"}})
>>> fx.convert(Decimal("100.00"), "USD"), fx.convert(Decimal("5"), "EUR")
(('EUR', Decimal('92.0000')), ('EUR', Decimal('5')))
>>> fx.convert(Decimal("7"), "JPY")
('JPY', Decimal('7'))
>>> FxRates().convert(Decimal("7"), "USD")
('USD', Decimal('7'))
"""

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

_RATE = re.compile(r"[0-9]{1,12}(\.[0-9]{1,12})?")


def _rate(value: Any) -> Any:
    """A rate as a decimal string (``"0.92"``), never a float, which has lost digits."""
    if isinstance(value, str):
        if not _RATE.fullmatch(value):
            raise ValueError(
                f'a rate is digits and a decimal point, e.g. "0.92", not {value!r:.40}'
            )
        if Decimal(value) <= 0:
            raise ValueError(f"a rate must be more than 0, not {value}")
        return Decimal(value)
    if isinstance(value, Decimal) and value > 0:
        return value
    raise ValueError(f'a rate is a decimal string more than 0 (e.g. "0.92"), not {value!r:.40}')


CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]
Rate = Annotated[Decimal, BeforeValidator(_rate)]


class FxRates(BaseModel):
    """Rates into ``reporting`` by currency; without a reporting currency (the built-in
    default) no amount is converted and totals stay one per currency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = "default"
    reporting: CurrencyCode | None = None
    rates: dict[CurrencyCode, Rate] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _reporting_given(self) -> "FxRates":
        if self.rates and self.reporting is None:
            raise ValueError("rates want a reporting currency: give reporting")
        if self.reporting in self.rates:
            raise ValueError(
                f"rates: {self.reporting} is the reporting currency (rate 1): leave it out"
            )
        return self

    def convert(self, amount: Decimal, currency: str) -> tuple[str, Decimal]:
        """The currency ``amount`` is reported in, and the amount in it: the reporting
        currency when ``currency`` is it or has a rate, else ``currency`` itself."""
        if self.reporting is not None and currency == self.reporting:
            return currency, amount
        rate = self.rates.get(currency)
        if rate is None or self.reporting is None:
            return currency, amount
        return self.reporting, amount * rate
