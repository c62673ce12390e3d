"""Atomic file operations: stage under a `.tmp-*` name in the final parent, fsync, rename.

A staged entry is invisible to the store until `commit` renames it; what a crash leaves
behind keeps its `.tmp-` name and is removed by `Store.sweep_temp`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import stat
from pathlib import Path

from errors import StatAgentError

TEMP_PREFIX = ".tmp-"


# Opens a file or folder but never a link (ELOOP), nor waits on a FIFO.
_NO_LINK = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK


def temp_name(parent: Path) -> Path:
    return parent / f"{TEMP_PREFIX}{secrets.token_hex(8)}"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def tree_size(source: Path) -> int:
    """Total bytes of the regular files under `source`; refuses links and special files.

    The source was written by a job container, so nothing in it is trusted: a symlink
    could point at another user's files.
    """
    if not stat.S_ISDIR(os.lstat(source).st_mode):
        raise StatAgentError(f"{source} is not a folder")
    total = 0
    for root, dirs, files in os.walk(source, onerror=_raise):
        for name in dirs + files:
            info = os.lstat(os.path.join(root, name))
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
            elif not stat.S_ISDIR(info.st_mode):
                raise StatAgentError(f"{os.path.join(root, name)} is neither a file nor a folder")
    return total


def _raise(error: OSError) -> None:
    raise error


def copy_file(source: Path, dest: Path) -> tuple[str, int]:
    """Copy one regular file (never through a link) to a new `dest`, fsynced; its SHA-256 and size."""
    digest, size = hashlib.sha256(), 0
    fd = os.open(source, _NO_LINK)
    with open(fd, "rb") as src, open(dest, "xb") as out:
        if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):
            raise StatAgentError(f"{source} is not a regular file")
        while chunk := src.read(1024 * 1024):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest(), size


def human_size(size: float) -> str:
    """1536 -> '1.5 KB', 20971520 -> '20 MB'."""
    if size < 1024:
        return f"{size:.0f} bytes"
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            break
    return f"{size:.1f}".removesuffix(".0") + f" {unit}"


def copy_tree(source: Path, dest: Path) -> None:
    """Copy regular files and folders (nothing else, never through a link) to a new `dest`, fsyncing
    everything. Each entry is checked on the descriptor it is read through, so a job that still runs
    cannot swap a checked file for a link."""
    fd = os.open(source, _NO_LINK | os.O_DIRECTORY)
    try:
        _copy_dir(fd, dest)
    finally:
        os.close(fd)


def _copy_dir(dir_fd: int, dest: Path) -> None:
    dest.mkdir(mode=0o755)
    for name in sorted(os.listdir(dir_fd)):
        target = dest / name
        try:
            fd = os.open(name, _NO_LINK, dir_fd=dir_fd)
        except OSError as error:
            raise StatAgentError(f"{target} cannot be copied from its source: {error.strerror}") from error
        try:
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                _copy_dir(fd, target)
            elif stat.S_ISREG(mode):
                with open(target, "xb") as out:
                    while chunk := os.read(fd, 1024 * 1024):
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
            else:
                raise StatAgentError(f"{target} would be neither a file nor a folder")
        finally:
            os.close(fd)
    fsync_dir(dest)


def commit(staged: Path, final: Path) -> None:
    """Make a staged entry visible under its final name, durably."""
    os.rename(staged, final)
    fsync_dir(final.parent)


def remove(path: Path) -> None:
    """Remove a file or a folder tree, if it is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
