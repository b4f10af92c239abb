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


def terms(days: object) -> bytes:
    return raw(type="customer.payment_terms", terms_days=days, amount=None, order_id=None)


def profile(**fields: object) -> bytes:
    return raw(type="customer.profile", amount=None, order_id=None, **fields)


def money(amount: object) -> bytes:
    return raw(amount={"amount": amount, "currency": "EUR"})


LAX = {
    "event_time a number": raw(event_time=1772353800),
    "event_time digits in a string": raw(event_time="1772353800"),
    "event_time without seconds": raw(event_time="2026-03-01T09:30+01:00"),
    "event_time with a space": raw(event_time="2026-03-01 09:30:00+01:00"),
    "event_time in other digits": raw(event_time="٢٠٢٦-03-01T09:30:00+01:00"),
    "due_date a number": invoice(due_date=20513),
    "terms_days true": terms(True),
    "terms_days a string": terms("45"),
    "terms_days a float": terms(45.0),
    "paperless a string": invoice(paperless="yes"),
    "paperless a number": invoice(paperless=1),
    "schema_version true": raw(schema_version=True),
    "amount +100": money("+100"),
    "amount with spaces": money(" 100 "),
    "amount 1_000": money("1_000"),
    "amount 1e5": money("1e5"),
    "amount in other digits": money("١٢٣"),
    "amount a number": money(100),
    "amount infinite": money("Infinity"),
    "id with a control character": raw(order_id="o\x001"),
    "id with a format character": raw(order_id="o\u200b1"),
    "id with a right-to-left override": raw(customer_id="c\u202e1"),
    "id not NFC": raw(customer_id="cafe\u0301"),
    "id too long": raw(order_id="o" * 129),
    "segment too long": profile(segment="s" * 65),
    "segment with a control character": profile(segment="retail\n"),
    "country too long": profile(country="GBR"),
    "country with a newline": profile(country="GB\n"),
    "name too long": profile(name="n" * 257),
    "email too long": profile(email="e" * 255),
}


@pytest.mark.parametrize("value", LAX.values(), ids=LAX.keys())
def test_input_is_parsed_strictly_as_the_json_schema_says(value):
    """Issue 16: numbers for times, strings for numbers and booleans, amounts Python's Decimal
    reads but the schema does not ("+100", "1_000", "١٢٣"), ids any text: all refused."""
    error = rejection(value)
    assert error.code == "invalid", error


def test_what_the_json_schema_allows_is_still_accepted():
    assert parse_event(raw(event_time="2026-03-01t09:30:00.123456789z")).event_time.second == 0
    assert parse_event(terms(45)).terms_days == 45
    assert parse_event(invoice(paperless=True)).paperless is True
    assert parse_event(money("0100.5")).amount.amount == Decimal("100.5")
    assert parse_event(raw(customer_id="café-ünïcode", order_id="o" * 128)).customer_id == (
        "café-ünïcode"
    )
    named = parse_event(profile(name="Zoë", email="z@example.org", segment="s" * 64))
    assert (named.name, named.country) == ("Zoë", None)


def test_the_json_schema_files_bound_every_string_of_an_input():
    for path in SCHEMA_DIR.glob("*.schema.json"):
        schema = orjson.loads(path.read_bytes())
        if schema["properties"]["type"]["const"] not in EVENT_TYPES:
            continue
        for name, field in schema["properties"].items():
            for option in field.get("anyOf", [field]):
                if option.get("type") == "string" and "const" not in option:
                    bounded = "maxLength" in option or "enum" in option or "format" in option
                    assert bounded, (path.name, name)
