"""Dead letters: an input that cannot be processed is kept, with the reason.

An input whose handling raised an error nobody expected (a bug) is one too, ``failed``: one
event must not stop the stream, nor be lost without a trace.

Personal data stays in, and a dead letter stays small. Its payload shows only what the
known fields of input events say (`KNOWN_FIELDS`), but for those marked ``x-personal-data`` in
the events' JSON Schemas (`PERSONAL_FIELDS`), wherever they are in it and whatever made it
unusable, with every e-mail address masked, cut to its first `MAX_PAYLOAD` bytes; its size and
SHA-256 say what the whole input was. A JSON payload loses the personal fields, and the text of
any other field is masked (it is written again, compactly). In any other payload (not JSON, not
UTF-8, cut short), where a field's name may itself be garbled, every word and string is masked
but the names of known fields and the values that directly follow a known, not personal one:
what is kept is allowed, not what is masked recognised.
"""

import base64
import hashlib
import re
from typing import Any

import orjson

from schemas.events import KNOWN_FIELDS, PERSONAL_FIELDS
from schemas.ids import derive_id
from schemas.outputs import DeadLetter
from schemas.validation import InvalidEvent, Tick

MAX_PAYLOAD = 16 * 1024
"""Bytes of an input a dead letter keeps at most: even escaped as JSON (six bytes for a control
character) the letter stays far under the producer's limit of 1 MB."""
MAX_REASON = 1000
"""Characters of a reason kept at most (a reason may quote the input)."""
MAX_KEY = 256
"""Characters of a message key kept at most."""
REDACTED = b'"<redacted>"'
MASK = "<redacted>"

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
_TOKEN = re.compile(
    # A string in double or single quotes (to the end of the input if it is cut short), or a
    # bare word: anything between JSON's (or a key=value text's) punctuation.
    rb"""(?P<quote>["'])(?:(?!(?P=quote))[^\\]|\\.)*(?:(?P=quote)|\\?\Z)|[^\s{}\[\]:=,;"']+"""
)
_NAME_ENDS = re.compile(rb"\s*[:=]")
_SEPARATOR = re.compile(rb"\s*[:=]\s*")
_SHOWN = KNOWN_FIELDS | set(Tick.model_fields)
"""The fields a dead letter names: of input events, their money, and ticks."""
_SHOWN_VALUES = _SHOWN - PERSONAL_FIELDS
"""The fields whose values a dead letter shows."""
_HARMLESS = re.compile(rb"[^A-Za-z\x80-\xff]+")
"""A bare word of no letter (ASCII, or any byte of a character beyond): no name in it."""
_LITERAL = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")


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
    >>> letter = dead_letter(error, "crm.orders", 0, 7, b"c1", b'{"order_id": "\\xff"')
    >>> letter.payload, letter.payload_encoding, letter.reason_code
    ('eyJvcmRlcl9pZCI6ICL/Ig==', 'base64', 'undecodable')
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
        document = orjson.loads(raw)
        stripped = _strip(document, taken)
    except (orjson.JSONDecodeError, RecursionError):
        cut = raw[:MAX_PAYLOAD]  # before redacting: a value cut short is redacted to the end
        kept = _redact_unparsed(cut, taken)
        truncated = len(raw) > MAX_PAYLOAD
    else:
        kept = raw if stripped == document else orjson.dumps(stripped)
        truncated = len(kept) > MAX_PAYLOAD
    kept = _EMAIL.sub(b"<redacted>", kept[:MAX_PAYLOAD])
    return kept[:MAX_PAYLOAD], truncated or len(kept) > MAX_PAYLOAD, sorted(taken)


def _strip(value: Any, taken: set[str], known: bool = False) -> Any:
    """A JSON value without the personal fields of any object in it, and with every string
    that is not under a ``known`` field masked (the fields' names in ``taken``)."""
    if isinstance(value, dict):
        stripped = {}
        for name, item in value.items():
            if name in PERSONAL_FIELDS:
                taken.add(name)
                continue
            stripped[name] = _strip(item, taken, name in _SHOWN)
            if isinstance(item, str) and stripped[name] != item:
                taken.add(name[:64])
        return stripped
    if isinstance(value, list):
        return [_strip(item, taken, known) for item in value]
    return value if known or not isinstance(value, str) else MASK


def _redact_unparsed(data: bytes, taken: set[str]) -> bytes:
    """``data``, which is not JSON, with every string and word masked but the names of known
    fields, numbers, and what follows a known, not personal field's name (the personal
    fields' names in ``taken``)."""
    pieces, end, shown = [], 0, False
    for token in _TOKEN.finditer(data):
        text, start = token.group(), token.start()
        name = text.strip(b"\"'").decode(errors="replace")
        if _NAME_ENDS.match(data, token.end()):  # a field's name
            keep, shown = name in _SHOWN, name in _SHOWN_VALUES
            if name in PERSONAL_FIELDS:
                taken.add(name)
        else:
            keep = (
                _LITERAL.fullmatch(text) is not None
                or _HARMLESS.fullmatch(text) is not None
                or (shown and _SEPARATOR.fullmatch(data, end, start) is not None)
            )
            shown = False
        quote = text[:1] if text[:1] in (b'"', b"'") else b""
        pieces += [data[end:start], text if keep else quote + MASK.encode() + quote]
        end = token.end()
    pieces.append(data[end:])
    return b"".join(pieces)


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
