"""The SDK as a folder of its own, to put on the path of Pythons that do not have this package
installed: a project's virtual environments and Docker images.

The folder holds only what `import orchest` needs (the SDK is standard library only) and is
named by a hash of its contents, so that a changed SDK is a new folder and a running step
never sees files change under it.
"""

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import jupyter_orchest
import orchest

PACKAGE_DIR = Path(jupyter_orchest.__file__).parent
SDK_FILES = (
    (PACKAGE_DIR, Path("jupyter_orchest"), ("__init__.py", "_version.py")),
    (PACKAGE_DIR / "sdk", Path("jupyter_orchest/sdk"), ("*.py",)),
    (Path(orchest.__file__).parent, Path("orchest"), ("*.py",)),
)
"""(source folder, folder in the bundle, file patterns)."""


def _sdk_sources() -> list[tuple[Path, Path]]:
    """(source file, its path in the bundle), in a stable order."""
    found: list[tuple[Path, Path]] = []
    for source, target, patterns in SDK_FILES:
        for pattern in patterns:
            found.extend((path, target / path.name) for path in sorted(source.glob(pattern)))
    return found


def sdk_bundle(parent: Path) -> Path:
    """The bundle's folder under `parent`, made if it is not there yet. Safe to call from
    several processes at once: a bundle appears complete or not at all."""
    sources = _sdk_sources()
    digest = hashlib.sha256()
    for source, target in sources:
        digest.update(target.as_posix().encode() + b"\0" + source.read_bytes() + b"\0")
    bundle = parent / f"sdk-{jupyter_orchest.__version__}-{digest.hexdigest()[:16]}"
    if bundle.is_dir():
        return bundle
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".sdk-", dir=parent))
    try:
        for source, target in sources:
            (staging / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, staging / target)
        os.chmod(staging, 0o755)  # readable by containers running as another user
        try:
            staging.rename(bundle)
        except OSError:  # another process made it meanwhile
            if not bundle.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return bundle
