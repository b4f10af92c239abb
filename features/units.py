"""Money as whole units of 1/10,000, the finest an amount may carry (four decimal places).

Integers add up exactly and in any order, so every sum the feature engine keeps is the same
whatever the order its events arrived in. Amounts become :class:`~decimal.Decimal` again at the
edges, written with at least two decimal places and no more than they need.

>>> to_units(Decimal("120.5")), to_decimal(1_205_000), to_decimal(10_050), to_decimal(-30)
(1205000, Decimal('120.50'), Decimal('1.005'), Decimal('-0.003'))
"""

from decimal import Decimal

UNIT = 10_000
"""Units in one of a currency's main unit (one euro, one dollar)."""


def to_units(amount: Decimal) -> int:
    """An amount of at most four decimal places in units."""
    return int(amount.scaleb(4))


def to_decimal(units: int) -> Decimal:
    """Units as an amount: two decimal places, more only where the amount has them."""
    if units % 100 == 0:
        return Decimal(units // 100).scaleb(-2)
    exponent = -4
    while units % 10 == 0:
        units //= 10
        exponent += 1
    return Decimal(units).scaleb(exponent)


def to_float(units: int) -> float:
    """Units as a float, for models and statistics."""
    return units / UNIT
