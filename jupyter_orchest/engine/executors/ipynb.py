"""Reading and writing `.ipynb` files (format 4) as JupyterLab saves them, without nbformat:
importing nbformat imports jsonschema, whose format checkers take a second or more to build
their grammars, and a command-line run should not wait for that.

A notebook is kept as the JSON it is, so everything this module does not touch is written
back as it was read; the text is laid out exactly as nbformat lays it out (keys sorted, one
space of indentation, multi-line strings as lists of lines), so a file saved by JupyterLab
changes only where outputs changed.
"""

import json
from pathlib import Path
from typing import Any

Notebook = dict[str, Any]
Cell = dict[str, Any]
Output = dict[str, Any]

CELL_TYPES = ("code", "markdown", "raw")
SPLIT_MIME_TYPES = ("application/javascript", "image/svg+xml")
"""Besides text/*: the mime types whose values nbformat stores as lists of lines."""


class NotebookError(Exception):
    """The file cannot be run as a notebook; the message says why, for the user."""


def load(path: Path) -> Notebook:
    """The notebook in the file, laid out as it will be saved; NotebookError if there is no
    notebook in the file (missing, not JSON, not a notebook of format 4)."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotebookError(f"the notebook {path} does not exist") from None
    except UnicodeDecodeError:
        raise NotebookError(f"{name} is not a notebook: it is not UTF-8 text") from None
    except OSError as error:
        raise NotebookError(f"cannot read {path}: {error.strerror}") from None
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotebookError(
            f"{name} is not a notebook: it is not valid JSON "
            f"({error.msg} at line {error.lineno}, column {error.colno})"
        ) from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("nbformat"), int):
        raise NotebookError(f"{name} is not a Jupyter notebook: it has no nbformat version")
    version = notebook["nbformat"]
    if version != 4:
        hint = "; open it in JupyterLab and save it to convert it" if version < 4 else ""
        raise NotebookError(f"{name} is in notebook format {version}, not 4{hint}")
    problem = _structure_problem(notebook)
    if problem:
        raise NotebookError(f"{name} is not a valid notebook: {problem}")
    _lay_out(notebook)
    return notebook


def dumps(notebook: Notebook) -> str:
    """The file's text, as nbformat (and so JupyterLab) writes it."""
    text = json.dumps(
        notebook,
        sort_keys=True,
        indent=1,
        separators=(",", ": "),
        ensure_ascii=False,
        default=_as_json,
    )
    return text + "\n"


def source(cell: Cell) -> str:
    value = cell["source"]
    return value if isinstance(value, str) else "".join(value)


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def split_mime_bundle(data: dict[str, Any]) -> dict[str, Any]:
    """A mime bundle (display data) as nbformat stores it."""
    return {
        kind: lines(value)
        if isinstance(value, str) and (kind.startswith("text/") or kind in SPLIT_MIME_TYPES)
        else value
        for kind, value in data.items()
    }


class StreamText:
    """The text of a stream output while it grows, as a terminal (and JupyterLab) shows it: a
    carriage return goes back to the start of the line, and what follows overwrites it.
    Appending costs the length of the new text, not of all the text so far."""

    def __init__(self) -> None:
        self._complete: list[str] = []
        self._last_line = ""

    def append(self, text: str) -> None:
        text = apply_carriage_returns(self._last_line + text)
        end = text.rfind("\n") + 1
        if end:
            self._complete.append(text[:end])
        self._last_line = text[end:]

    def __str__(self) -> str:
        return "".join(self._complete) + self._last_line


def apply_carriage_returns(text: str) -> str:
    """Each line of the text as shown once its carriage returns have moved the cursor back.
    A carriage return at the very end is kept: what comes next overwrites that line too."""
    if "\r" not in text:
        return text
    shown_lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        shown = ""
        for piece in line.split("\r"):
            shown = piece + shown[len(piece) :]
        shown_lines.append(shown + ("\r" if line.endswith("\r") else ""))
    return "\n".join(shown_lines)


def _as_json(value: object) -> object:
    if isinstance(value, StreamText):
        return lines(str(value))
    raise TypeError(f"{type(value).__name__} is not JSON")


def _structure_problem(notebook: Notebook) -> str | None:
    """What keeps the notebook from being run and saved, if anything. Metadata outside the
    schema is not a problem: JupyterLab opens such notebooks too."""
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        return "it has no list of cells"
    if not isinstance(notebook.get("metadata", {}), dict):
        return "its metadata is not an object"
    for position, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            return f"cell {position} is not an object"
        if cell.get("cell_type") not in CELL_TYPES:
            return f"cell {position} has no cell_type among {', '.join(CELL_TYPES)}"
        text = cell.get("source")
        if not isinstance(text, str) and not (
            isinstance(text, list) and all(isinstance(line, str) for line in text)
        ):
            return f"the source of cell {position} is not text"
        if not isinstance(cell.get("metadata", {}), dict):
            return f"the metadata of cell {position} is not an object"
        if cell["cell_type"] == "code" and not isinstance(cell.get("outputs", []), list):
            return f"the outputs of cell {position} are not a list"
    return None


def _lay_out(notebook: Notebook) -> None:
    """What nbformat does to every notebook it writes: multi-line strings become lists of
    lines, and values that only live in memory go."""
    metadata = notebook.setdefault("metadata", {})
    for transient in ("orig_nbformat", "orig_nbformat_minor", "signature"):
        metadata.pop(transient, None)
    for cell in notebook["cells"]:
        cell.setdefault("metadata", {}).pop("trusted", None)
        if isinstance(cell["source"], str):
            cell["source"] = lines(cell["source"])
        for attachment in cell.get("attachments", {}).values():
            if isinstance(attachment, dict):
                attachment.update(split_mime_bundle(attachment))
        if cell["cell_type"] != "code":
            continue
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
        for output in cell["outputs"]:
            if not isinstance(output, dict):
                continue
            if output.get("output_type") in ("execute_result", "display_data"):
                if isinstance(output.get("data"), dict):
                    output["data"] = split_mime_bundle(output["data"])
            elif output.get("output_type") == "stream" and isinstance(output.get("text"), str):
                output["text"] = lines(output["text"])
