"""Exact money: a decimal amount with its ISO 4217 currency, never a float.

>>> Money(amount="120.50", currency="EUR").amount
Decimal('120.50')
>>> from pydantic import TypeAdapter
>>> TypeAdapter(PositiveMoney).validate_python({"amount": "0.01", "currency": "EUR"}).amount
Decimal('0.01')
>>> SignedMoney(amount="-250000.50", currency="EUR").amount
Decimal('-250000.50')
>>> TypeAdapter(SignedMoney).validate_python(Money(amount="10", currency="EUR"))
SignedMoney(amount=Decimal('10'), currency='EUR')
"""

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

_DIGITS = r"[0-9]+(\.[0-9]+)?"


def _amount(negative: bool) -> Any:
    """An exact decimal amount (at most 19 digits, 4 of them decimals), below 0 only if
    ``negative``, written in JSON as a decimal string."""
    sign = "-?" if negative else ""
    form = re.compile(sign + _DIGITS)
    what = "digits and a decimal point" + (", after a minus sign if negative" if negative else "")

    def exact_decimal(value: Any) -> Any:
        """A decimal string as the JSON Schema says: ASCII digits and a point (the decimal
        places are checked after), not what else Python's Decimal reads ("+100", " 100 ",
        "1_000", "1e5", digits of other scripts), nor a number. Code may give a Decimal."""
        if isinstance(value, float):
            # A float has already lost the cents it was meant to carry.
            raise ValueError('amounts must be strings, not floats (e.g. "120.50")')
        if isinstance(value, str):
            if not form.fullmatch(value):
                raise ValueError(f'amounts are {what}, e.g. "120.50", not {value!r:.40}')
        elif not isinstance(value, Decimal):
            raise ValueError(f'amounts must be strings (e.g. "120.50"), not {type(value).__name__}')
        return value

    return Annotated[
        Decimal,
        BeforeValidator(exact_decimal),
        Field(
            ge=None if negative else 0,
            max_digits=19,
            decimal_places=4,
            allow_inf_nan=False,
            json_schema_extra={"pattern": f"^{sign}[0-9]+(\\.[0-9]{{1,4}})?$"},
        ),
        PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
    ]


Amount = _amount(negative=False)
SignedAmount = _amount(negative=True)


class Money(BaseModel):
    """An amount of money in one currency; the amount is a decimal string in JSON."""

    # Signed money given for money is checked as money: never negative.
    model_config = ConfigDict(
        frozen=True, extra="forbid", revalidate_instances="subclass-instances"
    )

    amount: Amount
    currency: str = Field(
        min_length=3, max_length=3, pattern=r"^[A-Z]{3}$", strict=True, description="ISO 4217 code"
    )


class SignedMoney(Money):
    """Money that may be below 0 (a company's equity, when its liabilities exceed its assets);
    the amount is a decimal string in JSON, after a minus sign if negative."""

    amount: SignedAmount

    @model_validator(mode="before")
    @classmethod
    def _of_money(cls, value: Any) -> Any:
        """Money, never negative, is signed money too (for events made in code)."""
        return value.model_dump() if isinstance(value, Money) else value


def _positive(money: Money) -> Money:
    if money.amount <= 0:
        raise ValueError(f"must be more than 0, not {money.amount}")
    return money


PositiveMoney = Annotated[
    Money,
    AfterValidator(_positive),
    Field(
        description="More than 0",
        json_schema_extra={"properties": {"amount": {"not": {"pattern": r"^0*(\.0*)?$"}}}},
    ),
]
"""Money of an order, an invoice or a payment: an amount of nothing is no such thing."""


_CENTS = Decimal("0.01")


def _with_cents(amount: Decimal) -> Decimal:
    """The amount with at least two decimal places, and no negative zero."""
    if int(amount.as_tuple().exponent) > -2:
        amount = amount.quantize(_CENTS)
    return amount + 0


_SHORT_TEXT = 25
"""Up to this many characters, padding an amount's text to cents keeps its digits within the
28 that decimal arithmetic keeps, so text can be padded without that arithmetic."""


def money_text(amount: Decimal) -> str:
    """An amount as outputs carry it: a plain decimal string with at least two decimals (more
    when the amount has them), so that equal amounts read the same whatever they were summed
    from.

    >>> [money_text(Decimal(text)) for text in ("100", "0", "-0.00", "1.005", "1E+2", "271.5")]
    ['100.00', '0.00', '0.00', '1.005', '100.00', '271.50']
    """
    text = format(amount, "f")
    if len(text) > _SHORT_TEXT:
        return format(_with_cents(amount), "f")
    point = text.find(".")
    if point < 0:
        text += ".00"
    elif point > len(text) - 3:
        text += "0"
    return text[1:] if text[0] == "-" and not amount else text


def money_words(amount: Decimal) -> str:
    """An amount in a sentence: thousands separated, at least two decimals.

    >>> money_words(Decimal("18250")), money_words(Decimal("0.5")), money_words(Decimal("1.005"))
    ('18,250.00', '0.50', '1.005')
    """
    return format(_with_cents(amount), ",f")
