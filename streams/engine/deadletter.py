"""Dead letters: an input that cannot be processed is kept whole, with the reason.

An input whose handling raised an error nobody expected (a bug) is one too, ``failed``: one
event must not stop the stream, nor be lost without a trace.
"""

import base64

from schemas.ids import derive_id
from schemas.outputs import DeadLetter
from schemas.validation import InvalidEvent


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
    """
    raw = value or b""
    try:
        payload, encoding = raw.decode(), "utf-8"
    except UnicodeDecodeError:
        payload, encoding = base64.b64encode(raw).decode(), "base64"
    return DeadLetter(
        dead_letter_id=derive_id("dead_letter", topic, partition, offset, error.code, raw),
        reason_code=error.code,  # type: ignore[arg-type]
        reason=error.reason,
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        key=None if key is None else key.decode(errors="replace"),
        payload=payload,
        payload_encoding=encoding,  # type: ignore[arg-type]
    )


def failure(error: Exception) -> InvalidEvent:
    """The reason of the dead letter of an input whose handling failed unexpectedly.

    >>> failure(KeyError("now")).reason
    "KeyError: 'now'"
    """
    return InvalidEvent("failed", f"{type(error).__name__}: {error}")
