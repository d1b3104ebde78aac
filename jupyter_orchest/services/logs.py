"""Reading a log that may be huge, a page at a time and in chunks, so that no request holds
more than a chunk of it in memory however large the log or the page."""

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

MAX_PAGE = 16 << 20
"""The most bytes one request returns when it gives a `limit`."""
CHUNK = 256 << 10
"""Bytes read and sent at a time."""


@dataclass(frozen=True)
class LogPage:
    """Bytes `start` to `end` of the log at `path`, `size` bytes long when the page was cut.
    A page ends on a character's boundary (the log is UTF-8), so each page decodes alone."""

    path: str | None
    """None: the log does not exist (yet)."""
    size: int
    start: int
    end: int

    async def chunks(self) -> AsyncIterator[bytes]:
        if self.path is None or self.end <= self.start:
            return
        with open(self.path, "rb") as file:
            file.seek(self.start)
            left = self.end - self.start
            while left > 0:
                chunk = await asyncio.to_thread(file.read, min(CHUNK, left))
                if not chunk:
                    return  # the file was truncated meanwhile
                left -= len(chunk)
                yield chunk


def log_page(path: str, offset: int = 0, limit: int | None = None) -> LogPage:
    """The page of the log from byte `offset`: to its current end, or `limit` bytes (at most
    MAX_PAGE), less the start of a character the limit would cut."""
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        return LogPage(None, 0, 0, 0)  # the step has not started, or printed nothing
    start = min(max(0, offset), size)
    end = size if limit is None else min(size, start + min(max(0, limit), MAX_PAGE))
    if end < size:
        end = _character_start(path, start, end)
    return LogPage(path, size, start, end)


def _character_start(path: str, start: int, end: int) -> int:
    """`end`, moved back to the start of the character it falls in (UTF-8 continuation bytes
    are 0b10xxxxxx, at most 3 in a character); `end` itself if that would empty the page."""
    base = max(start, end - 3)
    with open(path, "rb") as file:
        file.seek(base)
        near = file.read(end + 1 - base)  # bytes `base` to `end`, both included
    position = end
    while position > base and near[position - base] & 0xC0 == 0x80:
        position -= 1
    return position if position > start else end
