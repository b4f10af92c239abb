"""Dead letters keep no personal data and stay small, whatever made their input unusable."""

import base64
import hashlib

import orjson
import pytest

from schemas.codec import dumps
from schemas.jsonschema import SCHEMA_DIR
from schemas.validation import InvalidEvent, parse_event
from streams.engine.deadletter import MAX_PAYLOAD, dead_letter

NAME, EMAIL = "Zyxwvut Qponmlk GmbH", "zyxwvut.qponmlk@example.org"
PIECES = (NAME[:4], NAME[-6:], EMAIL[:4], EMAIL.split("@")[0][-4:], "example.org")
"""What may not show anywhere in a dead letter: the ends of the name and of the e-mail too."""
MAX_LETTER = 128 * 1024
"""A dead letter's most bytes, far under the producer's 1 MB."""


def personal_fields() -> dict[str, set[str]]:
    """Event type -> its fields marked ``x-personal-data`` in the JSON Schema files."""
    marked = {}
    for path in SCHEMA_DIR.glob("*.schema.json"):
        schema = orjson.loads(path.read_bytes())
        fields = {name for name, field in schema["properties"].items()
                  if field.get("x-personal-data")}  # fmt: skip
        if fields:
            marked[schema["properties"]["type"]["const"]] = fields
    return marked


def profile(**fields: object) -> dict:
    return {"type": "customer.profile", "event_id": "e1", "customer_id": "c1",
            "event_time": "2026-01-05T10:00:00Z", "name": NAME, "email": EMAIL,
            "country": "GB", **fields}  # fmt: skip


def letter_of(value: bytes, family: str = "customer", key: bytes = b"c1") -> dict:
    """The dead letter of a message on the ``family`` topic, as sent (a JSON object)."""
    try:
        parse_event(value, family=family, key=key)
    except InvalidEvent as error:
        rejected = error
    else:  # valid, then refused by the engine
        rejected = InvalidEvent("too_late", "e1 is older than the lateness allows")
    return orjson.loads(dumps(dead_letter(rejected, "crm.customers", 0, 7, key, value)))


def shown(letter: dict) -> str:
    """Everything a dead letter shows, its payload decoded."""
    text = orjson.dumps(letter).decode()
    if letter["payload_encoding"] == "base64":
        text += base64.b64decode(letter["payload"]).decode(errors="replace")
    return text


def check_no_personal_data(letter: dict) -> None:
    text = shown(letter)
    assert not [piece for piece in PIECES if piece in text], text


def test_the_personal_fields_are_those_the_json_schema_files_mark():
    assert personal_fields() == {"customer.profile": {"name", "email"}}


INVALID = {
    "bad country": profile(country="gb"),
    "valid, refused later": profile(),
    "unknown type": profile(type="customer.profil"),
    "wrong topic": profile(type="order.placed"),
    "name not a string": profile(name=[NAME, {"email": EMAIL}]),
    "nested": {"type": "customer.profile", "data": profile()},
    "a list": [profile(), profile(country="gb")],
}


@pytest.mark.parametrize("document", INVALID.values(), ids=INVALID.keys())
def test_personal_fields_are_taken_out_of_a_json_payload(document):
    value = orjson.dumps(document)
    letter = letter_of(value)
    check_no_personal_data(letter)
    kept = orjson.loads(letter["payload"])
    first = kept[0] if isinstance(kept, list) else kept.get("data", kept)
    assert (first["customer_id"], first["event_id"]) == ("c1", "e1")
    assert {"name", "email"}.isdisjoint(first)
    assert {path.rsplit(".", 1)[-1] for path in letter["redacted"]} == {"name", "email"}
    assert letter["payload_size"] == len(value)
    assert letter["payload_sha256"] == hashlib.sha256(value).hexdigest()


def test_a_key_that_is_not_the_customer_id_keeps_no_personal_data():
    check_no_personal_data(letter_of(orjson.dumps(profile()), key=b"c2"))


def test_a_payload_without_personal_data_is_kept_exactly():
    value = b'{"type": "payment.reversed", "customer_id": "c1"}'
    letter = letter_of(value, family="payment")
    assert letter["payload"] == value.decode()
    assert (letter["redacted"], letter["payload_truncated"]) == ([], False)


NOT_JSON = {
    "trailing comma": orjson.dumps(profile())[:-1] + b",}",
    "single quotes": str(profile()).encode(),
    "spaces and equals": b'name = "' + NAME.encode() + b'" ; email = ' + EMAIL.encode(),
    "not utf-8": orjson.dumps(profile()).replace(b'"GB"', b'"\xff\xfe"'),
    "e-mail in free text": b"contact " + EMAIL.encode() + b" about it",
    "name an object": orjson.dumps(profile(name={"first": NAME}, email=[EMAIL]))[:-1],
    # A byte of a field's name changed (found by fuzzing): the name no longer says personal.
    "field name garbled": orjson.dumps(profile()).replace(b'"name":', b'"name5:'),
    "quote of a field name lost": orjson.dumps(profile()).replace(b',"name"', b',Xname"'),
    "field name misspelt": orjson.dumps(profile()).replace(b'"name"', b'"nmae"')[:-1],
}


@pytest.mark.parametrize("value", NOT_JSON.values(), ids=NOT_JSON.keys())
def test_a_payload_that_is_not_json_keeps_a_redacted_excerpt(value):
    letter = letter_of(value)
    check_no_personal_data(letter)
    assert letter["reason_code"] == "undecodable"
    assert "c1" in shown(letter) or b"c1" not in value  # the rest is kept


def test_a_payload_cut_anywhere_keeps_no_personal_data():
    value = orjson.dumps(profile())
    for end in range(len(value)):
        letter = letter_of(value[:end])
        text = shown(letter)
        # Whatever part of the name or the e-mail the cut left, however short.
        for secret in (NAME, EMAIL):
            at = value.find(secret.encode())
            left = value[at:end].decode()
            assert len(left) < 3 or left not in text, (end, text)


def test_a_huge_payload_of_control_characters_makes_a_small_dead_letter():
    """Issue 16: 200 kB of control characters made a 1.2 MB dead letter, which the producer
    refused (its limit is 1 MB)."""
    value = bytes(range(32)) * 6250
    letter = dead_letter(InvalidEvent("undecodable", "not JSON"), "crm.payments", 1, 9,
                         b"\x01" * 100_000, value)  # fmt: skip
    sent = dumps(letter)
    assert len(sent) <= MAX_LETTER
    assert letter.payload_truncated and letter.payload_size == len(value) == 200_000
    assert letter.payload_sha256 == hashlib.sha256(value).hexdigest()
    assert value.decode().startswith(letter.payload)
    assert len(letter.payload.encode()) == MAX_PAYLOAD
    assert len(letter.key or "") <= 1024


def test_a_huge_reason_is_cut_too():
    value = orjson.dumps({"type": ["x" * 300_000]})
    with pytest.raises(InvalidEvent) as refused:
        parse_event(value)
    letter = dead_letter(refused.value, "crm.orders", 0, 1, b"c1", value)
    assert len(dumps(letter)) <= MAX_LETTER
    assert letter.reason.startswith("type: must be a string, not list")


def test_a_json_payload_too_large_is_cut_after_its_personal_fields_are_out():
    value = orjson.dumps(profile(segment="s" * 300_000))
    letter = letter_of(value)
    check_no_personal_data(letter)
    assert letter["payload_truncated"] and len(orjson.dumps(letter)) <= MAX_LETTER
    assert letter["payload"].startswith('{"type":"customer.profile","event_id":"e1"')
