"""The workers' query API as the console asks it: a customer's open invoices.

The console is a process of its own and keeps no customer state: what only the workers
know, the open invoices one by one (``open_items`` of ``GET /v1/customers/{id}``, see
docs/api.md), it asks any worker, which forwards to the one that owns the customer. Every
way the question can fail is a `WorkersUnavailable` saying why in one line, for the page.
"""

from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from pydantic import SecretStr, TypeAdapter, ValidationError

from streams.worker.answers import OpenItem

TIMEOUT = 3.0
"""Seconds the console waits for the workers' answer: a page waits no longer for its
open invoices."""

_OPEN_ITEMS = TypeAdapter(list[OpenItem])


class WorkersUnavailable(Exception):
    """The workers' API gave no open items; the message says why, in one line."""


class WorkersApi:
    """A client of the workers' query API at ``base_url``, with the bearer ``token`` if any;
    `start` it on the event loop that uses it, `close` it after."""

    def __init__(self, base_url: str, token: SecretStr | None, timeout: float = TIMEOUT) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(
            headers=self.headers, timeout=aiohttp.ClientTimeout(total=self.timeout)
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def open_items(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's open invoices as the API answers them (decimal strings, dates), or
        none if the workers know no such customer; `WorkersUnavailable` if they do not say."""
        assert self.session is not None, "started with the console"
        where = f"the workers' API at {self.base_url}"
        url = f"{self.base_url}/v1/customers/{quote(customer_id, safe='')}"
        try:
            async with self.session.get(url) as response:
                status, body = response.status, await response.read()
        except TimeoutError:
            raise WorkersUnavailable(f"{where} did not answer within {self.timeout:g} s") from None
        except aiohttp.ClientError as error:
            raise WorkersUnavailable(f"{where} did not answer: {_one_line(error)}") from None
        answer = _json(body)
        if status == 404 and answer.get("customer_id") == customer_id:
            return []
        if status in (401, 403):
            raise WorkersUnavailable(
                f"{where} refused the console's token ({status}): give both the same "
                "RISKSTREAM_API_TOKEN"
            )
        if status != 200:
            problem = answer.get("error") or body[:200].decode(errors="replace")
            raise WorkersUnavailable(f"{where} answered {status}: {_one_line(problem)}")
        try:
            return [item.model_dump() for item in _OPEN_ITEMS.validate_python(answer["open_items"])]
        except (KeyError, ValidationError):
            raise WorkersUnavailable(f"{where} answered no list of open items") from None


def _json(body: bytes) -> dict[str, Any]:
    """The JSON object of an answer's body, or an empty one if it is not one.

    >>> _json(b'{"error": "no"}'), _json(b"<html>"), _json(b"[1]")
    ({'error': 'no'}, {}, {})
    """
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _one_line(problem: object) -> str:
    """A problem's text on one line.

    >>> _one_line("refused\\n  by the host")
    'refused by the host'
    """
    return " ".join(str(problem).split())
