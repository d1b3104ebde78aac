"""How values and steps are named in messages meant for people."""

from __future__ import annotations

import json
from collections.abc import Mapping

_MAX_QUOTED = 60


def quote(text: str) -> str:
    """Text in double quotes, escaped and shortened so one odd value cannot flood a message."""
    quoted = json.dumps(text, ensure_ascii=False)
    if len(quoted) <= _MAX_QUOTED:
        return quoted
    return quoted[: _MAX_QUOTED - 2] + '…"'


def describe(value: object) -> str:
    """A short rendering of any value: scalars as JSON, containers by kind only."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, int) and value.bit_length() > 128:
        # Writing out a huge integer is slow and, past Python's digit limit, raises.
        return "a very large number"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return f"a Python {type(value).__name__}"


def step_title(step: object) -> str | None:
    """The step's title, if it has a usable one."""
    if isinstance(step, Mapping):
        title = step.get("title")
        if isinstance(title, str) and title.strip():
            return title
    return None


def step_name(uuid: str, title: str | None) -> str:
    return f"step {quote(title)}" if title else f"the step with uuid {quote(uuid)}"


def escape_pointer_part(part: str | int) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def step_of_pointer(pointer: str) -> str | None:
    """The uuid of the step a JSON pointer lies in, if it lies in one."""
    parts = pointer.split("/")
    if len(parts) >= 3 and parts[0] == "" and parts[1] == "steps":
        return parts[2].replace("~1", "/").replace("~0", "~")
    return None


def sentence(text: str) -> str:
    """``text`` with its first letter capitalised, to start a sentence with a step's name."""
    return text[:1].upper() + text[1:]
