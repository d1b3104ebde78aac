"""Orchest's `/data` and `/project-dir` for step processes that run on this machine.

Orchest steps read and write their data folder as `/data` and their project as `/project-dir`,
paths that exist in Orchest's containers only. A step process started here gets them in a
private mount namespace of its own (Linux). Before it runs its step, it

1. leaves the machine's mount namespace; when it is not root, with a user namespace too, in
   which its own user and group map to themselves, so that it stays who it was;
2. turns every mount it now holds into a slave, so that nothing it mounts reaches the machine;
3. moves into a new root, an in-memory folder (`pivot_root`), with the old one beneath it;
4. binds each of the machine's top-level entries at its place in the new root (symbolic
   links are copied), except `/data` and `/project-dir`, which become its data folder and
   project;
5. drops the old root and makes the new one read-only, so that a write anywhere outside the
   bound folders fails instead of landing in memory.

Everything else is the machine's own, at the same paths: the virtual environment, `/tmp`, the
home folder, the kernel's connection files and sockets, `/dev`, `/proc`; and the same
processes, users and network. The machine's `/data` is never touched, nor created: it is not
visible to the step at all.

Standard library only, and no dataclass: the fork server (`_forkserver_main`) loads this file
by its path into the Python of the kernels it forks, and the launcher of scripts
(`_launcher_main`) imports it. Run as a script, it tries the whole of it once, in a process
of its own (`--probe`, see `unavailable`), or starts a program in a namespace (`--exec`, for
kernels that jupyter_client starts).
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

DATA_DIR = "/data"
PROJECT_DIR = "/project-dir"
SWITCH = "JUPYTER_ORCHEST_MOUNT_NAMESPACES"
"""`0` in the server's environment (or a Ray worker's) turns the namespaces off: steps then
run as without them, and those that mention `/data` or `/project-dir` are refused."""
PROBE_TIMEOUT = 10.0
FAILED = 125
"""The exit code of a process whose namespace could not be made."""

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_MS_RDONLY = 0x1
_MS_NOSUID = 0x2
_MS_NODEV = 0x4
_MS_REMOUNT = 0x20
_MS_BIND = 0x1000
_MS_REC = 0x4000
_MS_SLAVE = 0x80000
_MNT_DETACH = 0x2
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
"""pivot_root's system call number (glibc has no wrapper for it), by machine."""
_NEW_ROOT = "/tmp"
"""Where the new root is mounted before it becomes the root: any folder would do, and the
old one is seen again, unchanged, once the new root is moved away from there."""
_OLD_ROOT = "/.old-root"


class NamespaceError(OSError):
    """A step of entering the namespace failed; the message says which."""


def enter(data_dir: str, project_dir: str | None) -> None:
    """Make this process see `data_dir` at /data and `project_dir` (if any) at /project-dir.
    Only in a process with a single thread (a fresh fork), before it runs the step; its
    working directory stays the same folder. Raises NamespaceError."""
    binds = {DATA_DIR: os.path.realpath(data_dir)}
    if project_dir is not None:
        binds[PROJECT_DIR] = os.path.realpath(project_dir)
    cwd = os.getcwd()
    for needed in (cwd, binds.get(PROJECT_DIR, "")):
        tops = (DATA_DIR, PROJECT_DIR)
        hidden = next((top for top in tops if needed == top or needed.startswith(top + "/")), "")
        if hidden:
            raise NamespaceError(
                f"{needed} is inside this machine's {hidden}, which the step cannot see (its "
                f"own {hidden} is there instead): move the project out of {hidden}"
            )
    libc = ctypes.CDLL(None, use_errno=True)
    _leave_mount_namespace(libc)
    _mount(libc, None, "/", None, _MS_REC | _MS_SLAVE)
    entries = sorted(os.listdir("/"))
    _mount(libc, "tmpfs", _NEW_ROOT, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=0755")
    os.mkdir(_NEW_ROOT + _OLD_ROOT)
    _pivot_root(libc, _NEW_ROOT, _NEW_ROOT + _OLD_ROOT)
    os.chdir("/")
    for entry in entries:
        if "/" + entry not in (DATA_DIR, PROJECT_DIR):
            _bind_entry(libc, entry)
    for target, source in binds.items():
        os.mkdir(target)
        _mount(libc, _OLD_ROOT + source, target, None, _MS_BIND | _MS_REC)
    _check(libc.umount2(_OLD_ROOT.encode(), _MNT_DETACH), "detach the old root")
    os.rmdir(_OLD_ROOT)
    _mount(libc, None, "/", None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY)
    os.chdir(cwd)


def enter_or_exit(data_dir: str, project_dir: str | None) -> None:
    """`enter`, or say why not on stderr (the step's log) and exit with FAILED."""
    try:
        enter(data_dir, project_dir)
    except OSError as error:
        os.write(2, f"The step's mount namespace could not be made: {error}\n".encode())
        os._exit(FAILED)


def command(data_dir: str, project_dir: str | None) -> list[str]:
    """What to put before a program's arguments to run it in a namespace: this file run
    with this process's Python, which enters the namespace and then becomes the program."""
    script = [sys.executable, "-E", "-s", "-S", os.path.abspath(__file__)]
    return [*script, "--exec", data_dir, project_dir or ""]


@functools.lru_cache(maxsize=1)
def unavailable() -> str:
    """Why step processes cannot get a mount namespace on this machine, or "" if they can.
    Found out once per process, by a probe that tries it all in a child (some tens of
    milliseconds)."""
    if os.environ.get(SWITCH, "").strip().lower() in ("0", "false", "no", "off"):
        return f"turned off by {SWITCH}={os.environ[SWITCH]}"
    if not sys.platform.startswith("linux"):
        return "they exist on Linux only"
    if os.uname().machine not in _PIVOT_ROOT:
        return f"this machine's processor ({os.uname().machine}) is not supported"
    import subprocess  # here: the launcher and the fork server load this module too
    import tempfile

    with tempfile.TemporaryDirectory(prefix="jupyter-orchest-probe-") as folder:
        data = os.path.join(folder, "data")
        os.mkdir(data)
        try:
            probe = subprocess.run(
                [sys.executable, "-I", "-S", os.path.abspath(__file__), "--probe", data, folder],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=PROBE_TIMEOUT,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"the probe could not run ({error})"
        if probe.returncode == 0 and os.path.isfile(os.path.join(data, "probe")):
            return ""
        lines = (probe.stderr or probe.stdout).strip().splitlines()
        return lines[-1] if lines else f"the probe failed with exit code {probe.returncode}"


def _probe(data_dir: str, project_dir: str) -> None:
    """Enter a namespace, then check what a step would rely on."""
    enter(data_dir, project_dir)
    with open(os.path.join(DATA_DIR, "probe"), "w", encoding="utf-8") as file:
        file.write("seen at /data\n")
    if not os.path.isfile(os.path.join(PROJECT_DIR, "data", "probe")):
        raise NamespaceError("/data and /project-dir do not show the folders bound there")


def _leave_mount_namespace(libc: ctypes.CDLL) -> None:
    if os.geteuid() == 0:
        # Root may make a mount namespace alone; in a user namespace, it would lose its
        # rights over files of users not mapped there.
        _check(libc.unshare(_CLONE_NEWNS), "make a mount namespace")
        return
    uid, gid = os.geteuid(), os.getegid()
    _check(libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS), "make a user and mount namespace")
    maps = {"setgroups": "deny", "uid_map": f"{uid} {uid} 1", "gid_map": f"{gid} {gid} 1"}
    for name, text in maps.items():  # in this order: setgroups is denied before gid_map
        with open(f"/proc/self/{name}", "w", encoding="ascii") as file:
            file.write(text)


def _bind_entry(libc: ctypes.CDLL, entry: str) -> None:
    """Show the old root's top-level `entry` at the same place in the new root."""
    source, target = f"{_OLD_ROOT}/{entry}", f"/{entry}"
    if os.path.islink(source):
        os.symlink(os.readlink(source), target)
        return
    if os.path.isdir(source):
        os.mkdir(target)
    else:
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
    _mount(libc, source, target, None, _MS_BIND | _MS_REC)


def _pivot_root(libc: ctypes.CDLL, new_root: str, put_old: str) -> None:
    number = _PIVOT_ROOT[os.uname().machine]
    _check(libc.syscall(number, new_root.encode(), put_old.encode()), "move into the new root")


def _mount(
    libc: ctypes.CDLL,
    source: str | None,
    target: str,
    kind: str | None,
    flags: int,
    options: str | None = None,
) -> None:
    result = libc.mount(
        source.encode() if source else None,
        target.encode(),
        kind.encode() if kind else None,
        ctypes.c_ulong(flags),
        options.encode() if options else None,
    )
    what = f"bind {source} at {target}" if flags & _MS_BIND and source else f"mount {target}"
    _check(result, what)


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise NamespaceError(f"could not {what}: {os.strerror(number)}")


def _main(arguments: list[str]) -> None:
    """As a script: `--probe DATA PROJECT`, or `--exec DATA PROJECT|"" PROGRAM [ARGUMENT...]`."""
    if arguments[:1] == ["--probe"]:
        try:
            _probe(arguments[1], arguments[2])
        except OSError as error:
            sys.exit(str(error))
    elif arguments[:1] == ["--exec"]:
        data_dir, project_dir, *program = arguments[1:]
        enter_or_exit(data_dir, project_dir or None)
        os.execvp(program[0], program)


if __name__ == "__main__":
    _main(sys.argv[1:])
