"""The JSON encoding: every event on a topic is UTF-8 JSON written by orjson."""

from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(value: Any) -> bytes:
    """Encode events (pydantic models), dicts, Decimals and datetimes as JSON bytes.

    >>> from decimal import Decimal
    >>> dumps({"amount": Decimal("10.50")})
    b'{"amount":"10.50"}'
    """
    return orjson.dumps(value, default=_default)
