"""Fuzzed events through decoding, validation and the engine: nothing but a dead letter with its
reason, never an unexpected error, never personal data out, never a dead letter too large.

The short form of ``tests/bench/bench_fuzz.py`` (which runs a million inputs).
"""

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.events import EVENT_TYPES, KNOWN_FIELDS
from streams.engine import CustomerRecord
from tests.chaos.fuzzing import (
    MUTATIONS,
    TICK_MUTATIONS,
    Fuzz,
    Input,
    history,
    hostile_inputs,
)

INPUTS = 20_000


def test_mutated_history_gives_outputs_or_dead_letters_and_nothing_else():
    events = history(customers=60, days=240, seed=11)
    fuzz = Fuzz()
    tried = set()
    for message in hostile_inputs(events, INPUTS, seed=5):
        fuzz.take(message)  # raises on anything but a dead letter's reason
        tried.add(message.mutation.removesuffix("+key"))
    ticks = {f"tick {mutation}" for mutation in ("valid", *TICK_MUTATIONS)}
    assert tried == {*MUTATIONS, "valid", *ticks}
    assert fuzz.outcomes.keys() >= {
        "taken", "undecodable", "invalid", "unknown_type", "wrong_topic", "key_mismatch",
        "inconsistent", "too_late",
    }  # fmt: skip
    assert fuzz.outcomes["taken"] > INPUTS // 4
    for record in fuzz.records.values():
        stored = record.to_bytes()
        assert CustomerRecord.from_bytes(stored).to_bytes() == stored


_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(), st.text(max_size=40),
    st.sampled_from(["2026-01-05T10:00:00Z", "1.00", "EUR", "c1", "e1", "o1", "i1", "p1"]),
)  # fmt: skip
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_DOCUMENTS = st.fixed_dictionaries(
    {"type": st.sampled_from(sorted(EVENT_TYPES)), "customer_id": st.just("c1")},
    optional={name: _VALUES for name in sorted(KNOWN_FIELDS - {"type", "customer_id"})},
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents=st.lists(_DOCUMENTS, min_size=1, max_size=8))
def test_any_document_of_known_fields_gives_an_output_or_a_dead_letter(documents):
    fuzz = Fuzz()
    for document in documents:
        family = document["type"].split(".")[0]
        fuzz.take(Input(family, b"c1", orjson.dumps(document), "generated"))
    assert sum(fuzz.outcomes.values()) == len(documents)
