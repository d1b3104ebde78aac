"""Every check a pipeline definition must pass before it is used or saved.

:func:`validate_definition` accepts any Python object and never raises; it reports problems as
:class:`ValidationIssue` values sorted by JSON pointer.
"""

from __future__ import annotations

import functools
import json
import math
import posixpath
import re
from importlib import resources
from typing import Any

from ._wording import (
    describe,
    escape_pointer_part,
    quote,
    sentence,
    step_name,
    step_of_pointer,
    step_title,
)
from .definition import FORMAT_VERSION
from .errors import PipelineValidationError, ValidationIssue
from .graph import PipelineGraph, connection_issues
from .output_files import pattern_problem

SUPPORTED_EXTENSIONS = (".ipynb", ".py", ".sh", ".R", ".r", ".jl", ".js")

# Deep enough for any real parameter value, shallow enough that the JSON encoder, which
# recurses, can always write a document that passed.
MAX_NESTING = 200

_READABLE_VERSION = re.compile(r"1(\.[0-9]+){0,2}")
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:")
# Backslashes count as separators too, so a path typed on Windows cannot slip a "..\" past
# the check for paths leaving the project.
_PATH_SEPARATORS = re.compile(r"[\\/]")

_TYPE_WORDS = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}

_REQUIRED_HINTS = {
    "file_path": ' (use "" if the step has no file yet)',
    "incoming_connections": " (use [] for a step without incoming connections)",
}


def pipeline_schema() -> dict[str, Any]:
    """The JSON Schema of the pipeline format, as shipped in this package."""
    text = (
        resources.files("jupyter_orchest.pipeline")
        .joinpath("pipeline.schema.json")
        .read_text(encoding="utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_definition(doc: object, *, pipeline_dir: str = "") -> list[ValidationIssue]:
    """Every problem in ``doc``; an empty list means it can be used and saved.

    ``pipeline_dir`` is the folder of the pipeline file relative to its project folder, in posix
    form ("" at the project root); step file paths are resolved from it to find those that
    point outside the project.
    """
    issues = _non_json_issues(doc)
    # Later checks assume JSON data; a set or a list containing itself would derail them.
    if not issues:
        issues = list(_schema_issues_of_json(json.dumps(doc)))
        if isinstance(doc, dict):
            issues += _version_issues(doc.get("version"))
            steps = doc.get("steps")
            if isinstance(steps, dict):
                issues += _step_issues(steps, pipeline_dir)
    return sorted(issues, key=lambda issue: (issue.pointer, issue.rule, issue.message))


def ensure_valid(doc: object, *, pipeline_dir: str = "") -> None:
    """Raise :class:`PipelineValidationError` listing every problem in ``doc``, if any."""
    issues = validate_definition(doc, pipeline_dir=pipeline_dir)
    if issues:
        raise PipelineValidationError(issues)


def _where(pointer: str, doc: object) -> str:
    if not pointer:
        return "The pipeline definition"
    where = f"`{pointer}`"
    step_uuid = step_of_pointer(pointer)
    steps = doc.get("steps") if isinstance(doc, dict) else None
    if step_uuid is not None and isinstance(steps, dict):
        title = step_title(steps.get(step_uuid))
        if title:
            where += f" (step {quote(title)})"
    return where


def _non_json_issues(doc: object) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []

    def report(pointer: str, problem: str) -> None:
        message = f"{_where(pointer, doc)} {problem}."
        issues.append(ValidationIssue(pointer, message, "schema", step_of_pointer(pointer)))

    on_path: set[int] = set()
    checked: set[int] = set()
    # Entries are (leaving, value, pointer, depth); iterative so depth costs no stack.
    pending: list[tuple[bool, object, str, int]] = [(False, doc, "", 0)]
    while pending:
        leaving, value, pointer, depth = pending.pop()
        if leaving:
            on_path.discard(id(value))
            checked.add(id(value))
        elif isinstance(value, dict | list):
            if id(value) in on_path:
                report(pointer, "contains itself, which JSON cannot represent")
            elif depth > MAX_NESTING:
                report(pointer, f"nests lists or objects more than {MAX_NESTING} levels deep")
            elif id(value) not in checked:
                on_path.add(id(value))
                pending.append((True, value, pointer, depth))
                items = value.items() if isinstance(value, dict) else enumerate(value)
                for key, item in items:
                    if isinstance(value, dict) and not isinstance(key, str):
                        report(pointer, f"has the key {describe(key)}; JSON keys must be strings")
                        continue
                    item_pointer = f"{pointer}/{escape_pointer_part(key)}"
                    pending.append((False, item, item_pointer, depth + 1))
        elif isinstance(value, float) and not math.isfinite(value):
            report(pointer, f"must be a finite number, got {describe(value)}")
        elif isinstance(value, int) and not _writable_int(value):
            report(pointer, "is a number with too many digits to be written")
        elif not isinstance(value, str | int | float | None):
            report(
                pointer,
                "must be a JSON value (a string, number, true or false, null, list or object), "
                f"got {describe(value)}",
            )
    return issues


def _writable_int(value: int) -> bool:
    try:
        int.__repr__(value)
    except ValueError:
        return False
    return True


@functools.cache
def _schema_validator() -> Any:
    # Imported here: importing jsonschema costs about a second (its format checkers build
    # grammars), which command-line tools that never validate should not pay.
    import jsonschema

    return jsonschema.Draft202012Validator(pipeline_schema())


@functools.lru_cache(maxsize=64)
def _schema_issues_of_json(text: str) -> tuple[ValidationIssue, ...]:
    """The schema's verdict on a document, by its JSON text: a pipeline is validated on every
    read (each run reads it), and the schema check costs milliseconds for an unchanged file."""
    return tuple(_schema_issues(json.loads(text)))


def _schema_issues(doc: object) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    missing_reported: set[str] = set()
    for error in _schema_validator().iter_errors(doc):
        pointer = "".join(f"/{escape_pointer_part(part)}" for part in error.absolute_path)
        if error.validator == "required":
            if pointer not in missing_reported:
                missing_reported.add(pointer)
                issues += _missing_key_issues(doc, pointer, error.instance, error.validator_value)
            continue
        message = f"{_where(pointer, doc)} {_schema_problem(error)}."
        issues.append(ValidationIssue(pointer, message, "schema", step_of_pointer(pointer)))
    return issues


def _missing_key_issues(
    doc: object, pointer: str, instance: dict[str, Any], required: list[str]
) -> list[ValidationIssue]:
    issues = []
    for key in required:
        if key not in instance:
            message = (
                f"{_where(pointer, doc)} is missing the required key {quote(key)}"
                f"{_REQUIRED_HINTS.get(key, '')}."
            )
            key_pointer = f"{pointer}/{escape_pointer_part(key)}"
            issues.append(ValidationIssue(key_pointer, message, "schema", step_of_pointer(pointer)))
    return issues


def _schema_problem(error: Any) -> str:
    """The broken rule, in words, for one jsonschema error on our schema's keywords."""
    keyword, expected, got = error.validator, error.validator_value, describe(error.instance)
    description = error.schema.get("description")
    if keyword == "type":
        words = [
            _TYPE_WORDS.get(t, t) for t in ([expected] if isinstance(expected, str) else expected)
        ]
        return f"must be {' or '.join(words)}, got {got}"
    if keyword == "enum":
        return f"must be one of {', '.join(json.dumps(v) for v in expected)}, got {got}"
    if keyword == "minimum":
        return f"must be at least {expected}, got {got}"
    if keyword == "maximum":
        return f"must be at most {expected}, got {got}"
    if keyword in ("minItems", "maxItems") and isinstance(error.instance, list):
        got = f"a list of {len(error.instance)}"
    if isinstance(description, str):
        return f"{description}; got {got}"
    return f"does not fit the pipeline format (its {keyword!r} rule), got {got}"


def _version_issues(version: object) -> list[ValidationIssue]:
    if not isinstance(version, str) or _READABLE_VERSION.fullmatch(version):
        return []
    major = version.split(".", 1)[0]
    # Compared as text: int() refuses numbers past Python's digit limit.
    if major.isdecimal() and major.isascii() and major.lstrip("0") not in ("", "1"):
        message = (
            f"This pipeline uses format version {quote(version)}, which is newer than this "
            "version of jupyter-orchest can read (1.x); update jupyter-orchest to open it."
        )
    else:
        message = (
            f"The format version {quote(version)} is not one jupyter-orchest can read; "
            f'Orchest pipelines use "{FORMAT_VERSION}".'
        )
    return [ValidationIssue("/version", message, "unsupported-version")]


def _step_issues(steps: dict[str, Any], pipeline_dir: str) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    parents: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    for key, step in steps.items():
        parents[key] = []
        if not isinstance(step, dict):
            continue
        title = step_title(step)
        if title:
            titles[key] = title
        name = step_name(key, title)
        uuid = step.get("uuid")
        if isinstance(uuid, str) and uuid != key:
            message = (
                f"{sentence(name)} is stored under the key {quote(key)} but its uuid is "
                f"{quote(uuid)}; the two must be equal, so set its uuid to {quote(key)}."
            )
            pointer = f"/steps/{escape_pointer_part(key)}/uuid"
            issues.append(ValidationIssue(pointer, message, "uuid-mismatch", key))
        file_path = step.get("file_path")
        if isinstance(file_path, str) and file_path:
            issues += _file_path_issues(key, name, file_path, pipeline_dir)
        output_files = step.get("output_files")
        if isinstance(output_files, list):
            issues += _output_files_issues(key, name, output_files)
        incoming = step.get("incoming_connections")
        if isinstance(incoming, list):
            parents[key] = [p for p in incoming if isinstance(p, str) and p in steps and p != key]
    issues += connection_issues(steps)
    # The graph leaves out the connections just reported, so a self-connection is not also
    # reported as a cycle.
    graph = PipelineGraph(parents, titles)
    issues += [graph.cycle_issue(cycle) for cycle in graph.find_cycles()]
    return issues


def _file_path_issues(
    key: str, name: str, file_path: str, pipeline_dir: str
) -> list[ValidationIssue]:
    issues = []
    pointer = f"/steps/{escape_pointer_part(key)}/file_path"
    parts = _PATH_SEPARATORS.split(file_path)
    if file_path[:1] in ("/", "\\") or _WINDOWS_DRIVE.match(file_path):
        message = (
            f"{sentence(name)} uses the absolute file path {quote(file_path)}; file paths are "
            f"relative to the folder of the pipeline file, for example {quote(parts[-1])}."
        )
        issues.append(ValidationIssue(pointer, message, "file-path-absolute", key))
    elif _escapes(parts, _PATH_SEPARATORS.split(pipeline_dir)):
        message = (
            f"{sentence(name)} uses {quote(file_path)}, which is outside the project folder; "
            "steps can only use files inside the project, so move or copy the file into it."
        )
        issues.append(ValidationIssue(pointer, message, "file-path-escapes-project", key))
    if posixpath.splitext(parts[-1])[1] not in SUPPORTED_EXTENSIONS:
        message = (
            f"{sentence(name)} uses {quote(file_path)}, but a step runs a notebook or a script: "
            "the file name must end in .ipynb, .py, .sh, .R (or .r), .jl or .js."
        )
        issues.append(ValidationIssue(pointer, message, "unsupported-extension", key))
    return issues


def _output_files_issues(key: str, name: str, patterns: list[Any]) -> list[ValidationIssue]:
    issues = []
    for index, pattern in enumerate(patterns):
        problem = pattern_problem(pattern) if isinstance(pattern, str) else None
        if problem is not None:
            message = (
                f"{sentence(name)} declares the output files {quote(pattern)}, which {problem}."
            )
            pointer = f"/steps/{escape_pointer_part(key)}/output_files/{index}"
            issues.append(ValidationIssue(pointer, message, "output-files-pattern", key))
    return issues


def _escapes(file_parts: list[str], pipeline_dir_parts: list[str]) -> bool:
    """Whether a relative path, taken from the pipeline's folder, leaves the project folder.

    Leaving it and coming back (``../project/x``) counts too: the project folder's own name is
    not known here, and Orchest mounts only the project.
    """
    depth = 0
    for part in pipeline_dir_parts:
        if part == "..":
            depth = max(depth - 1, 0)
        elif part not in ("", "."):
            depth += 1
    for part in file_parts:
        if part == "..":
            if depth == 0:
                return True
            depth -= 1
        elif part not in ("", "."):
            depth += 1
    return False
