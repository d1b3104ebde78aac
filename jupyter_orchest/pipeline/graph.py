"""The steps of a pipeline as a directed graph, data flowing from each parent to its children.

Every query that returns several steps returns them in one deterministic topological order:
Kahn's algorithm, always taking the ready step that comes first in the file.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._wording import escape_pointer_part, quote, sentence, step_name, step_title
from .errors import PipelineValidationError, UnknownStepError, ValidationIssue


class PipelineGraph:
    """An immutable view of how the steps of a pipeline are connected.

    Queries about steps the pipeline does not have raise :class:`UnknownStepError`, which is
    both a :class:`PipelineValidationError` and a :class:`KeyError`. A single string passed
    where several uuids are expected counts as one uuid.
    """

    def __init__(
        self, parents: Mapping[str, Sequence[str]], titles: Mapping[str, str] | None = None
    ) -> None:
        """``parents`` maps every step, in file order, to its incoming connections in order.

        A parent listed twice counts once. Raises :class:`UnknownStepError` if a parent is not
        a step. ``titles`` name steps in messages; steps without one are named by uuid.
        """
        self._order: tuple[str, ...] = tuple(parents)
        self._position = {uuid: index for index, uuid in enumerate(self._order)}
        self._parents = {uuid: tuple(dict.fromkeys(parents[uuid])) for uuid in self._order}
        unknown = [p for ps in self._parents.values() for p in ps if p not in self._position]
        if unknown:
            raise UnknownStepError(dict.fromkeys(unknown))
        children: dict[str, list[str]] = {uuid: [] for uuid in self._order}
        for child in self._order:
            for parent in self._parents[child]:
                children[parent].append(child)
        self._children = {uuid: tuple(kids) for uuid, kids in children.items()}
        self._titles = dict(titles or {})

    @classmethod
    def from_definition(cls, doc: Mapping[str, Any]) -> PipelineGraph:
        """The graph of a pipeline definition.

        The document need not be fully valid: cycles, self-connections and repeated connections
        are represented (see :meth:`find_cycle`). It raises :class:`PipelineValidationError` when
        a graph cannot be built: no ``steps`` object, a step whose ``incoming_connections`` is
        not a list of strings, or a connection from a step that does not exist.
        """
        steps = doc.get("steps") if isinstance(doc, Mapping) else None
        if not isinstance(steps, Mapping):
            raise PipelineValidationError(
                [ValidationIssue("/steps", 'The pipeline has no "steps" object.', "schema")]
            )
        parents: dict[str, list[str]] = {}
        titles: dict[str, str] = {}
        issues: list[ValidationIssue] = []
        for uuid, step in steps.items():
            incoming = step.get("incoming_connections") if isinstance(step, Mapping) else None
            title = step_title(step)
            if not isinstance(incoming, list) or not all(isinstance(p, str) for p in incoming):
                issues.append(
                    ValidationIssue(
                        pointer=f"/steps/{escape_pointer_part(uuid)}/incoming_connections",
                        message=(
                            f"The incoming connections of {step_name(uuid, title)} must be a "
                            "list of step uuids."
                        ),
                        rule="schema",
                        step=uuid,
                    )
                )
                continue
            parents[uuid] = incoming
            if title:
                titles[uuid] = title
        issues += [i for i in connection_issues(steps) if i.rule == "unknown-connection"]
        if issues:
            raise PipelineValidationError(issues)
        return cls(parents, titles)

    @property
    def steps(self) -> tuple[str, ...]:
        """Every step's uuid, in file order."""
        return self._order

    def parents(self, uuid: str) -> list[str]:
        """The steps ``uuid`` receives data from, in the order of its incoming connections."""
        return list(self._parents[self._known([uuid])[0]])

    def children(self, uuid: str) -> list[str]:
        """The steps that receive data from ``uuid``, in file order."""
        return list(self._children[self._known([uuid])[0]])

    def find_cycles(self) -> list[list[str]]:
        """Cycles found by a depth-first search in file order, one per connection closing one.

        Each cycle lists its steps so that each feeds the next and the last feeds the first.
        Removing the last-to-first connection of every cycle listed leaves no cycle at all.
        """
        on_path_or_done: dict[str, bool] = {}  # True while on the current path
        cycles: list[list[str]] = []
        for root in self._order:
            if root in on_path_or_done:
                continue
            # Iterative, so long chains of steps cannot exhaust Python's recursion limit.
            path = [root]
            on_path_or_done[root] = True
            unvisited = [iter(self._children[root])]
            while unvisited:
                child = next(unvisited[-1], None)
                if child is None:
                    on_path_or_done[path.pop()] = False
                    unvisited.pop()
                elif child not in on_path_or_done:
                    on_path_or_done[child] = True
                    path.append(child)
                    unvisited.append(iter(self._children[child]))
                elif on_path_or_done[child]:
                    cycles.append(path[path.index(child) :])
        return cycles

    def find_cycle(self) -> list[str] | None:
        """The first cycle :meth:`find_cycles` finds, or None when the graph has none."""
        cycles = self.find_cycles()
        return cycles[0] if cycles else None

    def cycle_issue(self, cycle: Sequence[str]) -> ValidationIssue:
        """Describe a cycle (as returned by :meth:`find_cycles`) for the pipeline's author."""
        first, last = cycle[0], cycle[-1]
        chain = " -> ".join(self._titles.get(uuid, uuid) for uuid in [*cycle, first])
        return ValidationIssue(
            pointer=f"/steps/{escape_pointer_part(first)}/incoming_connections",
            message=(
                f"The steps form a cycle: {chain}. A pipeline cannot loop back on itself; "
                f"remove one of these connections, for example the one from "
                f"{step_name(last, self._titles.get(last))} to "
                f"{step_name(first, self._titles.get(first))}."
            ),
            rule="cycle",
            step=first,
        )

    def topological_order(self) -> list[str]:
        """Every step, parents before children, ties broken by file order.

        Raises :class:`PipelineValidationError` (rule "cycle") naming every cycle found.
        """
        waiting_for = {uuid: len(self._parents[uuid]) for uuid in self._order}
        ready = [self._position[uuid] for uuid in self._order if not waiting_for[uuid]]
        order: list[str] = []
        while ready:
            uuid = self._order[heapq.heappop(ready)]
            order.append(uuid)
            for child in self._children[uuid]:
                waiting_for[child] -= 1
                if not waiting_for[child]:
                    heapq.heappush(ready, self._position[child])
        if len(order) < len(self._order):
            raise PipelineValidationError(self.cycle_issue(c) for c in self.find_cycles())
        return order

    def ancestors(self, uuids: Iterable[str]) -> set[str]:
        """Steps with a path to any of ``uuids``; one of ``uuids`` is included only if so."""
        return self._reachable(self._known(uuids), self._parents)

    def descendants(self, uuids: Iterable[str]) -> set[str]:
        """Steps with a path from any of ``uuids``; one of ``uuids`` is included only if so."""
        return self._reachable(self._known(uuids), self._children)

    def selection(self, uuids: Iterable[str]) -> list[str]:
        """Just ``uuids``, in topological order."""
        return self._in_order(set(self._known(uuids)))

    def incoming(self, uuids: Iterable[str]) -> list[str]:
        """``uuids`` and everything they depend on, in topological order."""
        chosen = self._known(uuids)
        return self._in_order({*chosen, *self._reachable(chosen, self._parents)})

    def outgoing(self, uuids: Iterable[str]) -> list[str]:
        """``uuids`` and everything that depends on them, in topological order."""
        chosen = self._known(uuids)
        return self._in_order({*chosen, *self._reachable(chosen, self._children)})

    def _known(self, uuids: Iterable[str]) -> list[str]:
        wanted = [uuids] if isinstance(uuids, str) else list(uuids)
        unknown = [uuid for uuid in wanted if uuid not in self._position]
        if unknown:
            raise UnknownStepError(dict.fromkeys(unknown))
        return wanted

    @staticmethod
    def _reachable(starts: Iterable[str], edges: Mapping[str, Sequence[str]]) -> set[str]:
        reached: set[str] = set()
        pending = [step for start in starts for step in edges[start]]
        while pending:
            step = pending.pop()
            if step not in reached:
                reached.add(step)
                pending.extend(edges[step])
        return reached

    def _in_order(self, chosen: set[str]) -> list[str]:
        return [uuid for uuid in self.topological_order() if uuid in chosen]


def connection_issues(steps: Mapping[str, Any]) -> list[ValidationIssue]:
    """Self-connections, connections from unknown steps and repeated connections.

    Parts of ``steps`` that are not shaped as the format says are skipped; the schema reports
    them.
    """
    issues: list[ValidationIssue] = []
    for uuid, step in steps.items():
        incoming = step.get("incoming_connections") if isinstance(step, Mapping) else None
        if not isinstance(incoming, list):
            continue
        name = step_name(uuid, step_title(step))
        seen: set[str] = set()
        for index, parent in enumerate(incoming):
            if not isinstance(parent, str):
                continue
            pointer = f"/steps/{escape_pointer_part(uuid)}/incoming_connections/{index}"
            if parent == uuid:
                message = (
                    f"{sentence(name)} is connected to itself; remove {quote(parent)} from its "
                    "incoming connections."
                )
                issues.append(ValidationIssue(pointer, message, "self-connection", uuid))
            elif parent not in steps:
                message = (
                    f"{sentence(name)} has an incoming connection from {quote(parent)}, but the "
                    "pipeline has no step with that uuid; remove the connection or add the step."
                )
                issues.append(ValidationIssue(pointer, message, "unknown-connection", uuid))
            elif parent in seen:
                parent_name = step_name(parent, step_title(steps[parent]))
                message = (
                    f"{sentence(name)} lists its connection from {parent_name} more than once; "
                    "remove the repeats."
                )
                issues.append(ValidationIssue(pointer, message, "duplicate-connection", uuid))
            seen.add(parent)
    return issues
