"""A step's outputs folder: ``<outputs dir>/<step uuid>/``, its data files and its manifest.

A step may output several values in one run, each under its own name; outputting a name
again replaces that output in place, and unnamed outputs accumulate in order. Data files are
written before the manifest that lists them, each atomically, so a reader sees either the old
list of outputs or the new one, with every listed file complete.
"""

from __future__ import annotations

import os
import time
from contextlib import suppress
from typing import Any

from .atomic import folder_lock, write_atomic, write_bytes_atomic
from .errors import DeserializationError, DiskOutputNotFoundError, InvalidMetaDataError
from .manifest import (
    MANIFEST_FILE,
    OutputRecord,
    data_file_name,
    dump_manifest,
    parse_manifest,
)
from .serialization import Serialization, decode, encode


def write_output(
    step_dir: str,
    step_uuid: str,
    run_uuid: str,
    data: Any,
    name: str | None,
    serialization: Serialization | None = None,
) -> OutputRecord:
    """Store ``data`` as the output ``name`` (None: a new unnamed output) in ``step_dir``."""
    # Serialization problems found before the lock is taken and anything is written.
    encoding = encode(data, serialization)
    os.makedirs(step_dir, exist_ok=True)
    with folder_lock(step_dir):
        outputs = read_manifest(step_dir) or []
        number = 1 + max((record.number for record in outputs), default=-1)
        file = data_file_name(number, encoding.serialization)
        path = os.path.join(step_dir, file)
        size = write_atomic(path, encoding.write)
        record = OutputRecord(
            name=name,
            file=file,
            serialization=encoding.serialization,
            size=size,
            run_uuid=run_uuid,
            written_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )
        position = next(
            (i for i, old in enumerate(outputs) if name is not None and old.name == name), None
        )
        replaced = None
        if position is None:
            outputs.append(record)
        else:
            replaced = outputs[position]
            outputs[position] = record
        try:
            manifest = dump_manifest(step_uuid, outputs).encode("utf-8")
            write_bytes_atomic(os.path.join(step_dir, MANIFEST_FILE), manifest)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(path)
            raise
        if replaced is not None:
            # A reader that mapped the old file keeps its data: unlinking frees it only later.
            with suppress(FileNotFoundError):
                os.unlink(os.path.join(step_dir, replaced.file))
    return record


def read_manifest(step_dir: str) -> list[OutputRecord] | None:
    """The outputs listed in ``step_dir``, or None if the step has output nothing there.

    Raises InvalidMetaDataError when the manifest exists but cannot be used.
    """
    path = os.path.join(step_dir, MANIFEST_FILE)
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except UnicodeDecodeError:
        raise InvalidMetaDataError(
            f"The list of outputs {path} is not UTF-8 text; rerun the step that wrote it."
        ) from None
    try:
        return parse_manifest(text)
    except InvalidMetaDataError as error:
        raise InvalidMetaDataError(
            f"The list of outputs {path} cannot be used: {error} Rerun the step that wrote it."
        ) from None


def load_output(step_dir: str, record: OutputRecord, label: str) -> Any:
    """The object stored for ``record``; ``label`` names the output in error messages.

    Raises DiskOutputNotFoundError when the file is missing or not of the size recorded, and
    DeserializationError when it cannot be read back.
    """
    path = os.path.join(step_dir, record.file)
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise DiskOutputNotFoundError(
            f"The file of {label} is missing; rerun the step to write it again."
        ) from None
    if size != record.size:
        raise DiskOutputNotFoundError(
            f"The file of {label} is incomplete ({size} of {record.size} bytes); rerun the step "
            "to write it again."
        )
    try:
        return decode(path, record.serialization)
    except DeserializationError as error:
        raise DeserializationError(f"Could not read {label}: {error}") from error.__cause__
    except Exception as error:
        raise DeserializationError(
            f"Could not read {label}: {type(error).__name__}: {error}"
        ) from error
