"""File-system faults end a job with one line naming the output and the cause, leave nothing
half-written, and outputs keep the umask's permissions; the logs of every attempt are kept.

The disk-full and read-only cases use a real (tiny) tmpfs, mounted by the test (root only,
as in CI; they skip where mounting is not permitted), and the permission case a real
unprivileged process.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

from dlrepro import io
from dlrepro.errors import OutputError
from dlrepro.runner import ATTEMPT_MARK, attempts_path, run


@contextlib.contextmanager
def _tmpfs(path: Path, size: str = "128k"):
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (as in CI)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture
def full_disk(tmp_path):
    with _tmpfs(tmp_path / "small") as mnt:
        yield mnt


def _dataset(n: int = 100_000) -> xr.Dataset:
    return xr.Dataset({"a": (("x",), np.random.default_rng(0).random(n))})


def test_netcdf_on_a_full_disk_names_the_file_and_the_cause(full_disk):
    target = full_disk / "results" / "cube.nc"
    with pytest.raises(OutputError) as err:
        io.write_netcdf(_dataset(), target)
    assert str(err.value) == (
        f"cannot write {target}: no space left on device (ENOSPC: 0 bytes free on the file system of "
        f"{target.parent}); the writer said: NetCDF: HDF error"
    )
    assert list(target.parent.iterdir()) == []  # no partial output, no temporary file


def test_text_on_a_full_disk(full_disk):
    target = full_disk / "table.md"
    with pytest.raises(
        OutputError, match=r"^cannot write .*table\.md: no space left on device \(ENOSPC: 0 bytes"
    ):
        io.write_text("x" * 1_000_000, target)
    assert list(full_disk.iterdir()) == []


def test_read_only_file_system(full_disk):
    subprocess.run(["mount", "-o", "remount,ro", str(full_disk)], check=True)
    target = full_disk / "results" / "metrics.json"
    with pytest.raises(OutputError) as err:
        io.write_json({"a": 1}, target)
    assert str(err.value) == f"cannot write {target}: read-only file system (EROFS)"


def test_permission_denied_for_an_unprivileged_user(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to become another user")
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(locked, 0o755)  # owned by root: user 'nobody' may not create files in it
    target = locked / "out.txt"
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child drops to 'nobody' and writes
        message = "no error"
        try:
            os.setgid(65534)
            os.setuid(65534)
            io.write_text("x", target)
        except OutputError as exc:
            message = str(exc)
        except BaseException as exc:  # noqa: BLE001 (reported to the parent)
            message = f"{type(exc).__name__}: {exc}"
        os.write(write, message.encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as fh:
        message = fh.read()
    assert message == f"cannot write {target}: permission denied (EACCES)"
    assert list(locked.iterdir()) == []


@pytest.mark.parametrize(("umask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_atomic_outputs_keep_the_umask_permissions(tmp_path, umask, file_mode, dir_mode):
    old = os.umask(umask)
    try:
        io.write_json({"a": 1}, tmp_path / "m.json")
        io.write_netcdf(_dataset(10), tmp_path / "d.nc")
        with io.atomic_dir(tmp_path / "model") as tmp:
            (tmp / "w.bin").write_bytes(b"1")
    finally:
        os.umask(old)
    for name in ("m.json", "d.nc"):
        assert oct((tmp_path / name).stat().st_mode & 0o777) == oct(file_mode), name
    assert oct((tmp_path / "model").stat().st_mode & 0o777) == oct(dir_mode)


def _job(tmp_path: Path, output: Path) -> SimpleNamespace:
    log = tmp_path / "logs" / "job.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    return SimpleNamespace(log=[str(log)], output=[str(output)])


def test_runner_reports_a_full_disk_in_one_line_not_as_a_bug(full_disk, tmp_path, capsys):
    target = full_disk / "patches.bin"

    def main(snakemake, log):
        with open(target, "wb") as fh:  # a plain write, outside the atomic writers
            fh.write(b"x" * 1_000_000)

    job = _job(tmp_path, target)
    with pytest.raises(SystemExit) as stop:
        run(main, job)
    assert stop.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"ERROR: cannot write {target}: no space left on device (ENOSPC: ")
    log = Path(job.log[0]).read_text()
    assert "a bug" not in log and "Traceback" not in log


def test_logs_of_every_attempt_are_kept(tmp_path):
    """Snakemake deletes a job's log before a retry; the runner puts the earlier attempts back."""
    job = _job(tmp_path, tmp_path / "out.txt")
    log = Path(job.log[0])

    def failing(snakemake, logger):
        logger.info("epoch 1/3 done")
        raise OutputError("cannot write out.txt: no space left on device (ENOSPC)")

    with pytest.raises(SystemExit):
        run(failing, job)
    log.unlink()  # as Snakemake does before it runs the job again

    def resuming(snakemake, logger):
        logger.info("resuming from checkpoints after epoch 1 of 3")

    run(resuming, job)
    text = log.read_text()
    assert text.count(ATTEMPT_MARK) == 2
    first, second = text.split(f"{ATTEMPT_MARK}2 started", 1)
    assert "epoch 1/3 done" in first and "ERROR cannot write out.txt" in first
    assert "the log of the earlier attempts is above" in second
    assert "resuming from checkpoints after epoch 1 of 3" in second
    assert not attempts_path(log).exists()  # done: the next run starts a clean log

    log.unlink()
    run(resuming, job)
    assert log.read_text().count(ATTEMPT_MARK) == 1
