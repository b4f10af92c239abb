"""Dead letters: an input that cannot be processed is kept, with the reason.

An input whose handling raised an error nobody expected (a bug) is one too, ``failed``: one
event must not stop the stream, nor be lost without a trace.

Personal data stays in, and a dead letter stays small. Its payload is the input without the
fields marked ``x-personal-data`` in the events' JSON Schemas (`PERSONAL_FIELDS`), wherever
they are in it and whatever made it unusable, with every e-mail address masked, cut to its
first `MAX_PAYLOAD` bytes; its size and SHA-256 say what the whole input was. A JSON payload
loses those fields (and is written again, compactly); in any other (not JSON, not UTF-8, cut
short) the value after such a field's name is replaced by ``<redacted>``.
"""

import base64
import hashlib
import re
from typing import Any

import orjson

from schemas.events import PERSONAL_FIELDS
from schemas.ids import derive_id
from schemas.outputs import DeadLetter
from schemas.validation import InvalidEvent

MAX_PAYLOAD = 16 * 1024
"""Bytes of an input a dead letter keeps at most: even escaped as JSON (six bytes for a control
character) the letter stays far under the producer's limit of 1 MB."""
MAX_REASON = 1000
"""Characters of a reason kept at most (a reason may quote the input)."""
MAX_KEY = 256
"""Characters of a message key kept at most."""
REDACTED = b'"<redacted>"'

_NAMES = b"|".join(re.escape(name.encode()) for name in sorted(PERSONAL_FIELDS))
_PERSONAL_VALUE = re.compile(
    # A personal field's name, quoted or not, then ':' or '='; then its value: a string in
    # double or single quotes (to the end of the input if it is cut short), an object or a
    # list (to the end of the input: where it ends is not known), or a bare word.
    rb"""(?P<name>(?P<quote>["']?)\b(?P<field>%s)\b(?P=quote)\s*[:=]\s*)"""
    rb"""(?:"(?:[^"\\]|\\.)*(?:"|\\?\Z)|'(?:[^'\\]|\\.)*(?:'|\\?\Z)|[\[{](?s:.*)"""
    rb"""|[^\s,;}\]]*)""" % _NAMES
)
_EMAIL = re.compile(rb"[\w.+-]{1,64}@[\w-]{0,63}(?:\.[\w-]{1,63})*")


def dead_letter(
    error: InvalidEvent,
    topic: str,
    partition: int | None,
    offset: int | None,
    key: bytes | None,
    value: bytes | None,
) -> DeadLetter:
    """The dead letter for one rejected message; its id depends only on where it came from.

    >>> error = InvalidEvent("undecodable", "not JSON")
    >>> letter = dead_letter(error, "crm.orders", 0, 7, b"c1", b"\\xff")
    >>> letter.payload, letter.payload_encoding, letter.reason_code
    ('/w==', 'base64', 'undecodable')
    >>> raw = b'{"type": "customer.profile", "name": "Ann Example", "country": "gb"}'
    >>> letter = dead_letter(error, "crm.customers", 0, 8, b"c1", raw)
    >>> letter.payload, letter.redacted, letter.payload_size
    ('{"type":"customer.profile","country":"gb"}', ['name'], 68)
    >>> dead_letter(error, "crm.customers", 0, 9, b"c1", raw[:45]).payload
    '{"type": "customer.profile", "name": "<redacted>"'
    """
    raw = value or b""
    excerpt, truncated, redacted = without_personal_data(raw)
    text = _utf8(excerpt, truncated)
    return DeadLetter(
        dead_letter_id=derive_id("dead_letter", topic, partition, offset, error.code, raw),
        reason_code=error.code,  # type: ignore[arg-type]
        reason=_redact_text(error.reason)[:MAX_REASON],
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        key=None if key is None else key.decode(errors="replace")[:MAX_KEY],
        payload=base64.b64encode(excerpt).decode() if text is None else text,
        payload_encoding="base64" if text is None else "utf-8",
        payload_size=len(raw),
        payload_sha256=hashlib.sha256(raw).hexdigest(),
        payload_truncated=truncated,
        redacted=redacted,
    )


def without_personal_data(raw: bytes) -> tuple[bytes, bool, list[str]]:
    """The first `MAX_PAYLOAD` bytes of ``raw`` without personal data, whether that is only its
    beginning, and the personal fields taken out."""
    taken: set[str] = set()
    try:
        document = _strip(orjson.loads(raw), taken)
    except (orjson.JSONDecodeError, RecursionError):
        cut = raw[:MAX_PAYLOAD]  # before redacting: a value cut short is redacted to the end
        kept = _PERSONAL_VALUE.sub(lambda found: _redact(found, taken), cut)
        truncated = len(raw) > MAX_PAYLOAD
    else:
        kept = orjson.dumps(document) if taken else raw
        truncated = len(kept) > MAX_PAYLOAD
    kept = _EMAIL.sub(b"<redacted>", kept[:MAX_PAYLOAD])
    return kept[:MAX_PAYLOAD], truncated or len(kept) > MAX_PAYLOAD, sorted(taken)


def _strip(value: Any, taken: set[str]) -> Any:
    """A JSON value without the personal fields of any object in it (their names in ``taken``)."""
    if isinstance(value, dict):
        taken.update(PERSONAL_FIELDS.intersection(value))
        return {k: _strip(item, taken) for k, item in value.items() if k not in PERSONAL_FIELDS}
    if isinstance(value, list):
        return [_strip(item, taken) for item in value]
    return value


def _redact(found: re.Match[bytes], taken: set[str]) -> bytes:
    taken.add(found["field"].decode())
    return found["name"] + REDACTED


def _redact_text(text: str) -> str:
    """``text`` with the values of personal fields and e-mail addresses masked."""
    data = text.encode()
    masked = _EMAIL.sub(b"<redacted>", _PERSONAL_VALUE.sub(lambda f: f["name"] + REDACTED, data))
    return text if masked == data else masked.decode(errors="replace")


def _utf8(data: bytes, cut: bool) -> str | None:
    """``data`` as UTF-8 text (but for a character its end ``cut`` short); None if not UTF-8."""
    try:
        return data.decode()
    except UnicodeDecodeError as error:
        if cut and error.reason == "unexpected end of data":
            return data[: error.start].decode()
        return None


def failure(error: Exception) -> InvalidEvent:
    """The reason of the dead letter of an input whose handling failed unexpectedly.

    >>> failure(KeyError("now")).reason
    "KeyError: 'now'"
    """
    return InvalidEvent("failed", f"{type(error).__name__}: {error}")
