"""The job output tmpfs: mounted and unmounted by the controller, refused clearly without the right."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from controller._outputfs import check_mounting, is_mounted, mount_output, unmount_output


def test_a_mounted_output_is_capped_and_goes_away(tmp_path: Path) -> None:
    folder = tmp_path / "out put"  # a space: /proc/self/mounts escapes it
    folder.mkdir()
    mount_output(folder, size_mb=1, max_files=8, uid=os.getuid(), gid=os.getgid())
    try:
        assert is_mounted(folder)
        with pytest.raises(OSError) as full, open(folder / "big", "wb") as out:
            out.write(b"x" * 2 * 2**20)
            out.flush()
        assert full.value.errno == 28  # ENOSPC while writing, not after
    finally:
        unmount_output(folder)
    assert not is_mounted(folder) and not any(folder.iterdir())
    unmount_output(folder)  # none mounted: no error


def test_check_mounting_passes_as_root_and_leaves_nothing(tmp_path: Path) -> None:
    check_mounting(tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux) to drop root")
def test_without_the_right_to_mount_the_controller_says_so() -> None:
    # Not under pytest's tmp_path: its parents are root's alone, and the probe runs as nobody.
    folder = Path(tempfile.mkdtemp(prefix="statagent-mount-"))
    folder.chmod(0o777)
    probe = (
        "from pathlib import Path\n"
        "from errors import ConfigError\n"
        "from controller._outputfs import check_mounting\n"
        "try:\n"
        f"    check_mounting(Path({str(folder)!r}))\n"
        "except ConfigError as error:\n"
        "    print(error)\n"
    )
    try:
        done = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            check=False,
        )
        assert "must run as root (or with CAP_SYS_ADMIN)" in done.stdout, done.stderr
        assert list(folder.iterdir()) == []
    finally:
        shutil.rmtree(folder)
