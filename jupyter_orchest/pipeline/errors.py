"""Problems found in a pipeline definition, in a form both people and programs can use."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ._wording import quote

Rule = Literal[
    "invalid-json",
    "duplicate-key",
    "schema",
    "uuid-mismatch",
    "unknown-connection",
    "self-connection",
    "duplicate-connection",
    "cycle",
    "file-path-absolute",
    "file-path-escapes-project",
    "unsupported-extension",
    "output-files-pattern",
    "unsupported-version",
    "unknown-step",
    "unknown-environment",
]
"""Stable identifiers of the problems; clients may switch on them, so never rename one."""


@dataclass(frozen=True)
class ValidationIssue:
    """One problem in a pipeline definition.

    ``pointer`` is a JSON pointer (RFC 6901) to the offending value, "" for the whole document;
    ``message`` is a sentence meant for the person who edits the pipeline; ``rule`` says which
    check failed; ``step`` is the uuid of the step concerned, if any.
    """

    pointer: str
    message: str
    rule: Rule
    step: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {
            "pointer": self.pointer,
            "message": self.message,
            "rule": self.rule,
            "step": self.step,
        }


class PipelineValidationError(ValueError):
    """A pipeline definition cannot be used; ``issues`` lists every problem found."""

    def __init__(self, issues: Iterable[ValidationIssue]) -> None:
        self.issues: list[ValidationIssue] = list(issues)
        super().__init__(self.issues)

    def __str__(self) -> str:
        count = len(self.issues)
        lines = [f"The pipeline definition has {count} problem{'s' if count != 1 else ''}:"]
        for issue in self.issues:
            where = f"{issue.pointer}: " if issue.pointer else ""
            lines.append(f"  - {where}{issue.message} [{issue.rule}]")
        return "\n".join(lines)


class UnknownStepError(PipelineValidationError, KeyError):
    """Step uuids that a pipeline does not have were asked for (rule "unknown-step").

    It is a KeyError too, so ``except KeyError`` around a lookup keeps working.
    """

    def __init__(self, uuids: Iterable[str]) -> None:
        self.uuids: list[str] = list(uuids)
        super().__init__(
            ValidationIssue(
                pointer="",
                message=f"The pipeline has no step with uuid {quote(uuid)}.",
                rule="unknown-step",
                step=uuid,
            )
            for uuid in self.uuids
        )
        # Exceptions are rebuilt from ``args`` when unpickled (e.g. sent back from a worker).
        self.args = (self.uuids,)
