"""The launcher: a small process that starts step processes, each in a mount namespace of its
own (see `mount_namespace`). A process that sets up a namespace before it runs its program
must be forked, and forking copies the parent's page tables: for a server holding hundreds of
MB, tens of milliseconds, during which its event loop stands still. Forking this process
instead costs a fraction of a millisecond.

Run by `launcher.Launcher` with the server's Python (`-E -s -S`: isolated from the user's
Python settings, but with this folder on its path), given a Unix socket
(SOCK_SEQPACKET) as the file descriptor in its argument. Each request on it is a JSON message
(`id`, `argv`, `cwd`, `env`, `data_dir`, `project_dir`) carrying the new process's stdin,
stdout and stderr. Answers go to stdout as JSON lines: the pid of each process started, and
the exit status of each once it ends. The process gets a session of its own; if its namespace
cannot be made or its program cannot start, it says why on its stderr and exits with
`mount_namespace.FAILED`. The launcher exits when the socket closes (its parent is gone).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import sys
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from . import mount_namespace
else:
    import mount_namespace  # beside this file, first on sys.path when run as a script

MAX_REQUEST = 1 << 20
"""Bytes of the largest request (the environment is most of it)."""


def main() -> None:
    del sys.path[0]  # this file's folder: nothing else is imported from there
    requests = socket.socket(fileno=int(sys.argv[1]))
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda number, frame: None)  # wakes the selector
    selector = selectors.DefaultSelector()
    selector.register(requests, selectors.EVENT_READ)
    selector.register(wake_read, selectors.EVENT_READ)
    send({"ready": True})
    while True:
        for key, _ in selector.select():
            if key.fd == wake_read:
                os.read(wake_read, 4096)
                reap()
                continue
            message, fds, _, _ = socket.recv_fds(requests, MAX_REQUEST, 3)
            if not message:
                return
            request = json.loads(message)
            pid = os.fork()
            if pid == 0:
                start(request, fds)
            for fd in fds:
                os.close(fd)
            send({"id": request["id"], "pid": pid})


def send(message: dict[str, Any]) -> None:
    os.write(1, json.dumps(message).encode() + b"\n")


def reap() -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        send({"exited": pid, "status": os.waitstatus_to_exitcode(status)})


def start(request: dict[str, Any], fds: list[int]) -> NoReturn:
    """In the forked child: become the requested process, in its namespace."""
    try:
        os.setsid()  # a process group of its own, to signal all of it at once
        signal.set_wakeup_fd(-1)
        for number in (signal.SIGCHLD, signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(number, signal.SIG_DFL)  # as subprocess restores them
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        mount_namespace.enter_or_exit(request["data_dir"], request["project_dir"])
        os.chdir(request["cwd"])
        os.execve(request["argv"][0], request["argv"], request["env"])
    except OSError as error:
        os.write(2, f"Cannot start {request['argv'][0]}: {error.strerror}\n".encode())
    finally:
        os._exit(mount_namespace.FAILED)


if __name__ == "__main__":
    main()
