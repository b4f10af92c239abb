"""Train the zstd dictionary that customer records are stored with.

    python -m streams.cli.record_dictionary

Replays a generated year of 300 customers, with the bureau's monthly reports, through the
engine with the model on, takes a customer's record as stored after every tenth step and
every record at the end, trains a 32 KB dictionary on them and writes it to
``streams/engine/dictionaries/`` under the next id. Deterministic: the same code makes the
same dictionary. Train a new one when what a record holds has changed much; keep the files
of the older ones, which read the records written with them (``streams.engine.compression``).
"""

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

import zstandard

from schemas.events import InputEvent
from streams.cli.generate import generate_events
from streams.engine import Engine
from streams.engine.compression import DICTIONARY_FILE, WRITING_DICTIONARY, decompress
from streams.engine.replay import Replay

DICTIONARY_BYTES = 32_768
"""32 KB: 64 KB made records less than 1% smaller, 16 KB about as much larger."""
SAMPLE_EVERY = 10
HISTORY_END = datetime(2026, 1, 1, tzinfo=UTC)


def record_samples(events: Iterable[InputEvent], every: int = SAMPLE_EVERY) -> Iterator[bytes]:
    """The JSON of the record of the customer of every ``every``-th step of a replay of
    ``events``, then of every record at the end."""
    replay = Replay(Engine(learn=True))
    for count, step in enumerate(
        (step for event in events for step in replay.feed(event)), start=1
    ):
        if count % every == 0:
            yield decompress(replay.records[step.customer_id].to_bytes())
    for record in replay.records.values():
        yield decompress(record.to_bytes())


def train(samples: list[bytes], dictionary_id: int) -> bytes:
    """A dictionary of ``samples`` with the id ``dictionary_id``."""
    trained = zstandard.train_dictionary(DICTIONARY_BYTES, samples, dict_id=dictionary_id, level=1)
    return trained.as_bytes()


def main() -> None:
    events = generate_events(customers=300, days=365, end=HISTORY_END, seed=1, credit_reports=True)
    samples = list(record_samples(events))
    dictionary_id = WRITING_DICTIONARY + 1
    folder = Path(str(files("streams.engine").joinpath("dictionaries")))
    path = folder / DICTIONARY_FILE.format(dictionary_id)
    path.write_bytes(train(samples, dictionary_id))
    print(f"{path}: trained on {len(samples):,} records, {sum(map(len, samples)):,} bytes")


if __name__ == "__main__":
    main()
