"""The control topic's records and what they mean: a history of documents and the active ones.

The topic is compacted, so it keeps the newest record of each key. Every document has its
own key, ``document/{kind}/{version}``, so every version survives compaction; one key per
kind, ``active/{kind}``, names the version in force and the versions in force before it
(newest last), which is what a rollback returns to; a version null there is the built-in
default. A publish writes the document, then its activation. Pure: workers, and the commands
that list, show and roll back, read the topic's records into a `ControlLog`.

>>> from streams.engine.control import parse_document
>>> log = ControlLog()
>>> first = parse_document("kind: tiers\\nversion: t1\\nbody: {medium: 30, high: 60}")
>>> second = parse_document("kind: tiers\\nversion: t2\\nbody: {medium: 35, high: 65}")
>>> for document in (first, second):
...     outcomes = [log.read(*record) for record in log.publication(document)]
>>> outcomes[-1].document.version, log.active_version("tiers"), log.history("tiers")
('t2', 't2', ('t1',))
>>> log.read(*log.rollback("tiers")).document.version
't1'
>>> log.read(*log.rollback("tiers")).document.version, log.active_version("tiers")
('default', None)
"""

from dataclasses import dataclass, field

import orjson

from streams.engine.control import (
    BUILT_IN,
    KINDS,
    ControlDocument,
    InvalidDocument,
    built_in,
    is_built_in,
    parse_document,
)

MAX_HISTORY = 100
"""Versions in force before the active one that an activation remembers."""

Record = tuple[bytes, bytes]
Version = str | None
"""A version of a kind's document; None is the built-in default."""


def document_key(kind: str, version: str) -> bytes:
    return f"document/{kind}/{version}".encode()


def active_key(kind: str) -> bytes:
    return f"active/{kind}".encode()


@dataclass(frozen=True, slots=True)
class Activated:
    """A record put ``document`` in force."""

    document: ControlDocument


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that cannot be used, and why; what was in force stays in force."""

    reason: str


@dataclass(slots=True)
class ControlLog:
    """Every valid document read from the control topic, and the active version of each kind."""

    documents: dict[tuple[str, str], ControlDocument] = field(default_factory=dict)
    active: dict[str, tuple[Version, tuple[Version, ...]]] = field(default_factory=dict)
    """Kind -> (active version, versions in force before it, newest last), of the kinds an
    activation was read for."""

    def read(self, key: bytes | None, value: bytes | None) -> Activated | Rejected | None:
        """Take one record of the topic; None when it activates nothing (a new document)."""
        name = (key or b"").decode(errors="replace")
        if value is None:
            return None  # a tombstone: nothing to apply, and history is kept
        kind, _, version = name.partition("/")[2].partition("/")
        if name.startswith("document/") and version:
            return self._read_document(name, kind, version, value)
        if name.startswith("active/") and kind in KINDS and not version:
            return self._read_activation(kind, value)
        return Rejected(f"key {name!r} is neither document/KIND/VERSION nor active/KIND")

    def _read_document(self, name: str, kind: str, version: str, value: bytes) -> Rejected | None:
        try:
            document = parse_document(value)
        except InvalidDocument as error:
            return Rejected(f"{name}: {error}")
        if (document.kind, document.version) != (kind, version):
            return Rejected(f"{name}: the document is {document.kind} {document.version}")
        self.documents[kind, version] = document
        return None

    def _read_activation(self, kind: str, value: bytes) -> Activated | Rejected:
        try:
            pointer = orjson.loads(value)
            version, history = (
                _version(pointer["version"]),
                tuple(map(_version, pointer["history"])),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return Rejected(f"active/{kind}: not an activation, {{version, history}} in JSON")
        document = built_in(kind) if version is None else self.documents.get((kind, version))
        if document is None:
            kept = self.active_version(kind) or "the built-in default"
            return Rejected(
                f"active/{kind} names version {version}, which is no valid {kind} document "
                f"on the topic; {kept} stays in force"
            )
        self.active[kind] = (version, history)
        return Activated(document)

    def active_version(self, kind: str) -> Version:
        return self.active[kind][0] if kind in self.active else None

    def history(self, kind: str) -> tuple[Version, ...]:
        return self.active[kind][1] if kind in self.active else ()

    def versions(self, kind: str) -> list[str]:
        """The valid versions of ``kind`` on the topic, in the order they were first read."""
        return [version for known, version in self.documents if known == kind]

    def publication(self, document: ControlDocument) -> list[Record]:
        """The records that publish ``document`` and put it in force.

        Raises `InvalidDocument` when its version exists already with another body:
        versions are never rewritten.
        """
        known = self.documents.get((document.kind, document.version))
        if known is not None and known.body != document.body:
            raise InvalidDocument(
                f"{document.kind} version {document.version} exists with another body: "
                "give the changed document a new version"
            )
        records = [] if known else [(document_key(document.kind, document.version),
                                     document.to_json())]  # fmt: skip
        return [*records, self._activation(document.kind, document.version)]

    def rollback(self, kind: str, to: str | None = None) -> Record:
        """The record that puts back ``to``, or the version in force before the active one.

        Before the first version ever put in force, the built-in default was; ``to`` names it
        ``default`` (or by its own version, like ``default-6``).
        """
        if kind not in self.active:
            raise InvalidDocument(f"no {kind} document was ever put in force: nothing to roll back")
        active, history = self.active[kind]
        if to is None:
            if active is None and not history:
                raise InvalidDocument(f"the built-in {kind} default is in force, as it was first")
            before, history = (history[-1], history[:-1]) if history else (None, ())
            return active_key(kind), _pointer(before, history)
        wanted = None if is_built_in(kind, to) else to
        if wanted == active:
            raise InvalidDocument(f"{kind} {to} is already in force")
        if wanted is not None and (kind, wanted) not in self.documents:
            known = ", ".join([BUILT_IN, *self.versions(kind)])
            raise InvalidDocument(f"no {kind} version {to} on the topic (there are: {known})")
        return self._activation(kind, wanted)

    def _activation(self, kind: str, version: Version) -> Record:
        history = self.history(kind)
        if kind in self.active and self.active_version(kind) != version:
            history = (*history, self.active_version(kind))[-MAX_HISTORY:]
        return active_key(kind), _pointer(version, history)


def _version(named: object) -> Version:
    return None if named is None else str(named)


def _pointer(version: Version, history: tuple[Version, ...]) -> bytes:
    return orjson.dumps({"version": version, "history": history})
