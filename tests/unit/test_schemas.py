"""Event contracts: what is accepted, what is rejected and why, and the JSON Schema files."""

from decimal import Decimal, InvalidOperation
from pathlib import Path

import hypothesis
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import InvalidEvent, OrderPlaced, parse_event
from schemas.codec import dumps
from schemas.events import EVENT_TYPES
from schemas.jsonschema import SCHEMA_DIR, generate
from schemas.money import _with_cents, money_text
from schemas.outputs import ALL_OUTPUT_EVENTS, Versions

ORDER = {
    "type": "order.placed",
    "event_id": "e-1",
    "customer_id": "c-1",
    "event_time": "2026-03-01T09:30:00+01:00",
    "order_id": "o-1",
    "amount": {"amount": "1999.99", "currency": "EUR"},
}


def raw(**changes) -> bytes:
    document = {**ORDER, **changes}
    return orjson.dumps({k: v for k, v in document.items() if v is not None})


def rejection(value: bytes, **kwargs) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(value, **kwargs)
    return caught.value


def test_a_valid_order_keeps_its_money_exact():
    event = parse_event(raw(), family="order", key=b"c-1")
    assert isinstance(event, OrderPlaced)
    assert event.amount.amount == Decimal("1999.99")
    assert event.event_time.utcoffset().total_seconds() == 3600


def test_encoding_round_trips_money_as_a_string():
    event = parse_event(raw())
    document = orjson.loads(dumps(event))
    assert document["amount"] == {"amount": "1999.99", "currency": "EUR"}
    assert parse_event(dumps(event)) == event


@pytest.mark.parametrize(
    ("value", "code", "words"),
    [
        (b"\xff\xfe", "undecodable", "not JSON"),
        (b"[1, 2]", "undecodable", "JSON object"),
        (raw(type="order.teleported"), "unknown_type", "order.teleported"),
        (raw(type=None), "unknown_type", "None"),
        (raw(amount={"amount": 19.99, "currency": "EUR"}), "invalid", "not floats"),
        (raw(amount={"amount": "-5", "currency": "EUR"}), "invalid", "amount.amount"),
        (raw(amount={"amount": "5.123456", "currency": "EUR"}), "invalid", "decimal places"),
        (raw(amount={"amount": "5", "currency": "euro"}), "invalid", "amount.currency"),
        (raw(event_time="2026-03-01T09:30:00"), "invalid", "timezone"),
        (raw(event_id=None), "invalid", "event_id: Field required"),
        (raw(customer_id="has space"), "invalid", "customer_id"),
        (raw(type=["order.placed"]), "invalid", "type: must be a string, not list"),
        (raw(type={"name": "order.placed"}), "invalid", "type: must be a string, not dict"),
        (raw(amount={"amount": "0.00", "currency": "EUR"}), "invalid", "more than 0, not 0.00"),
        (raw(event_time="9999-12-31T23:59:59Z"), "invalid", "event_time: Value error, 9999-12-31"),
        (raw(event_time="0001-01-01T00:00:00Z"), "invalid", "event_time: Value error, 0001-01-01"),
        (raw(event_time="1970-01-01T00:30:00+01:00"), "invalid", "outside the supported range"),
        (raw(event_time="2999-12-31T23:00:00-05:00"), "invalid", "1970-01-01 to 2999-12-31"),
    ],
)
def test_every_rejection_has_a_code_and_a_reason(value, code, words):
    error = rejection(value)
    assert error.code == code
    assert words in error.reason


def invoice(**changes) -> bytes:
    """An invoice issued with the order, 2026-03-01 (UTC), due a month later."""
    return raw(
        **{"type": "invoice.issued", "invoice_id": "i-1", "due_date": "2026-03-31", **changes}
    )


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (invoice(due_date="9999-12-31"), "due_date: Value error, 9999-12-31 is outside"),
        (invoice(due_date="2026-02-28"), "due_date 2026-02-28 is before the issue date 2026-03-01"),
        (invoice(event_time="2026-03-02T01:00:00+02:00", due_date="2026-02-28"), "2026-03-01"),
        (invoice(amount={"amount": "0", "currency": "EUR"}), "amount: Value error, must be more"),
    ],
)
def test_an_invoice_must_be_for_something_and_fall_due_on_or_after_its_issue(value, words):
    error = rejection(value)
    assert error.code == "invalid"
    assert words in error.reason


def test_payments_need_an_amount_but_a_credit_limit_may_be_zero():
    payment = {**ORDER, "type": "payment.received", "payment_id": "p-1"}
    nothing = {"amount": "0", "currency": "EUR"}
    assert "more than 0" in rejection(orjson.dumps({**payment, "amount": nothing})).reason
    limit = {**ORDER, "type": "customer.credit_limit", "credit_limit": nothing}
    assert parse_event(orjson.dumps(limit)).credit_limit.amount == 0


def test_the_supported_range_includes_its_ends_and_due_dates_on_the_day_of_issue():
    first = parse_event(raw(event_time="1970-01-01T00:00:00Z"))
    last = parse_event(raw(event_time="2999-12-31T23:59:59.999999Z"))
    assert (first.event_time.year, last.event_time.year) == (1970, 2999)
    same_day = parse_event(invoice(due_date="2026-03-01"))
    assert same_day.due_date == same_day.event_time.date()


def test_an_event_on_another_family_s_topic_is_rejected():
    error = rejection(raw(), family="payment")
    assert (error.code, error.reason) == (
        "wrong_topic", "order.placed does not belong on the payment topic",
    )  # fmt: skip


def test_the_message_key_must_be_the_customer_id():
    assert rejection(raw(), key=b"c-2").code == "key_mismatch"


def test_unknown_fields_are_ignored_for_forward_compatibility():
    assert parse_event(raw(campaign="spring")).order_id == "o-1"


def test_personal_data_is_marked_in_the_schema():
    profile = orjson.loads(generate()["customer.profile.schema.json"])
    marked = {name for name, field in profile["properties"].items() if field.get("x-personal-data")}
    assert marked == {"name", "email"}


def test_json_schema_files_are_in_sync_with_the_code():
    generated = generate()
    on_disk = {path.name: path.read_bytes() for path in SCHEMA_DIR.glob("*.json")}
    assert on_disk == generated, "run `make schemas` (python -m schemas.jsonschema) and commit"


def test_the_docs_show_one_valid_example_of_every_event():
    readme = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text()
    blocks = [block.split("```", 1)[0] for block in readme.split("```json\n")[1:]]
    examples = [orjson.loads(block) for block in blocks if '"type"' in block]
    outputs = {model.model_fields["type"].default: model for model in ALL_OUTPUT_EVENTS}
    for example in examples:
        if "versions" in example:  # every version an output names, as the engine writes them
            assert example["versions"].keys() == Versions.model_fields.keys(), example["type"]
        if example["type"] in outputs:
            outputs[example["type"]].model_validate(example)
        else:
            parse_event(orjson.dumps(example))
    assert sorted(example["type"] for example in examples) == sorted({*EVENT_TYPES, *outputs})


AMOUNTS = st.decimals(allow_nan=False, allow_infinity=False) | st.builds(
    lambda digits, places: Decimal(f"{digits}E{places}"),
    st.integers(-(10**32), 10**32),
    st.integers(-10, 8),
)
"""Amounts of any size and exponent, some with more digits than decimal arithmetic keeps."""


@given(AMOUNTS)
@hypothesis.example(Decimal("1E+26"))  # 27 digits, 29 with cents: too many
@hypothesis.example(Decimal("99999999999999999999999999.999"))  # rounded to 28 digits
@hypothesis.example(Decimal("-0E-7"))
def test_money_text_pads_to_cents_as_decimal_arithmetic_does(amount: Decimal):
    try:
        expected = format(_with_cents(amount), "f")
    except InvalidOperation:  # more digits than decimal arithmetic keeps
        with pytest.raises(InvalidOperation):
            money_text(amount)
        return
    assert money_text(amount) == expected
