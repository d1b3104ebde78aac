"""The text of ``*.orchest`` files: parsing it strictly and writing it exactly as Orchest does.

Structure is not checked here; that is :mod:`jupyter_orchest.pipeline.validation`.
"""

from __future__ import annotations

import json
import uuid as uuid_module
from collections.abc import Mapping
from typing import Any

from ._wording import describe, escape_pointer_part, quote, step_name, step_of_pointer, step_title
from .errors import PipelineValidationError, Rule, ValidationIssue

FORMAT_VERSION = "1.0.0"


class _NonStandardNumber(ValueError):
    pass


class _ObjectWithRepeatedKeys(dict[str, Any]):
    """A parsed JSON object whose text gave some keys more than once."""

    def __init__(self, pairs: list[tuple[str, Any]], repeated: list[str]) -> None:
        super().__init__(pairs)
        self.repeated = repeated


def _build_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    repeated: list[str] = []
    for key, _ in pairs:
        if key in seen and key not in repeated:
            repeated.append(key)
        seen.add(key)
    return _ObjectWithRepeatedKeys(pairs, repeated)


def _reject_constant(name: str) -> Any:
    raise _NonStandardNumber(name)


def parse_definition(text: str) -> dict[str, Any]:
    """Parse the text of a pipeline file into a JSON object.

    Raises :class:`PipelineValidationError` (and nothing else) when the text is not JSON, repeats
    a key in an object (readers disagree about which value wins, so the file is ambiguous), uses
    NaN or Infinity (not JSON; browsers refuse them), or does not hold an object at the top.
    """
    # Some Windows editors start UTF-8 files with a byte order mark; it carries no content.
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise _single_issue(
            "invalid-json", "The file is empty; a pipeline definition is a JSON object."
        )
    try:
        doc = json.loads(text, object_pairs_hook=_build_object, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise _single_issue(
            "invalid-json",
            f"The file is not valid JSON: {error.msg[:1].lower()}{error.msg[1:]} at line "
            f"{error.lineno}, column {error.colno}.",
        ) from None
    except _NonStandardNumber as error:
        raise _single_issue(
            "invalid-json",
            f"The file contains {error}, which is not valid JSON; use null or a number instead.",
        ) from None
    except ValueError:
        raise _single_issue(
            "invalid-json", "The file contains a number with too many digits to be read."
        ) from None
    except RecursionError:
        raise _single_issue(
            "invalid-json", "The file nests lists or objects too deeply to be read."
        ) from None

    repeated = _repeated_key_issues(doc)
    if repeated:
        raise PipelineValidationError(repeated)
    if not isinstance(doc, dict):
        raise _single_issue(
            "schema",
            f"A pipeline definition must be a JSON object ({{...}}), but the file holds "
            f"{describe(doc)}.",
        )
    return doc


def dump_definition(doc: Mapping[str, Any]) -> str:
    """The text Orchest would write for ``doc``: 4-space indent, sorted keys, no final newline.

    Validate first: values JSON cannot hold raise TypeError or ValueError here.
    """
    return json.dumps(doc, indent=4, sort_keys=True, allow_nan=False)


def new_definition(name: str, uuid: str | None = None) -> dict[str, Any]:
    """An empty pipeline with the settings Orchest gives a new one."""
    return {
        "name": name,
        "uuid": uuid if uuid is not None else str(uuid_module.uuid4()),
        "version": FORMAT_VERSION,
        "settings": {"auto_eviction": False, "data_passing_memory_size": "1GB"},
        "parameters": {},
        "services": {},
        "steps": {},
    }


def _single_issue(rule: Rule, message: str) -> PipelineValidationError:
    return PipelineValidationError([ValidationIssue(pointer="", message=message, rule=rule)])


def _repeated_key_issues(doc: object) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    # Iterative: the decoder accepts nesting deeper than Python's recursion limit allows here.
    pending: list[tuple[object, str]] = [(doc, "")]
    while pending:
        value, pointer = pending.pop()
        if isinstance(value, dict):
            if isinstance(value, _ObjectWithRepeatedKeys):
                issues.extend(_repeated_key_issue(doc, pointer, key) for key in value.repeated)
            pending.extend((v, f"{pointer}/{escape_pointer_part(k)}") for k, v in value.items())
        elif isinstance(value, list):
            pending.extend((v, f"{pointer}/{i}") for i, v in enumerate(value))
    return sorted(issues, key=lambda issue: issue.pointer)


def _repeated_key_issue(doc: object, pointer: str, key: str) -> ValidationIssue:
    issue_pointer = f"{pointer}/{escape_pointer_part(key)}"
    step_uuid = step_of_pointer(issue_pointer)
    where = f"in `{pointer}`" if pointer else "at the top level of the file"
    steps = doc.get("steps") if isinstance(doc, dict) else None
    if step_uuid is not None and isinstance(steps, dict):
        where += f" ({step_name(step_uuid, step_title(steps.get(step_uuid)))})"
    return ValidationIssue(
        pointer=issue_pointer,
        message=(
            f"The key {quote(key)} appears more than once {where}; programs disagree about "
            "which one counts, so keep only one."
        ),
        rule="duplicate-key",
        step=step_uuid,
    )
