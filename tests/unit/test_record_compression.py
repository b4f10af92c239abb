"""How customer records are stored: zstd frames written with the records' dictionary."""

import tracemalloc
from datetime import UTC, datetime
from importlib.resources import files

import pytest
import zstandard

from streams.cli.generate import generate_events
from streams.cli.record_dictionary import record_samples, train
from streams.engine import CustomerRecord, Engine
from streams.engine.compression import WRITING_DICTIONARY, compress, decompress, frame_dictionary
from streams.engine.replay import Replay

END = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def samples() -> list[bytes]:
    """The JSON of records along a generated history of a few customers."""
    return list(record_samples(generate_events(customers=6, days=150, end=END), every=3))


def test_the_newest_dictionary_shipped_writes_every_record():
    shipped = [
        int(path.name.removeprefix("records-").removesuffix(".zdict"))
        for path in files("streams.engine").joinpath("dictionaries").iterdir()
        if path.name.endswith(".zdict")
    ]
    assert WRITING_DICTIONARY == max(shipped) > 0
    assert frame_dictionary(CustomerRecord.new("c1").to_bytes()) == WRITING_DICTIONARY


def test_the_dictionary_makes_records_smaller_than_frames_of_their_own(samples):
    plain = zstandard.ZstdCompressor(level=1)
    with_dictionary = sum(len(compress(sample)) for sample in samples)
    alone = sum(len(plain.compress(sample)) for sample in samples)
    assert with_dictionary < 0.85 * alone, (with_dictionary, alone)
    assert [decompress(compress(sample)) for sample in samples] == samples


def test_a_record_written_without_a_dictionary_is_read_and_written_again_with_it():
    for record in replayed(generate_events(customers=2, days=90, end=END)).values():
        current = record.to_bytes()
        before = zstandard.ZstdCompressor(level=1).compress(decompress(current))
        assert frame_dictionary(before) == 0
        assert CustomerRecord.from_bytes(before).to_bytes() == current


def test_a_record_written_with_a_dictionary_this_code_lacks_is_refused_with_its_id(samples):
    unknown = zstandard.ZstdCompressionDict(train(samples, 99))
    blob = zstandard.ZstdCompressor(level=1, dict_data=unknown).compress(samples[-1])
    with pytest.raises(ValueError, match=r"dictionary 99; .* ships records-99\.zdict"):
        CustomerRecord.from_bytes(blob)
    # read with that dictionary, it is the record it was
    reader = zstandard.ZstdDecompressor(dict_data=unknown)
    assert reader.decompress(blob) == samples[-1]


def test_training_is_deterministic(samples):
    assert train(samples, 7) == train(samples, 7)
    assert zstandard.ZstdCompressionDict(train(samples, 7)).dict_id() == 7


def replayed(events) -> dict[str, CustomerRecord]:
    replay = Replay(Engine())
    for event in events:
        for _ in replay.feed(event):
            pass
    return replay.records


def test_a_record_kept_in_memory_takes_the_size_of_its_frame(samples):
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        frames = [compress(sample) for sample in samples]
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 1.1 * sum(len(frame) for frame in frames) + 64 * len(frames)
