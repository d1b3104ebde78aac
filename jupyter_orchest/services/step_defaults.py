"""A job's defaults for its steps' attempts (`retries`, `retry_delay`, `timeout`): each step of
the job's pipeline that does not set one of them itself gets the job's value.

The job writes them into its snapshot's pipeline file, where the engine reads every step's
own values: its runs try their steps exactly as a pipeline that said so itself, and each run's
copy of the pipeline file shows what its steps ran with.
"""

from typing import Any

from ..engine.model import ATTEMPT_KEYS

_RULES: dict[str, tuple[str, float, float | None, bool]] = {
    "retries": ("a whole number from 0 to 100", 0, 100, True),
    "retry_delay": ("a number of seconds from 0 to 86400", 0, 86400, False),
    "timeout": ("a number of seconds above 0", 0, None, False),
}
"""For each key: what it must be, its least and greatest values, and whether it is whole; as
the pipeline schema says of a step's own keys (a timeout of 0 is refused)."""


def parse_step_defaults(value: object) -> dict[str, int | float]:
    """The defaults a job's request gives (`{"retries": 2, "timeout": 600}`); ValueError
    saying what is wrong."""
    if value is None:
        return {}
    if not isinstance(value, dict) or set(value) - set(ATTEMPT_KEYS):
        raise ValueError(
            "`step_defaults` must be an object with any of retries, retry_delay and timeout."
        )
    defaults: dict[str, int | float] = {}
    for key, given in value.items():
        if given is None:
            continue
        what, least, most, whole = _RULES[key]
        fits = (
            isinstance(given, int | float)
            and not isinstance(given, bool)
            and (isinstance(given, int) or not whole)
            and given >= least
            and (key != "timeout" or given > least)
            and (most is None or given <= most)
        )
        if not fits:
            raise ValueError(f"`step_defaults.{key}` must be {what}, got {given!r}.")
        defaults[key] = given
    return defaults


def apply_step_defaults(definition: dict[str, Any], defaults: dict[str, int | float]) -> bool:
    """Give every step the defaults it does not set itself; whether any step changed."""
    changed = False
    for step in definition["steps"].values():
        for key, value in defaults.items():
            if key not in step:
                step[key] = value
                changed = True
    return changed
