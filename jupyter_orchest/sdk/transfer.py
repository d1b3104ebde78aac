"""Passing data between steps: ``output`` in a parent, ``get_inputs`` in its children.

Unlike Orchest, where each output call replaces the step's only output, a step here keeps every
output of its run: one per name (outputting a name again replaces it) and any number unnamed.
The engine clears a step's outputs before each run of it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .definition import incoming_steps, read_pipeline, step_title
from .environment import current_step
from .errors import DataInvalidNameError, InputNameCollisionError, OutputNotFoundError
from .manifest import RESERVED_NAME, OutputRecord
from .outputs import load_output, read_manifest, write_output
from .serialization import Serialization


def output(data: Any, name: str | None) -> None:
    """Output ``data`` for the children of this step, under ``name`` (None: unnamed).

    Children receive it from :func:`get_inputs`: under ``name``, or in the list of unnamed
    inputs. Arrow tables, record batches and pandas DataFrames are stored in Arrow's format,
    everything else with pickle.

    Raises DataInvalidNameError for a name that is not a string or None, or is ``"unnamed"``;
    SerializationError when ``data`` cannot be pickled; StepUUIDResolveError when not running
    as a pipeline step.
    """
    output_to_disk(data, name)


def output_to_disk(data: Any, name: str | None, serialization: Serialization | None = None) -> None:
    """Output ``data`` as :func:`output` does.

    With ``serialization``, ``data`` is already serialized (bytes or a buffer such as a
    ``pyarrow.Buffer``) in that serialization and is stored as it is.
    """
    _check_name(name)
    step = current_step()
    folder = step.step_outputs_dir(step.step_uuid)
    write_output(folder, step.step_uuid, step.run_uuid, data, name, serialization)


def output_to_memory(data: Any, name: str | None, disk_fallback: bool = True) -> None:
    """Output ``data`` as :func:`output` does: to disk.

    Orchest's in-memory store does not exist here (Orchest itself dropped it), so this writes
    to disk like :func:`output_to_disk`; ``disk_fallback`` is accepted and has no effect.
    """
    output_to_disk(data, name)


def get_inputs(ignore_failure: bool = False, verbose: bool = False) -> dict[str, Any]:
    """Everything the parents of this step output, by name.

    Unnamed outputs are under ``"unnamed"``, in a list ordered by the step's incoming
    connections and, within a parent, by when they were output::

        {"unnamed": ["Hello", (3, 4)], "clean": <DataFrame>, "raw": <pyarrow.Table>}

    With ``ignore_failure``, an output whose file is missing or incomplete is None instead of
    an error. With ``verbose``, prints the steps data was received from.

    Raises OutputNotFoundError when a parent has output nothing (it must run first),
    InputNameCollisionError when several parents output the same name (nothing is read then),
    InvalidMetaDataError when a parent's list of outputs is corrupt, DeserializationError when
    an output cannot be read back.
    """
    step = current_step()
    pipeline = read_pipeline(step)
    parents: list[tuple[str, str, list[OutputRecord]]] = []
    for parent in incoming_steps(pipeline, step.step_uuid):
        title = step_title(pipeline, parent)
        outputs = read_manifest(step.step_outputs_dir(parent))
        if outputs is None:
            raise OutputNotFoundError(
                f'Output from incoming step "{title}" ("{parent}") cannot be found. Run step '
                f'"{title}" first, then this step again.'
            )
        parents.append((parent, title, outputs))
    _check_collisions(parents)

    inputs: dict[str, Any] = {RESERVED_NAME: []}
    for parent, title, outputs in parents:
        failed = False
        for record in outputs:
            label = (
                f'output "{record.name}"' if record.name is not None else "an unnamed output"
            ) + f' of step "{title}"'
            try:
                value = load_output(step.step_outputs_dir(parent), record, label)
            except OutputNotFoundError:
                if not ignore_failure:
                    raise
                value, failed = None, True
            if record.name is None:
                inputs[RESERVED_NAME].append(value)
            else:
                inputs[record.name] = value
        if verbose:
            outcome = "Failed to retrieve input" if failed else "Retrieved input"
            print(f'{outcome} from step: "{title}"')
    return inputs


def _check_name(name: object) -> None:
    if not isinstance(name, str | None):
        raise DataInvalidNameError("Name should be of type string or `None`.")
    if name == RESERVED_NAME:
        raise DataInvalidNameError(
            f"'{RESERVED_NAME}' is a reserved `name`: get_inputs() lists unnamed outputs under "
            "it. Use another name, or None for an unnamed output."
        )


def _check_collisions(parents: list[tuple[str, str, list[OutputRecord]]]) -> None:
    """Raise InputNameCollisionError if two parents output a name, before any data is read."""
    titles_by_name: dict[str, list[str]] = defaultdict(list)
    for _, title, outputs in parents:
        for record in outputs:
            if record.name is not None:
                titles_by_name[record.name].append(title)
    collisions = {name: titles for name, titles in titles_by_name.items() if len(titles) > 1}
    if collisions:
        lines = "".join(f"\n{name}: {sorted(titles)}" for name, titles in collisions.items())
        raise InputNameCollisionError(
            f"Name collisions between input data coming from different steps: {lines}"
        )
