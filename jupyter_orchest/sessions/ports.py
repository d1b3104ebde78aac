"""This machine's ports, as services that run as processes take them: one group at a time.

Without Docker a service listens on the ports its command names, on this machine, so the
services of two sessions of one pipeline (two runs of a job, say) would take the same ports.
A group of services takes all its ports at once before its services start (all at once, so
that no two groups wait for each other) and gives them back when it stops. A group needing a
port another group holds waits while that group ends by itself (a run's); one that does not
(an interactive session) is named in a refusal instead, since waiting could last for ever.

Only this process's groups are known here: a port that another program listens on is found
when the service starts (see `processes`).
"""

import asyncio
from collections.abc import Callable, Iterable


class PortLeases:
    """See the module's docs."""

    def __init__(self) -> None:
        self._holders: dict[int, tuple[str, bool]] = {}
        """By port: who holds it, and whether they end by themselves."""
        self._released: asyncio.Event | None = None

    async def acquire(
        self,
        ports: Iterable[int],
        holder: str,
        ends_by_itself: bool,
        waiting: Callable[[str], None],
    ) -> str | None:
        """Hold `ports` for `holder`: None once held, else why they cannot be. While waiting
        for a holder, `waiting(holder)` is told who it is."""
        wanted = sorted(set(ports))
        told = None
        while True:
            taken = {port: self._holders[port] for port in wanted if port in self._holders}
            if not taken:
                self._holders.update(dict.fromkeys(wanted, (holder, ends_by_itself)))
                return None
            for port, (other, ends) in taken.items():
                if not ends:
                    return (
                        f"Port {port} is used by {other}, and services that run as processes "
                        "listen on this machine's ports: stop that session, or give this "
                        "service another port."
                    )
            other = taken[min(taken)][0]
            if other != told:
                waiting(other)
                told = other
            if self._released is None:
                self._released = asyncio.Event()
            await self._released.wait()

    def release(self, ports: Iterable[int]) -> None:
        for port in ports:
            self._holders.pop(port, None)
        if self._released is not None:
            self._released.set()  # every waiter looks again
            self._released = None
