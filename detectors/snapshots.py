"""Signed model snapshots: what the trainer publishes on ``risk.models`` and the workers load.

Unpickling runs whatever code the pickle names, so a snapshot is only unpickled after its
HMAC-SHA256 signature, made with a key shared by the trainer and the workers, checks out.
A blob is::

    MAGIC | key id (8 bytes) | signature (32 bytes) | header length (4 bytes, big-endian)
          | header (JSON) | payload

The key id names the key that signed it without revealing it (`key_id`), so that a snapshot
of another producer is refused saying which key made it; the payload is the zlib-compressed
pickle; the signature covers the key id and everything after the signature; the header holds
the model version and when the snapshot was made.

>>> key = b"a shared secret of 16+ bytes"
>>> blob = sign({"weights": [0.5]}, "logreg@10", key)
>>> load(blob, key)
({'weights': [0.5]}, 'logreg@10')
>>> load(blob, b"another key, also 16+ bytes")
Traceback (most recent call last):
...
detectors.snapshots.SnapshotRejected: signed with key 37cde6820f310422, not with ...
"""

import hashlib
import hmac
import pickle
import zlib
from datetime import UTC, datetime
from typing import Any

import orjson

MAGIC = b"RSKSNAP2"
MIN_KEY_BYTES = 16
_KEY_ID_BYTES = 8
_SIGNATURE_BYTES = hashlib.sha256().digest_size
_LENGTH_BYTES = 4
_SIGNATURE_FROM = len(MAGIC) + _KEY_ID_BYTES
_SIGNED_FROM = _SIGNATURE_FROM + _SIGNATURE_BYTES


class SnapshotRejected(ValueError):
    """A snapshot that is not signed with our key, or not a snapshot at all; never unpickled."""


def _signature(key: bytes, signed: bytes) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the snapshot key must be at least {MIN_KEY_BYTES} bytes")
    return hmac.new(key, signed, hashlib.sha256).digest()


def key_id(key: bytes) -> str:
    """A name for ``key`` that does not reveal it: the start of an HMAC of a fixed text."""
    return hmac.new(key, b"riskstream model key id", hashlib.sha256).digest()[:_KEY_ID_BYTES].hex()


def sign(model: Any, version: str, key: bytes, created_at: datetime | None = None) -> bytes:
    """Pickle ``model`` into a snapshot signed with ``key``.

    ``created_at`` defaults to the wall clock; pass the event time for a reproducible blob.
    """
    header = orjson.dumps(
        {"version": version, "created_at": (created_at or datetime.now(UTC)).isoformat()}
    )
    signed = (
        len(header).to_bytes(_LENGTH_BYTES, "big")
        + header
        + zlib.compress(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    )
    named = bytes.fromhex(key_id(key))
    return MAGIC + named + _signature(key, named + signed) + signed


def load(blob: bytes, key: bytes) -> tuple[Any, str]:
    """The model and version of a snapshot, after checking its signature against ``key``.

    Raises `SnapshotRejected` for anything but an intact snapshot signed with ``key``.
    """
    if not blob.startswith(MAGIC) or len(blob) < _SIGNED_FROM + _LENGTH_BYTES:
        raise SnapshotRejected("not a signed snapshot")
    named, signed = blob[len(MAGIC) : _SIGNATURE_FROM], blob[_SIGNED_FROM:]
    if named.hex() != key_id(key):
        raise SnapshotRejected(
            f"signed with key {named.hex()}, not with this worker's key {key_id(key)}: give the "
            "trainer and the workers the same RISKSTREAM_MODEL_KEY"
        )
    signature = blob[_SIGNATURE_FROM:_SIGNED_FROM]
    if not hmac.compare_digest(signature, _signature(key, named + signed)):
        raise SnapshotRejected("bad signature: a tampered snapshot")
    header_end = _LENGTH_BYTES + int.from_bytes(signed[:_LENGTH_BYTES], "big")
    try:
        header = orjson.loads(signed[_LENGTH_BYTES:header_end])
        return pickle.loads(zlib.decompress(signed[header_end:])), header["version"]
    except Exception as error:  # signed by us, yet unreadable here (another River version, say)
        raise SnapshotRejected(f"signed snapshot could not be loaded: {error!r}") from error
