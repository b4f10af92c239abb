"""Pages of the console's queues (the case inbox, the order reviews): which page a link asks
for, which rows it shows and its neighbours. Pure, no I/O.

>>> paging = Paging(number=2, total=1234, size=200)
>>> paging.first_row, paging.last_row, paging.previous, paging.next, paging.last_page
(201, 400, 1, 3, 7)
>>> Paging(number=9, total=1234, size=200).beyond, Paging(number=9, total=1234, size=200).previous
(True, 7)
"""

from collections.abc import Mapping
from dataclasses import dataclass

DIGITS = 18
"""Digits a page number has at most: a larger one is no page of any queue."""


class PageError(ValueError):
    """A page number that is not one, in words a person reads."""


def page_number(query: Mapping[str, str], name: str = "page") -> int:
    """The page a query asks for: its ``name`` parameter, a whole number from 1 (of at most
    `DIGITS` digits); 1 without one.

    >>> page_number({}), page_number({"page": "3"})
    (1, 3)
    >>> page_number({"page": "0"})
    Traceback (most recent call last):
    ...
    streams.console.paging.PageError: page must be a whole number from 1, not '0'
    """
    text = query.get(name, "1")
    if not (text.isascii() and text.isdigit() and len(text) <= DIGITS and int(text) >= 1):
        raise PageError(f"{name} must be a whole number from 1, not {text[:20]!r}")
    return int(text)


@dataclass(frozen=True, slots=True)
class Paging:
    """Page ``number`` (from 1) of a queue of ``total`` rows, ``size`` rows a page."""

    number: int
    total: int
    size: int

    @property
    def first_row(self) -> int:
        """The rank of the page's first row, from 1."""
        return (self.number - 1) * self.size + 1

    @property
    def last_row(self) -> int:
        return min(self.total, self.number * self.size)

    @property
    def last_page(self) -> int:
        """The last page with a row (1 for an empty queue)."""
        return max(1, -(-self.total // self.size))

    @property
    def beyond(self) -> bool:
        """Whether the page is after the last one: it has no row."""
        return self.number > self.last_page

    @property
    def previous(self) -> int | None:
        """The page before this one (from beyond the last: the last), None on the first."""
        return min(self.number - 1, self.last_page) if self.number > 1 else None

    @property
    def next(self) -> int | None:
        """The page after this one, None on the last page and beyond."""
        return self.number + 1 if self.number < self.last_page else None

    @property
    def text(self) -> str:
        """Which rows the page shows, of how many: ``rows 201–400 of 1,234``; beyond the
        last page, which is the last."""  # noqa: RUF002
        if self.beyond:
            return f"no rows on page {self.number:,}: the last page is {self.last_page:,}"
        return f"rows {self.first_row:,}\N{EN DASH}{self.last_row:,} of {self.total:,}"
