"""Hostile inputs through the path every message takes: decoding and validation, the engine,
and the dead letter of what cannot be taken.

`hostile_inputs` turns a valid history into what a broken producer or an attacker could send
instead: each input is either a valid event of the history (so that customers have open
orders, invoices and payments to refer to) or one of them mutated: a field dropped, added, or
given a hostile value, money that is not money, times far off, references to other items, an
event id reused with other content, another type, another key, bytes cut short, flipped, not
UTF-8, nested deep or huge. `Fuzz.take` feeds one input through as a worker does and says what
became of it; anything raised other than ``InvalidEvent`` escapes it, which is the failure a
fuzz run looks for.

Every customer has a name and an e-mail address (personal data): no dead letter and no output
may carry them.
"""

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from schemas import InputEvent
from schemas.codec import dumps
from schemas.events import EVENT_TYPES, CustomerProfile
from schemas.validation import InvalidEvent, parse_event, parse_tick
from streams.cli.generate import generate_events
from streams.engine import CustomerRecord, Engine, Outputs
from streams.engine.deadletter import dead_letter

MAX_LETTER = 1_000_000
"""Bytes a dead letter must stay under: the producer's limit on a message."""
HOSTILE_VALUES: list[Any] = [
    None, True, False, 0, -1, 2**63, -(2**63), 1e308, -0.0, "", " ", "0", "-0.00", "+100",
    " 100 ", "1_000", "1e5", "NaN", "Infinity", "0x10", "١٢٣", "9" * 40, "1." + "0" * 30,
    "x" * 5_000, "\u0000", "\u202e", "e\u0301", "2999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z", "2026-01-01", "2026-01-01T00:00:00", "2026-01-01T00:00:00+14:00",
    [], {}, [1, 2], {"amount": "1.00"}, {"amount": "1.00", "currency": "EUR", "x": 1},
    {"amount": "-5.00", "currency": "EUR"}, {"amount": "0.001", "currency": "EUR"},
    {"amount": "1e3", "currency": "EUR"}, {"amount": "1.00", "currency": "eur"},
    {"amount": "99999999999999999999999.99", "currency": "EUR"},
]  # fmt: skip
"""Values no field should take as they are, or only after a strict check."""
TOPICS = {"order": "crm.orders", "invoice": "erp.invoices", "payment": "bank.payments",
          "customer": "crm.customers", "tick": "risk.ticks"}  # fmt: skip


SECRETS = (b"Fuzzname", b"private.example")


def personal(customer_id: str) -> tuple[str, str]:
    """The name and e-mail address of a fuzzed customer: each has one of `SECRETS` in it."""
    return f"Fuzzname {customer_id}", f"{customer_id}@private.example"


def history(customers: int, days: int, seed: int) -> list[InputEvent]:
    """Generated events of ``customers`` customers over ``days`` days, each profile naming
    the customer and its e-mail address."""
    end = datetime(2026, 6, 1, tzinfo=UTC)
    events = []
    for event in generate_events(customers=customers, days=days, end=end, seed=seed):
        if isinstance(event, CustomerProfile):
            name, email = personal(event.customer_id)
            event = event.model_copy(update={"name": name, "email": email})
        events.append(event)
    return events


@dataclass(frozen=True, slots=True)
class Input:
    """One message as it reaches the worker, with the mutation that made it (or ``valid``)."""

    family: str
    key: bytes | None
    value: bytes
    mutation: str


Mutation = Callable[[random.Random, dict[str, Any], "Pool"], bytes | dict[str, Any]]


@dataclass
class Pool:
    """What earlier inputs named, for mutations that refer to other items."""

    ids: dict[str, list[Any]] = field(default_factory=dict)
    event_ids: list[str] = field(default_factory=list)

    def note(self, document: dict[str, Any]) -> None:
        for name, value in document.items():
            if name.endswith("_id") and isinstance(value, str):
                self.ids.setdefault(name, []).append(value)
        self.event_ids.append(document["event_id"])

    def pick(self, rng: random.Random, name: str) -> Any:
        known = self.ids.get(name)
        return rng.choice(known) if known and rng.random() < 0.8 else f"fuzz-{rng.random()}"


def _field(rng: random.Random, document: dict[str, Any]) -> str:
    return rng.choice(sorted(document))


def drop_field(rng: random.Random, document: dict[str, Any], pool: Pool) -> dict[str, Any]:
    document.pop(_field(rng, document))
    return document


def hostile_value(rng: random.Random, document: dict[str, Any], pool: Pool) -> dict[str, Any]:
    document[_field(rng, document)] = rng.choice(HOSTILE_VALUES)
    return document


def extra_field(rng: random.Random, document: dict[str, Any], pool: Pool) -> dict[str, Any]:
    document[rng.choice(["extra", "__proto__", "amount", "name", "email", "x" * 300])] = rng.choice(
        HOSTILE_VALUES
    )
    return document


def other_type(rng: random.Random, document: dict[str, Any], pool: Pool) -> dict[str, Any]:
    document["type"] = rng.choice([*sorted(EVENT_TYPES), "order.teleported", "", None])
    return document


def other_reference(rng: random.Random, document: dict[str, Any], pool: Pool) -> dict[str, Any]:
    names = [name for name in document if name.endswith("_id") and name != "event_id"]
    for name in rng.sample(names, k=rng.randint(1, len(names))) if names else []:
        document[name] = pool.pick(rng, name)
    document["event_id"] = f"fuzz-{rng.random()}"
    return document


def reused_event_id(rng: random.Random, document: dict[str, Any], pool: Pool) -> dict[str, Any]:
    if pool.event_ids:
        document["event_id"] = rng.choice(pool.event_ids[-200:])
    return hostile_value(rng, document, pool) if rng.random() < 0.3 else document


def shifted_time(rng: random.Random, document: dict[str, Any], pool: Pool) -> dict[str, Any]:
    moment = datetime.fromisoformat(document["event_time"])
    days = rng.choice([-3650, -400, -90, -31, -1, 0, 1, 31, 400, 3650]) + rng.random()
    document["event_time"] = (moment + timedelta(days=days)).isoformat()
    document["event_id"] = f"fuzz-{rng.random()}"
    return document


def other_money(rng: random.Random, document: dict[str, Any], pool: Pool) -> dict[str, Any]:
    names = [name for name, value in document.items() if isinstance(value, dict)]
    if names:
        money = document[rng.choice(names)]
        money["amount"] = rng.choice(["0.00", "0.01", "-0.01", "0.001", "1e3", "1000000000.00"])
        money["currency"] = rng.choice(["EUR", "EUR", "USD", "eur", "EURO"])
    document["event_id"] = f"fuzz-{rng.random()}"
    return document


def cut_short(rng: random.Random, document: dict[str, Any], pool: Pool) -> bytes:
    raw = orjson.dumps(document)
    return raw[: rng.randrange(len(raw))]


def flipped_byte(rng: random.Random, document: dict[str, Any], pool: Pool) -> bytes:
    raw = bytearray(orjson.dumps(document))
    raw[rng.randrange(len(raw))] = rng.randrange(256)
    return bytes(raw)


def not_utf8(rng: random.Random, document: dict[str, Any], pool: Pool) -> bytes:
    raw = orjson.dumps(document)
    at = rng.randrange(len(raw))
    return raw[:at] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"]) + raw[at:]


def deep(rng: random.Random, document: dict[str, Any], pool: Pool) -> bytes:
    depth = rng.choice([100, 1_000, 100_000])
    return b"[" * depth + b"]" * depth


def huge(rng: random.Random, document: dict[str, Any], pool: Pool) -> bytes:
    name, email = personal(document.get("customer_id", "nobody"))
    filler = rng.choice(["\u0001", "x", '\\"', "é"]) * rng.choice([70_000, 300_000])
    document.update(name=name, email=email, note=filler)
    return orjson.dumps(document)


def not_an_object(rng: random.Random, document: dict[str, Any], pool: Pool) -> bytes:
    return rng.choice([b"[]", b"null", b"1", b'"text"', b"", b"{", b"{}", b"\xef\xbb\xbf{}"])


MUTATIONS: dict[str, Mutation] = {
    mutation.__name__: mutation
    for mutation in (
        drop_field, hostile_value, extra_field, other_type, other_reference, reused_event_id,
        shifted_time, other_money, cut_short, flipped_byte, not_utf8, deep, huge, not_an_object,
    )
}  # fmt: skip

TICK_MUTATIONS = ("drop_field", "hostile_value", "extra_field", "cut_short", "flipped_byte")


def hostile_inputs(events: list[InputEvent], count: int, seed: int) -> Iterator[Input]:
    """``count`` inputs: the events of ``events`` in turn (again, of other customers, when
    they run out), every other one replaced by a mutation of it; one in twenty under another
    message key."""
    rng, pool = random.Random(seed), Pool()
    names = sorted(MUTATIONS)
    for number in range(count):
        event = events[number % len(events)]
        document = _renamed(orjson.loads(dumps(event)), number // len(events))
        family = event.type.split(".")[0]
        key: bytes | None = document["customer_id"].encode()
        if rng.random() < 0.05:  # time passing for the customer, as a worker's ticks say
            family, mutation = "tick", rng.choice(["valid", *TICK_MUTATIONS])
            document = {"customer_id": document["customer_id"], "now": document["event_time"]}
            mutated = document if mutation == "valid" else MUTATIONS[mutation](rng, document, pool)
            yield Input(family, key, _bytes(mutated), f"tick {mutation}")
            continue
        if rng.random() < 0.5:
            pool.note(document)
            yield Input(family, key, orjson.dumps(document), "valid")
            continue
        mutation = rng.choice(names)
        mutated = MUTATIONS[mutation](rng, document, pool)
        value = _bytes(mutated)
        if rng.random() < 0.05:
            key, mutation = rng.choice([None, b"someone-else", b"\xff"]), mutation + "+key"
        yield Input(family, key, value, mutation)


def _bytes(mutated: bytes | dict[str, Any]) -> bytes:
    return mutated if isinstance(mutated, bytes) else orjson.dumps(mutated)


def _renamed(document: dict[str, Any], cycle: int) -> dict[str, Any]:
    """``document`` with every id in it made that of the ``cycle``-th copy of the history."""
    if cycle:
        for name, value in document.items():
            if name.endswith("_id") and isinstance(value, str):
                document[name] = f"{value}~{cycle}"
    return document


@dataclass
class Fuzz:
    """Inputs through validation and the engine, as a worker takes them; counts of outcomes."""

    engine: Engine = field(default_factory=lambda: Engine(learn=True))
    records: dict[str, CustomerRecord] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    secrets: tuple[bytes, ...] = SECRETS
    """What every customer's personal data has in it: no output or dead letter may show it."""
    offset: int = 0

    def take(self, message: Input) -> str:
        """What became of ``message``: ``taken``, or the reason code of its dead letter.
        Raises ``AssertionError`` if a dead letter is too large or an output or dead letter
        carries personal data; any error of the code under test other than
        ``InvalidEvent`` propagates."""
        self.offset += 1
        try:
            record, outputs = self._step(message)
        except InvalidEvent as error:
            self._check_letter(error, message)
            outcome = error.code
        else:
            self.records[record.customer_id] = record
            for output in outputs.all():
                self._check_clean(dumps(output), f"output {output.type}")
            outcome = "taken"
        self.outcomes[outcome] += 1
        return outcome

    def _step(self, message: Input) -> tuple[CustomerRecord, Outputs]:
        if message.family == "tick":
            tick = parse_tick(message.value)
            record = self._record(tick.customer_id)
            return record, self.engine.advance(record, tick.now)
        event = parse_event(message.value, family=message.family, key=message.key)
        record = self._record(event.customer_id)
        return record, self.engine.process(record, event)

    def _record(self, customer_id: str) -> CustomerRecord:
        return self.records.get(customer_id) or CustomerRecord.new(customer_id)

    def _check_letter(self, error: InvalidEvent, message: Input) -> None:
        topic = TOPICS.get(message.family, message.family)
        letter = dumps(dead_letter(error, topic, 0, self.offset, message.key, message.value))
        assert len(letter) < MAX_LETTER, f"a dead letter of {len(letter)} bytes"
        self._check_clean(letter, f"dead letter {error.code}")

    def _check_clean(self, data: bytes, what: str) -> None:
        for secret in self.secrets:
            assert secret not in data, f"{what} carries personal data {secret!r}"
