"""Starts a created container and joins its standard streams to this process's:
`python _attach_main.py CONTAINER_ID`.

The fork server (`engine/executors/_forkserver_main.py`) runs in the container and speaks
JSON lines over its stdin and stdout; `forkserver.ForkServer` runs this program in its place,
as it would run a local Python. When this process's stdin ends (its parent closed it, or died),
the container's stdin is closed, so the fork server exits as it would locally; this process
exits when the container's output ends. It imports only the Docker SDK, for a quick start.
"""

import os
import socket
import sys
import threading
from typing import Any

import docker
from docker.utils.socket import frames_iter_no_tty

STDOUT, STDERR = 1, 2


def main() -> None:
    container_id = sys.argv[1]
    client = docker.from_env()
    attached = client.api.attach_socket(
        container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
    )
    connection = _raw_socket(attached)
    client.api.start(container_id)
    threading.Thread(target=_send_input, args=(connection,), daemon=True).start()
    try:
        for stream, data in frames_iter_no_tty(attached):
            assert isinstance(data, bytes)
            _write_all(STDERR if stream == STDERR else STDOUT, data)
    except (BrokenPipeError, ConnectionError):
        pass  # our reader is gone, or the engine is
    sys.exit(0)


def _raw_socket(attached: Any) -> socket.socket:
    # The SDK returns the socket wrapped for reading; writing and half-closing need the socket.
    raw = getattr(attached, "_sock", attached)
    assert isinstance(raw, socket.socket)
    return raw


def _send_input(connection: socket.socket) -> None:
    try:
        while data := os.read(0, 65536):
            connection.sendall(data)
        # The engine closes the container's stdin when ours ends (it has StdinOnce set).
        connection.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # the container is gone: its output ends, and so does this process


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


if __name__ == "__main__":
    main()
