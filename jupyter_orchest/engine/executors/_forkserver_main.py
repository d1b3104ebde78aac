"""The fork server: a Python process that has imported ipykernel once and forks a kernel per
request, so that a kernel skips the interpreter's start and the imports (most of its start-up).

Run by `forkserver.ForkServer` with the kernel's Python, as a script; it needs nothing but
the standard library and ipykernel. It speaks JSON lines: requests on stdin, answers and the
exit of every kernel on stdout. It creates no thread and no ZeroMQ context before forking,
and exits when its stdin closes (its parent is gone); its kernels then exit too, as ipykernel
kernels do when their parent process ends. Any Python from 3.9 on can run it.
"""

from __future__ import annotations

# Standard library only, and none named like a module of this folder, which is first on
# sys.path until main() removes it.
import contextlib
import json
import os
import selectors
import signal
import site
import sys
import time
from importlib import import_module
from importlib.util import find_spec, module_from_spec, spec_from_file_location
from types import ModuleType
from typing import Any, NoReturn

STALE_SLACK = 0.1  # as kernels.STALE_SLACK
QUIET_DEBUGPY = "PYDEVD_DISABLE_FILE_VALIDATION"
PRELOADED = (
    # What an ipykernel kernel imports while it starts (ipykernel 6 and 7, IPython 8 and 9),
    # as far as it is there to import; none of it starts a thread.
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",  # and debugpy: half of what is left to import
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.extensions.storemagic",
    "sqlite3",
    "psutil",
    "tornado.queues",
)


def main() -> None:
    started = time.time()
    del sys.path[0]  # this file's folder: kernels must not import from it
    # ipykernel reads its parent's pid when imported: the kernels forked from here watch this
    # process, and exit when it does.
    os.environ["JPY_PARENT_PID"] = str(os.getpid())
    before = dict(os.environ)
    # debugpy warns about frozen modules when imported; in a kernel that warning is swallowed
    # (its stderr is captured by then), here it would reach the server's log.
    os.environ.setdefault(QUIET_DEBUGPY, "1")
    for module in PRELOADED:
        with contextlib.suppress(ImportError):  # not in this version of ipykernel
            import_module(module)
    if QUIET_DEBUGPY not in before:
        del os.environ[QUIET_DEBUGPY]
    # Defaults the imports set, which a kernel importing them itself would set too (debugpy:
    # PYDEVD_USE_FRAME_EVAL unless set).
    defaults = {name: value for name, value in os.environ.items() if before.get(name) != value}

    namespaces = load_mount_namespace()
    launcher_spec = find_spec("ipykernel_launcher")
    launcher = launcher_spec.origin if launcher_spec and launcher_spec.origin else ""

    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda number, frame: None)  # wakes the selector
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    selector.register(wake_read, selectors.EVENT_READ)
    send({"ready": True, "pid": os.getpid()})
    pending = b""
    while True:
        for key, _ in selector.select():
            if key.fd == wake_read:
                os.read(wake_read, 4096)
                reap()
                continue
            data = os.read(0, 65536)
            if not data:
                return
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                stale = changed_site_packages(started)
                if stale:
                    send({"id": request["id"], "stale": stale})
                    continue
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    os.close(wake_read)
                    os.close(wake_write)
                    become_kernel(request, launcher, defaults, namespaces)
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


def changed_site_packages(since: float) -> str:
    """A site-packages folder changed since this process started (packages were installed or
    removed: a kernel forked from here could miss a new .pth file), or ""."""
    folders = site.getsitepackages()
    if site.ENABLE_USER_SITE:
        folders.append(site.getusersitepackages())
    for folder in folders:
        if os.path.isdir(folder) and os.stat(folder).st_mtime >= since - STALE_SLACK:
            return folder
    return ""


def load_mount_namespace() -> ModuleType | None:
    """`mount_namespace.py` beside this file, loaded under a name no kernel imports, or None
    where it is not there (a copy of this file alone, as in a container)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mount_namespace.py")
    spec = spec_from_file_location("_jupyter_orchest_mount_namespace", path)
    if spec is None or spec.loader is None or not os.path.isfile(path):
        return None
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def become_kernel(
    request: dict[str, Any],
    launcher: str,
    defaults: dict[str, str],
    namespaces: ModuleType | None,
) -> NoReturn:
    """In the forked child: become what `python -m ipykernel_launcher ...` would have been,
    started by jupyter_client in the request's folder with the request's environment, in a
    mount namespace of its own when the request asks for one."""
    os.setsid()  # a process group of its own, like jupyter_client's kernels
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    namespace = request.get("namespace")
    if namespace:
        if namespaces is None:  # a copy of this file alone (in containers) is never asked
            os.write(2, b"No mount namespace: mount_namespace.py is not beside the fork server\n")
            os._exit(1)
        namespaces.enter_or_exit(namespace["data_dir"], namespace["project_dir"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    sys.argv = [launcher, *request["argv"]]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance(argv=request["argv"])
    sys.exit(0)


if __name__ == "__main__":
    main()
