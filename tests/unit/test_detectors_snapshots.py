"""Signed snapshots: only an intact blob signed with our key is ever unpickled."""

import pickle
import sys
import types
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.late_payment import LatePaymentModel
from detectors.snapshots import MAGIC, SnapshotRejected, key_id, load, sign

KEY = b"trainer-and-workers-share-this-key"
OTHER_KEY = b"some-other-key-of-enough-bytes"
MADE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PROBES = [{"limit_use": 0.2, "dso": 30.0}, {"limit_use": 1.3, "dso": 75.0}]

UNPICKLED: list[str] = []


class _Payload:
    """Unpickling this records that it happened: what an attacker's code would do."""

    def __reduce__(self):
        return UNPICKLED.append, ("attacker code ran",)


def _trained(name: str) -> LatePaymentModel:
    model = LatePaymentModel(name, seed=1)
    for step in range(60):
        late = step % 3 == 0
        model.learn({"limit_use": 1.2 if late else 0.4, "dso": 70.0 if late else 25.0}, late)
    return model


@pytest.fixture(scope="module")
def blob() -> bytes:
    return sign(_trained("logreg"), "logreg@60", KEY, created_at=MADE)


@pytest.mark.parametrize("name", ["logreg", "arf"])
def test_a_good_snapshot_round_trips_and_predicts_the_same(name):
    model = _trained(name)
    loaded, version = load(sign(model, model.version, KEY), KEY)
    assert version == f"{name}@60"
    assert [loaded.predict(x) for x in PROBES] == [model.predict(x) for x in PROBES]


def test_the_same_model_and_time_give_the_same_bytes(blob):
    assert sign(_trained("logreg"), "logreg@60", KEY, created_at=MADE) == blob


def test_a_snapshot_of_another_key_is_refused_naming_both_keys(blob):
    """Issue 16: a snapshot from an unexpected producer key is refused by its key id, which
    tells an operator which key made it, without showing either key."""
    expected = f"signed with key {key_id(KEY)}, not with this worker's key {key_id(OTHER_KEY)}"
    with pytest.raises(SnapshotRejected, match=expected):
        load(blob, OTHER_KEY)
    assert key_id(KEY) != key_id(OTHER_KEY) and KEY.hex() not in expected


def test_a_key_id_does_not_reveal_its_key():
    assert len(key_id(KEY)) == 16 and key_id(KEY) == key_id(bytes(KEY))
    assert KEY.hex()[:16] != key_id(KEY)


@settings(max_examples=150)
@given(data=st.data())
def test_any_changed_byte_is_refused(blob, data):
    position = data.draw(st.integers(0, len(blob) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = bytearray(blob)
    tampered[position] ^= flip
    with pytest.raises(SnapshotRejected):
        load(bytes(tampered), KEY)


@pytest.mark.parametrize("cut", [0, 5, len(MAGIC) + 10, -1])
def test_a_truncated_snapshot_is_refused(blob, cut):
    with pytest.raises(SnapshotRejected):
        load(blob[:cut], KEY)


def test_an_unsigned_pickle_is_refused_without_being_unpickled():
    with pytest.raises(SnapshotRejected, match="not a signed snapshot"):
        load(pickle.dumps(_Payload()), KEY)
    assert UNPICKLED == []


def test_a_forged_signature_is_refused_without_unpickling(blob):
    prefix = blob[: len(MAGIC) + len(key_id(KEY)) // 2]  # the magic and the key's id
    header_and_payload = blob[len(prefix) + 32 :]
    forged_payload = pickle.dumps(_Payload())
    length = int.from_bytes(header_and_payload[:4], "big")
    forged = prefix + bytes(32) + header_and_payload[: 4 + length] + forged_payload
    with pytest.raises(SnapshotRejected, match="bad signature"):
        load(forged, KEY)
    assert UNPICKLED == []


def test_a_signed_snapshot_that_cannot_be_unpickled_here_is_refused(monkeypatch):
    module = types.ModuleType("vanishing_models")
    exec("class Model:\n    pass", module.__dict__)
    module.Model.__module__ = "vanishing_models"
    monkeypatch.setitem(sys.modules, "vanishing_models", module)
    blob = sign(module.Model(), "vanishing@1", KEY)
    monkeypatch.delitem(sys.modules, "vanishing_models")
    with pytest.raises(SnapshotRejected, match="could not be loaded"):
        load(blob, KEY)


def test_a_short_key_is_refused():
    with pytest.raises(ValueError, match="at least 16 bytes"):
        sign({"weights": []}, "v1", b"short")


def test_a_snapshot_from_before_calibration_still_loads_and_learns_on():
    """A snapshot of a model pickled before it had blocks, a mixing buffer and calibration
    (only its name, classifier and count), as the models topic may still hold one."""
    model = _trained("logreg")
    old = LatePaymentModel.__new__(LatePaymentModel)
    old.__dict__.update(name="logreg", classifier=model.classifier, n_learned=60)
    loaded, version = load(sign(old, "logreg@60", KEY), KEY)
    assert version == "logreg@60"
    assert [loaded.score(x) for x in PROBES] == [model.score(x) for x in PROBES]
    assert [loaded.predict(x) for x in PROBES] == [0.5, 0.5]  # no outcome to calibrate on yet
    loaded.learn(PROBES[0], True)
    assert loaded.version == "logreg@61"
    assert loaded.predict(PROBES[1]) == pytest.approx(2 / 3)
