"""How one output is turned into a file and back.

Arrow tables and record batches are written in Arrow's IPC file format and read back through a
memory map, so a child step gets them without copying. pandas DataFrames travel the same way
and come back as DataFrames. Everything else is pickled.

pyarrow and pandas are imported only when the data needs them: a step using plain Python
objects never pays for them and may run where they are not installed.
"""

from __future__ import annotations

import importlib
import pickle
import sys
from collections.abc import Callable
from enum import Enum
from typing import Any, BinaryIO, NamedTuple

from .errors import DeserializationError, SerializationError


class Serialization(Enum):
    """How an output is stored; the first three are Orchest's, with Orchest's values."""

    ARROW_TABLE = 0
    ARROW_BATCH = 1
    PICKLE = 2
    PANDAS_DATAFRAME = 3
    """A DataFrame stored as an Arrow table; read back as a DataFrame. Not in Orchest."""

    @property
    def file_extension(self) -> str:
        return ".pickle" if self is Serialization.PICKLE else ".arrow"


class Encoding(NamedTuple):
    """An output ready to be written: how it is stored, and what writes it to a file."""

    serialization: Serialization
    write: Callable[[BinaryIO], object]


# The first bytes of an Arrow IPC file; Arrow IPC streams (what Orchest writes) start otherwise.
_ARROW_FILE_MAGIC = b"ARROW1"


def encode(data: Any, serialization: Serialization | None = None) -> Encoding:
    """Choose how to store ``data``.

    With a ``serialization``, ``data`` is taken to be already serialized (bytes or any buffer,
    such as a ``pyarrow.Buffer``) and is written as it is, as Orchest's ``output_to_disk`` does.
    Arrow data may then be in the IPC file or stream format.
    """
    if serialization is not None:
        if not isinstance(serialization, Serialization):
            raise ValueError(f"{serialization!r} is not a Serialization.")
        try:
            view = memoryview(data)
        except TypeError:
            raise SerializationError(
                "With a serialization given, the data must already be serialized (bytes or a "
                f"buffer), not a {type(data).__name__}."
            ) from None
        return Encoding(serialization, lambda stream: stream.write(view))

    table_class = _loaded_class("pyarrow", "Table")
    batch_class = _loaded_class("pyarrow", "RecordBatch")
    if table_class is not None and isinstance(data, table_class):
        return Encoding(Serialization.ARROW_TABLE, lambda stream: _write_arrow(stream, data))
    if batch_class is not None and isinstance(data, batch_class):
        return Encoding(Serialization.ARROW_BATCH, lambda stream: _write_arrow(stream, data))
    frame_class = _loaded_class("pandas", "DataFrame")
    if frame_class is not None and isinstance(data, frame_class):
        table = _dataframe_as_table(data)
        if table is not None:
            return Encoding(
                Serialization.PANDAS_DATAFRAME, lambda stream: _write_arrow(stream, table)
            )
    return Encoding(Serialization.PICKLE, lambda stream: _write_pickle(stream, data))


def decode(path: str, serialization: Serialization) -> Any:
    """The object stored in the file ``path``.

    Errors are not wrapped here; the caller knows which output of which step this is.
    """
    if serialization is Serialization.PICKLE:
        with open(path, "rb") as stream:
            return pickle.load(stream)
    table = _read_arrow(path, serialization)
    if serialization is Serialization.PANDAS_DATAFRAME:
        return table.to_pandas()
    return table


def _loaded_class(module: str, name: str) -> type | None:
    """``module.name`` if ``module`` is already imported, else None.

    An object of a pyarrow or pandas class can only exist once its module was imported, so
    looking in ``sys.modules`` recognises them (subclasses included) without importing anything.
    """
    cls = getattr(sys.modules.get(module), name, None)
    return cls if isinstance(cls, type) else None


def _write_pickle(stream: BinaryIO, data: Any) -> None:
    try:
        pickle.dump(data, stream, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        # TypeError and AttributeError are what pickle raises for locks, lambdas, local classes.
        raise SerializationError(
            f"Could not pickle data of type {type(data).__name__}: {error}"
        ) from error


def _write_arrow(stream: BinaryIO, data: Any) -> None:
    ipc = importlib.import_module("pyarrow.ipc")
    with ipc.new_file(stream, data.schema) as writer:
        writer.write(data)


def _dataframe_as_table(frame: Any) -> Any:
    """``frame`` as an Arrow table, or None if Arrow could not give the same DataFrame back.

    Then the DataFrame is pickled instead: slower, but the child gets what the parent output.
    """
    try:
        pa = importlib.import_module("pyarrow")
    except ImportError:
        return None
    # Arrow turns column labels into strings, so other labels (1, None, dates) would come back
    # changed; pyarrow only warns about that.
    if not all(_is_text_label(label) for label in frame.columns):
        return None
    try:
        return pa.Table.from_pandas(frame)
    except (pa.ArrowException, ValueError, TypeError, NotImplementedError):
        # Columns of mixed types, repeated column names, objects Arrow has no type for.
        return None


def _is_text_label(label: object) -> bool:
    if isinstance(label, tuple):  # a level of MultiIndex columns
        return all(isinstance(part, str) for part in label)
    return isinstance(label, str)


def _read_arrow(path: str, serialization: Serialization) -> Any:
    try:
        pa = importlib.import_module("pyarrow")
        ipc = importlib.import_module("pyarrow.ipc")
    except ImportError as error:
        raise DeserializationError(
            "This output is Arrow data; install pyarrow in this step's environment to read it."
        ) from error
    # The table's buffers point into the mapping, which they keep alive after the file closes.
    with pa.memory_map(path, "r") as source:
        is_file_format = source.read(len(_ARROW_FILE_MAGIC)) == _ARROW_FILE_MAGIC
        source.seek(0)
        if is_file_format:
            reader = ipc.open_file(source)
            batches = [reader.get_batch(i) for i in range(reader.num_record_batches)]
        else:
            reader = ipc.open_stream(source)
            batches = list(reader)
        if serialization is Serialization.ARROW_BATCH:
            if len(batches) != 1:
                raise DeserializationError(
                    f"A record batch output holds {len(batches)} batches instead of one."
                )
            return batches[0]
        return pa.Table.from_batches(batches, schema=reader.schema)
