"""Which process owns a record: builds and runs carry `host:pid` of the process that made
them, so that a record still under way can be told from one whose process died."""

import os
import socket


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def process_is_gone(owner: str) -> bool:
    """Whether the process that owned a record is known to have ended. Records made before
    owners were recorded (an empty owner) count as gone."""
    host, _, pid = owner.rpartition(":")
    if not pid.isdigit():
        return True
    if host != socket.gethostname():
        return False  # another machine's: it knows best
    if int(pid) == os.getpid():
        return True  # an earlier process that had this pid
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, someone else's
    return False
