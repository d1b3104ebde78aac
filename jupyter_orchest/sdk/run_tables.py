"""The tables `%orchest run` and `%orchest status` show: text for terminals, HTML for
notebooks, built from the server's JSON for runs (see `services.runs.run_to_json`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from html import escape
from typing import Any

Row = tuple[str, ...]


class Table:
    """Rows under a header; IPython shows the HTML in notebooks and the text elsewhere."""

    def __init__(self, header: Row, rows: Sequence[Row], caption: str = "") -> None:
        self.header, self.rows, self.caption = header, list(rows), caption

    def __repr__(self) -> str:
        widths = [
            max(len(row[i]) for row in [self.header, *self.rows]) for i in range(len(self.header))
        ]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in [self.header, *self.rows]
        ]
        return "\n".join(filter(None, [self.caption, *lines]))

    def _repr_html_(self) -> str:
        def cells(row: Row, tag: str) -> str:
            return "".join(f"<{tag}>{escape(cell)}</{tag}>" for cell in row)

        body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in self.rows)
        caption = f"<caption>{escape(self.caption)}</caption>" if self.caption else ""
        return f"<table>{caption}<tr>{cells(self.header, 'th')}</tr>{body}</table>"


def progress_table(run: dict[str, Any], now: datetime | None = None) -> Table:
    """Each step of a run: its state, for how long it ran (so far), whether it came from the
    cache."""
    rows = [
        (
            step["title"],
            step["state"],
            seconds(step.get("started_at"), step.get("finished_at"), now),
            "yes" if step.get("cached") else "",
        )
        for step in run["steps"]
    ]
    caption = f"Run {run['id']} of {run['pipeline_path']}: {run['state']}"
    return Table(("step", "state", "time", "cached"), rows, caption)


def status_table(
    pipeline_path: str, steps: dict[str, Any], runs: list[dict[str, Any]], this_step: str
) -> Table:
    """Each step of the pipeline (`steps` as in its definition) with its state in the latest
    run that included it (`runs`: newest first), and when that was; `this_step` is marked."""
    rows = []
    for uuid in parents_first(steps):
        step = steps[uuid]
        found = next(((run, s) for run in runs for s in run["steps"] if s["uuid"] == uuid), None)
        title = str(step.get("title") or uuid) + (" (this notebook)" if uuid == this_step else "")
        if found is None:
            rows.append((title, "not run yet", "", "", ""))
            continue
        run, ran = found
        rows.append(
            (
                title,
                ran["state"],
                "yes" if ran.get("cached") else "",
                local_time(ran.get("finished_at") or ran.get("started_at") or run["created_at"]),
                run["id"],
            )
        )
    return Table(("step", "state", "cached", "when", "run"), rows, pipeline_path)


def parents_first(steps: dict[str, Any]) -> list[str]:
    """The steps' uuids, each after its parents (in the file's order otherwise)."""
    order: list[str] = []
    remaining = list(steps)
    while remaining:
        ready = [
            uuid
            for uuid in remaining
            if all(
                p in order or p not in steps for p in steps[uuid].get("incoming_connections", [])
            )
        ]
        order += ready or remaining  # a cycle (the server refuses those): as they come
        remaining = [uuid for uuid in remaining if uuid not in order]
    return order


def moment(text: str | None) -> datetime | None:
    """A time the server gave (ISO 8601; without a zone it is UTC), or None."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def seconds(start: str | None, end: str | None, now: datetime | None = None) -> str:
    """`start` to `end` (to `now` while it runs), as "1.2 s"; empty before it starts."""
    began = moment(start)
    if began is None:
        return ""
    ended = moment(end) or now or datetime.now(timezone.utc)
    return f"{max(0.0, (ended - began).total_seconds()):.1f} s"


def local_time(text: str | None) -> str:
    when = moment(text)
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S") if when else ""


def summary(run: dict[str, Any]) -> str:
    """One line once a run has finished: how it ended, how long it took, what it computed."""
    states = [step["state"] for step in run["steps"]]
    cached = sum(1 for step in run["steps"] if step.get("cached"))
    computed = states.count("COMPUTED") - cached
    counts = [f"{computed} computed", f"{cached} from the cache"]
    counts += [f"{states.count(state)} {state.lower()}" for state in ("FAILURE", "ABORTED")]
    counts = [count for count in counts if not count.startswith("0 ")]
    took = seconds(run.get("started_at") or run.get("created_at"), run.get("finished_at"))
    return (
        f"Run {run['id']}: {run['state']}{' in ' + took if took else ''}"
        f"{' (' + ', '.join(counts) + ')' if counts else ''}."
    )
