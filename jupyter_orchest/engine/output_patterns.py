"""A step's declared output files (its `output_files`): gitignore patterns saying which files
are the step's outputs whatever their times (a file copied with its old times, a hidden
writer's), and, with `!`, which are never recorded (scratch files).

Relative patterns are taken from the project folder; `/data/...` names the data folder and
`/project-dir/...` the project folder, as steps see them in Orchest. A pattern without a slash
matches at any depth, as in `.gitignore`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..pipeline.output_files import ROOT_PREFIXES


@dataclass(frozen=True)
class _RootPatterns:
    declared: Any
    """A pathspec of the patterns, negations included: what the step declares."""
    ignored: Any
    """A pathspec of the negated patterns only, made positive: what it never records."""


class OutputPatterns:
    """The compiled patterns of one step, per root ("project", "data")."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self._roots: dict[str, _RootPatterns] = {}
        if not patterns:
            return
        import pathspec  # only for steps that declare patterns

        lines: dict[str, list[str]] = {"project": [], "data": []}
        for pattern in patterns:
            negated = pattern.startswith("!")
            bare = pattern[1:] if negated else pattern
            root = "project"
            for prefix, named in ROOT_PREFIXES.items():
                if bare.startswith(prefix):
                    root, bare = named, "/" + bare[len(prefix) :]
            lines[root].append(("!" if negated else "") + bare)
        self._roots = {
            root: _RootPatterns(
                pathspec.GitIgnoreSpec.from_lines(given),
                pathspec.GitIgnoreSpec.from_lines(
                    [line[1:] for line in given if line.startswith("!")]
                ),
            )
            for root, given in lines.items()
            if given
        }

    def applies_to(self, root: str) -> bool:
        return root in self._roots

    def declares(self, root: str, path: str) -> bool:
        patterns = self._roots.get(root)
        return patterns is not None and bool(patterns.declared.match_file(path))

    def ignores(self, root: str, path: str) -> bool:
        patterns = self._roots.get(root)
        return (
            patterns is not None
            and bool(patterns.ignored.match_file(path))
            and not patterns.declared.match_file(path)
        )


NO_PATTERNS = OutputPatterns([])
