"""The manifest: the list of a step's outputs, kept next to them as ``manifest.json``.

::

    {
      "version": 1,
      "step_uuid": "<uuid of the step that wrote the outputs>",
      "outputs": [
        {"name": "clean", "file": "0.arrow", "serialization": "ARROW_TABLE",
         "size": 1234, "run_uuid": "<run>", "written_at": "2024-05-01T12:00:00Z"},
        {"name": null, "file": "1.pickle", "serialization": "PICKLE", ...}
      ]
    }

Outputs are listed in the order they were first output; ``name`` is null for unnamed outputs.
File names are made by the SDK (a counter and an extension), never from the output's name, so
no name can reach outside the folder or clash with another. Readers reject anything else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from .errors import InvalidMetaDataError
from .serialization import Serialization

MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = 1
RESERVED_NAME = "unnamed"
"""The key of unnamed outputs in what ``get_inputs`` returns, so no output may be named so."""

_DATA_FILE_PATTERN = re.compile(r"(0|[1-9][0-9]{0,17})\.(arrow|pickle)")


class OutputRecord(NamedTuple):
    """One output of a step, as the manifest lists it."""

    name: str | None
    file: str
    serialization: Serialization
    size: int
    """The file's size in bytes, to notice a file cut short."""
    run_uuid: str
    written_at: str
    """When the output was written: UTC, ISO 8601, to the second."""

    @property
    def number(self) -> int:
        """The counter in the file's name."""
        return int(self.file.split(".", 1)[0])


def data_file_name(number: int, serialization: Serialization) -> str:
    return f"{number}{serialization.file_extension}"


def dump_manifest(step_uuid: str, outputs: Sequence[OutputRecord]) -> str:
    return json.dumps(
        {
            "version": MANIFEST_VERSION,
            "step_uuid": step_uuid,
            "outputs": [
                {
                    "name": record.name,
                    "file": record.file,
                    "serialization": record.serialization.name,
                    "size": record.size,
                    "run_uuid": record.run_uuid,
                    "written_at": record.written_at,
                }
                for record in outputs
            ],
        },
        indent=1,
    )


def parse_manifest(text: str) -> list[OutputRecord]:
    """The outputs a manifest lists; InvalidMetaDataError if it is not one this SDK wrote."""
    try:
        doc = json.loads(text)
    except ValueError as error:  # JSONDecodeError, and numbers too long to convert
        raise InvalidMetaDataError(f"It is not valid JSON ({error}).") from None
    except RecursionError:
        raise InvalidMetaDataError("It nests too deeply to be read.") from None
    if not isinstance(doc, dict):
        raise InvalidMetaDataError("It is not a JSON object.")
    if doc.get("version") != MANIFEST_VERSION:
        raise InvalidMetaDataError(
            f"Its version is {doc.get('version')!r}; this SDK reads version {MANIFEST_VERSION}."
        )
    entries = doc.get("outputs")
    if not isinstance(entries, list):
        raise InvalidMetaDataError('It has no "outputs" list.')
    records = [_parse_entry(entry, position) for position, entry in enumerate(entries)]
    for attribute in ("name", "file"):
        values = [getattr(r, attribute) for r in records if getattr(r, attribute) is not None]
        if len(set(values)) != len(values):
            raise InvalidMetaDataError(f"It lists the same {attribute} more than once.")
    return records


def _parse_entry(entry: Any, position: int) -> OutputRecord:
    where = f"Output {position}"
    if not isinstance(entry, dict):
        raise InvalidMetaDataError(f"{where} is not a JSON object.")
    name, file, serialization = entry.get("name"), entry.get("file"), entry.get("serialization")
    size, run_uuid, written_at = entry.get("size"), entry.get("run_uuid"), entry.get("written_at")
    if not (name is None or isinstance(name, str)) or name == RESERVED_NAME:
        raise InvalidMetaDataError(f"{where} has an invalid name {name!r}.")
    if not isinstance(file, str) or not _DATA_FILE_PATTERN.fullmatch(file):
        raise InvalidMetaDataError(f"{where} has an invalid file name {file!r}.")
    kind = Serialization.__members__.get(serialization) if isinstance(serialization, str) else None
    if kind is None:
        raise InvalidMetaDataError(f"{where} has an unknown serialization {serialization!r}.")
    if not file.endswith(kind.file_extension):
        raise InvalidMetaDataError(f"{where}'s file {file!r} does not match {serialization}.")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidMetaDataError(f"{where} has an invalid size {size!r}.")
    if not isinstance(run_uuid, str) or not isinstance(written_at, str):
        raise InvalidMetaDataError(f"{where} lacks its run uuid or time.")
    return OutputRecord(name, file, kind, size, run_uuid, written_at)
