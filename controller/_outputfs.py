"""A job's output folder is a size-capped tmpfs while the job runs.

The kernel stops a write past the cap (ENOSPC) while it happens, so a job can never fill the
host's disk, whatever it does; inodes are capped too, so it cannot create files without end.
After the job, the host copies what it keeps (regular files only, within the caps, never
following links) to disk and unmounts the tmpfs.
"""

from __future__ import annotations

import ctypes
import errno
import os
import tempfile
from pathlib import Path

from errors import ConfigError

__all__ = ["check_mounting", "is_mounted", "mount_output", "unmount_output"]

_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 2, 4, 8
_MNT_DETACH = 2
_FSTYPE = b"tmpfs"
_SOURCE = b"statagent-job-output"
_libc = ctypes.CDLL(None, use_errno=True)


def mount_output(path: Path, *, size_mb: int, max_files: int, uid: int, gid: int) -> None:
    """Mount a tmpfs of `size_mb` with room for `max_files` entries at `path`, owned by uid:gid."""
    options = f"size={size_mb}m,nr_inodes={max_files},mode=0700,uid={uid},gid={gid}".encode()
    flags = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
    if _libc.mount(_SOURCE, os.fsencode(path), _FSTYPE, flags, options) != 0:
        code = ctypes.get_errno()
        if code == errno.EPERM:
            raise ConfigError(
                "the controller must run as root (or with CAP_SYS_ADMIN) to cap each job's output "
                f"with a tmpfs; mounting one at {path} was refused"
            )
        raise OSError(code, f"cannot mount the job output tmpfs at {path}: {os.strerror(code)}")


def check_mounting(folder: Path) -> None:
    """Mount and unmount a tiny output tmpfs in `folder`: ConfigError now, not at the first job,
    when this process may not."""
    probe = Path(tempfile.mkdtemp(prefix=".mount-probe-", dir=folder))
    try:
        mount_output(probe, size_mb=1, max_files=4, uid=os.getuid(), gid=os.getgid())
        unmount_output(probe)
    finally:
        probe.rmdir()


def unmount_output(path: Path) -> None:
    """Unmount the tmpfs at `path` (lazily, should anything still hold it); no error when none is."""
    while is_mounted(path):
        if _libc.umount2(os.fsencode(path), _MNT_DETACH) != 0:
            code = ctypes.get_errno()
            if code in (errno.EINVAL, errno.ENOENT):  # not a mount point (any more)
                return
            raise OSError(code, f"cannot unmount {path}: {os.strerror(code)}")


def is_mounted(path: Path) -> bool:
    """True when a job output tmpfs is mounted at `path`."""
    target = os.fsdecode(os.path.realpath(path))
    with open("/proc/self/mounts", "rb") as mounts:
        for line in mounts:
            source, point, fstype = line.split(b" ", 3)[:3]
            if source == _SOURCE and fstype == _FSTYPE and _unescape(point) == target:
                return True
    return False


def _unescape(field: bytes) -> str:
    # /proc/self/mounts writes space, tab, newline and backslash as octal escapes.
    text = os.fsdecode(field)
    for code in ("\\040", "\\011", "\\012", "\\134"):
        text = text.replace(code, chr(int(code[1:], 8)))
    return text
