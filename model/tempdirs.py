"""Temporary folders under the artifacts dir that a later start can recognise as left behind.

A folder made here is named ``.medchat-tmp-<label>-<pid>-<random>``: the process that made it is in
its name, so once that process is gone (killed mid-build, a crashed app) the next start removes
it with :func:`remove_stale_temp_dirs`, while a folder of a process still running (another app
instance, a build in progress) is left alone. The app's export folder uses it; the demo build
(training/demo.py) and GGUF conversion (model/gguf.py) can too:

    remove_stale_temp_dirs(artifacts_dir())          # at start: what interrupted runs left
    with owned_temp_dir(artifacts_dir(), "demo-build") as work:
        ...                                          # removed on exit, or by the next start

Library module (no command of its own).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

PREFIX = ".medchat-tmp-"
_NAME = re.compile(re.escape(PREFIX) + r"(?P<label>.+)-(?P<pid>\d+)-[^-]+$")


def make_temp_dir(parent: str | Path, label: str) -> Path:
    """A new private folder in ``parent`` (created if missing) that names this process."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{label}-{os.getpid()}-", dir=parent))


@contextlib.contextmanager
def owned_temp_dir(parent: str | Path, label: str) -> Iterator[Path]:
    """:func:`make_temp_dir`, removed when the block ends (however it ends)."""
    path = make_temp_dir(parent, label)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def remove_stale_temp_dirs(parent: str | Path) -> list[Path]:
    """Remove the folders :func:`make_temp_dir` made in ``parent`` whose process has ended;
    returns them. Nothing else in ``parent`` is touched."""
    parent = Path(parent)
    removed = []
    for path in sorted(parent.glob(PREFIX + "*")) if parent.is_dir() else []:
        match = _NAME.match(path.name)
        if match is None or not path.is_dir() or path.is_symlink():
            continue
        pid = int(match["pid"])
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
