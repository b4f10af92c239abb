"""How a customer's record is stored: one zstd frame, compressed with a dictionary.

A record is a dozen kilobytes of JSON, most of it what every record repeats: keys, ids of
the same shapes, the phrases of alerts and cases, the versions of the rules and models. A
zstd dictionary trained on records (``python -m streams.cli.record_dictionary``) holds
those once for all, so that each frame need not: the median record of ``bench_engine``
takes a fifth fewer bytes than in a frame of its own (2,940 against 3,789).

Each frame names the dictionary it was written with. The newest dictionary in
``dictionaries/`` writes; every one of them reads, as does a frame written without one and
a record stored before records were compressed. Keep the file of a dictionary for as long
as records written with it may be read (a table's changelog, a snapshot).

>>> blob = compress(b'{"format": 1}')
>>> decompress(blob)
b'{"format": 1}'
>>> frame_dictionary(blob) == WRITING_DICTIONARY
True
>>> decompress(b'{"format": 1}')
b'{"format": 1}'
"""

from importlib.resources import files

import zstandard

LEVEL = 1
"""Level 1: levels 1 to 3 make frames within 1% of each other here, level 1 the fastest."""
DICTIONARY_FILE = "records-{}.zdict"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_NO_DICTIONARY = 0


def _dictionaries() -> dict[int, zstandard.ZstdCompressionDict]:
    """The dictionaries shipped with the code, by the id each holds (the trainer names its
    file after it)."""
    found = {}
    for path in files("streams.engine").joinpath("dictionaries").iterdir():
        if path.name.endswith(".zdict"):
            dictionary = zstandard.ZstdCompressionDict(path.read_bytes())
            found[dictionary.dict_id()] = dictionary
    return found


_DICTIONARIES = _dictionaries()
WRITING_DICTIONARY = max(_DICTIONARIES)
"""The id of the dictionary new frames are written with: the newest."""
_COMPRESS = zstandard.ZstdCompressor(level=LEVEL, dict_data=_DICTIONARIES[WRITING_DICTIONARY])
_DECOMPRESS = {
    _NO_DICTIONARY: zstandard.ZstdDecompressor(),
    **{key: zstandard.ZstdDecompressor(dict_data=value) for key, value in _DICTIONARIES.items()},
}


def compress(raw: bytes) -> bytes:
    """``raw`` as one zstd frame, written with the newest dictionary."""
    # A copy: zstandard returns the buffer it wrote into, sized for the worst case (about
    # the input's size, four times a record's frame), all of it held while the frame is.
    return bytes(memoryview(_COMPRESS.compress(raw)))


def decompress(blob: bytes) -> bytes:
    """The bytes :func:`compress` was given, from its frame; bytes that are not a zstd frame
    (a record stored before records were compressed) as they are. Raises ``ValueError`` for a
    frame written with a dictionary this code does not have."""
    if not blob.startswith(_ZSTD_MAGIC):
        return blob
    dictionary = frame_dictionary(blob)
    reader = _DECOMPRESS.get(dictionary)
    if reader is None:
        known = ", ".join(map(str, sorted(_DICTIONARIES)))
        raise ValueError(
            f"customer record compressed with zstd dictionary {dictionary}; this code has "
            f"dictionaries {known}: run a version of riskstream that ships "
            f"{DICTIONARY_FILE.format(dictionary)}"
        )
    return reader.decompress(blob)


def frame_dictionary(blob: bytes) -> int:
    """The id of the dictionary the zstd frame ``blob`` was written with (0: none)."""
    return zstandard.get_frame_parameters(blob).dict_id
