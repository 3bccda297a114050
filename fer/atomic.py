"""Atomic writes of files and folders: write beside the target, then rename, so a crash never leaves half of one."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(target: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp_path)`` then move ``tmp_path`` onto ``target``; the temporary keeps the target's suffix.

    The temporary's name carries this process's id, so temporaries that a killed writer (``kill -9``
    mid-save) left behind are recognised and removed by the next write of the same target.
    """
    target = Path(target)
    remove_orphans(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.{os.getpid()}.", suffix=target.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def atomic_write_dir(target: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp_dir)`` on an empty folder beside ``target``, then rename it to ``target`` whole.

    As :func:`atomic_write`, for a folder: the temporary carries this process's id, and ones a killed
    writer left are removed first. If another process renamed its own ``target`` into place meanwhile,
    theirs is kept and this one dropped.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_orphans(target, folder=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}."))
    try:
        write(tmp)
        try:
            tmp.rename(target)
        except OSError:  # a non-empty folder is there already: another writer finished first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def remove_orphans(target: str | os.PathLike, folder: bool = False) -> list[Path]:
    """Delete temporaries of ``target`` whose writing process no longer runs; returns what was removed.

    A file's temporaries are named ``.{stem}.{pid}.*{suffix}`` (:func:`atomic_write`). With ``folder=True``
    ``target`` is a folder written whole beside itself and renamed into place: its temporaries are folders
    named ``.{name}.{pid}.*`` (the whole name: a folder's dots are not a suffix) and are removed with their
    contents.
    """
    target = Path(target)
    removed = []
    prefix, suffix = (f".{target.name}.", "") if folder else (f".{target.stem}.", target.suffix)
    for path in target.parent.glob(f"{glob_escape(prefix)}*{glob_escape(suffix)}"):
        pid = path.name[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            if folder:
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    path.unlink()
                except OSError:
                    continue  # another writer cleaned it first
            removed.append(path)
    return removed


def check_writable_dir(directory: str | os.PathLike) -> Path:
    """Create ``directory`` if needed and prove a file can be written there; raises ``OSError`` if not.

    Long jobs call this first, so a wrong output path fails in a second, not after the data or an epoch.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".write-check."):
        pass
    return directory


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # exists (another user's), or cannot tell: keep the file
    return True
