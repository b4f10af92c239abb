"""JSON Schema files for every event, generated from the contracts in this package.

Run ``python -m schemas.jsonschema`` after changing a contract; a test fails while the
files in ``schemas/jsonschema/`` differ from what the code generates.
"""

from pathlib import Path

import orjson
from pydantic import BaseModel

from detectors.delayed_labels import LabelledExample
from schemas.events import ALL_INPUT_EVENTS
from schemas.outputs import ALL_OUTPUT_EVENTS

SCHEMA_DIR = Path(__file__).with_name("jsonschema")


def _file_name(model: type[BaseModel]) -> str:
    type_field = model.model_fields["type"].default
    return f"{type_field}.schema.json"


def generate() -> dict[str, bytes]:
    """File name -> JSON Schema document, for every input and output event."""
    documents = {}
    # A labelled example is an output too, for the trainer (its contract lives beside the
    # predictions it labels).
    for model in (*ALL_INPUT_EVENTS, *ALL_OUTPUT_EVENTS, LabelledExample):
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"riskstream/{_file_name(model)}",
            **model.model_json_schema(mode="serialization"),
        }
        documents[_file_name(model)] = orjson.dumps(
            schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
        )
    return documents


def write(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(exist_ok=True)
    written = []
    for name, document in generate().items():
        path = directory / name
        path.write_bytes(document)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path)
