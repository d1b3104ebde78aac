"""What software a step runs with, as a string that changes when that software does: part of
every step's cache key.

A Python is identified by its version and its installed distributions (names and versions),
listed by running it once; the answer is reused until one of the folders on its `sys.path`
changes (installing or removing a package changes its site-packages folder). Any other
program is identified by its resolved path, size and modification time.
"""

import asyncio
import json
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..hashing import stable_key

_REPORT = """
import importlib.metadata, json, sys
names = set()
for dist in importlib.metadata.distributions():
    name = dist.metadata["Name"]
    if name:
        names.add(name + "==" + str(dist.version))
print(json.dumps({
    "version": sys.version, "platform": sys.platform,
    "distributions": sorted(names), "folders": [p for p in sys.path if p],
}))
"""
"""Run by the Python being identified: standard library only, so it works in any Python."""

TIMEOUT = 60.0


class IdentityError(Exception):
    """The software cannot be identified; the message says why."""


@dataclass(frozen=True)
class _PythonIdentity:
    identity: str
    folders: tuple[tuple[str, int], ...]
    """The folders on its sys.path, with their modification times when identified."""

    def current(self) -> bool:
        return all(_mtime(folder) == mtime for folder, mtime in self.folders)


class EnvironmentIdentities:
    """Identities of the Pythons and programs steps run with, remembered per executor."""

    def __init__(self) -> None:
        self._pythons: dict[str, _PythonIdentity] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def python(self, python: str) -> str:
        known = self._pythons.get(python)
        if known is not None and known.current():
            return known.identity
        async with self._locks.setdefault(python, asyncio.Lock()):
            known = self._pythons.get(python)
            if known is None or not known.current():
                known = await _identify_python(python)
                self._pythons[python] = known
        return known.identity

    async def command(self, argv: Sequence[str], env: Mapping[str, str]) -> str:
        """The identity of a command line (a kernelspec's, or an interpreter's): its program
        and, when that is a Python, the Python's packages."""
        program = resolve_program(argv[0], env)
        if _is_python(program):
            software = await self.python(program)
        else:
            stat = await asyncio.to_thread(os.stat, program)
            software = stable_key([os.path.realpath(program), stat.st_size, stat.st_mtime_ns])
        return stable_key({"argv": list(argv[1:]), "software": software})


def resolve_program(name: str, env: Mapping[str, str]) -> str:
    """As jupyter_client and the script runner do: a bare `python` is this process's Python;
    anything else is looked up on the PATH."""
    major, minor = sys.version_info[:2]
    if name in ("python", f"python{major}", f"python{major}.{minor}"):
        return sys.executable
    program = shutil.which(name, path=env.get("PATH", os.defpath))
    if program is None:
        raise IdentityError(f"{name!r} is not installed or not on the PATH")
    return program


def _is_python(program: str) -> bool:
    return os.path.basename(program).lower().startswith("python")


async def _identify_python(python: str) -> _PythonIdentity:
    process = await asyncio.create_subprocess_exec(
        python,
        "-c",
        _REPORT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        raise IdentityError(f"{python} did not list its packages in {TIMEOUT:.0f} s") from None
    if process.returncode != 0:
        last = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise IdentityError(f"{python} could not list its packages: {last[0]}")
    report = json.loads(out)
    identity = stable_key({key: report[key] for key in ("version", "platform", "distributions")})
    folders = tuple((folder, _mtime(folder)) for folder in report["folders"])
    return _PythonIdentity(identity, folders)


def _mtime(folder: str) -> int:
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return -1
