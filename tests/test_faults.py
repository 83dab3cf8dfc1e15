"""Faults of the network, the service and the disk, with the real service behind a fault proxy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import changeImage
import run
import supplier_image_upload
from demo.processes import PROJECT, start_catalog
from demo.proxy import CatalogProxy
from demo.sample_drop import write_drop
from tests.helpers import catalog_fruits, media_files, run_script

pytestmark = pytest.mark.usefixtures("quick_backoff")


def steps(drop: Path, url: str, *flags: str) -> list[int]:
    """Upload the images, then post the fruits, in-process; return both exit codes."""
    argv = ["--data-dir", str(drop), "--url", url, "--jobs", "1", *flags]
    return [supplier_image_upload.main(argv), run.main(argv)]


def test_a_service_failing_for_a_while_is_retried_without_duplicates(
    converted: Path, catalog, proxy: CatalogProxy, capsys
) -> None:
    proxy.post_faults.extend([503, 503, 500])
    assert steps(converted, proxy.url) == [0, 0]
    assert len(media_files(catalog)) == 10
    assert len(catalog_fruits(catalog)) == 10
    err = capsys.readouterr().err
    assert err.count("the service failed (503 Service Unavailable); trying again") == 2
    assert err.count("the service failed (500 Internal Server Error); trying again") == 1


def test_a_post_stored_whose_answer_was_lost_is_not_stored_twice(
    converted: Path, catalog, proxy: CatalogProxy, capsys
) -> None:
    proxy.post_faults.extend(["lose", *[None] * 10, "lose"])  # one image, one fruit
    # The proxy drops an answer only after the service stored the request: a short window.
    assert steps(converted, proxy.url, "-v", "--timeout", "2", "--settle", "0") == [0, 0]
    assert media_files(catalog) == [f"{n:03d}.jpeg" for n in range(1, 11)]
    assert len(catalog_fruits(catalog)) == 10
    assert proxy.forwarded_posts == 20
    assert capsys.readouterr().err.count("it had landed after all: not sent again") == 2


def test_a_service_that_keeps_failing_gives_one_line_per_item_and_exit_1(
    converted: Path, catalog, proxy: CatalogProxy, capsys
) -> None:
    proxy.post_faults.extend([503] * 3)  # every try of the first image
    argv = ["--data-dir", str(converted), "--url", proxy.url, "--jobs", "1", "--retries", "2"]
    assert supplier_image_upload.main(argv) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if "ERROR" in line]
    assert errors == [
        "supplier_image_upload.py: ERROR: images/001.jpeg: gave up after 3 tries: POST "
        f"{proxy.url}/upload/: the service failed (503 Service Unavailable)"
    ]
    assert len(media_files(catalog)) == 9


def test_lost_answers_in_a_row_store_nothing_twice(
    converted: Path, catalog, proxy: CatalogProxy
) -> None:
    proxy.post_faults.extend(["lose"] * 3)
    assert steps(converted, proxy.url, "--retries", "2", "--timeout", "2", "--settle", "0") == [
        0, 0]
    assert media_files(catalog) == [f"{n:03d}.jpeg" for n in range(1, 11)]
    assert proxy.forwarded_posts == 20


def test_a_service_that_never_answers_times_out_in_one_line(
    converted: Path, proxy: CatalogProxy
) -> None:
    proxy.hang = True
    env = {"SUPPLIER_DATA_DIR": str(converted), "CATALOG_URL": proxy.url}
    result = run_script("run.py", "--timeout", "1", "--retries", "1", env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "no answer within 1 s" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_wrong_token_is_one_line_and_exit_2(converted: Path, tmp_path: Path) -> None:
    guarded = start_catalog(tmp_path / "guarded", token="the-right-token")
    try:
        env = {"SUPPLIER_DATA_DIR": str(converted), "CATALOG_URL": guarded.url,
               "CATALOG_TOKEN": "a-wrong-token"}
        result = run_script("supplier_image_upload.py", env=env)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1
        assert "refused (401: Invalid token.): set CATALOG_TOKEN" in result.stderr
        assert "a-wrong-token" not in result.stderr + result.stdout
        env["CATALOG_TOKEN"] = "the-right-token"
        assert run_script("supplier_image_upload.py", env=env).returncode == 0
        assert len(media_files(guarded)) == 10
    finally:
        guarded.stop()


def mount_tmpfs(folder: Path, options: str, disk: str) -> None:
    """Mount a tmpfs on folder, or skip saying why it cannot be."""
    if shutil.which("mount") is None:
        pytest.skip(f"needs the mount program (util-linux) to make a {disk} disk")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        reason = mounted.stderr.strip().splitlines()[0] if mounted.stderr.strip() else (
            f"exit {mounted.returncode}")
        pytest.skip(f"cannot mount a tmpfs to make a {disk} disk: {reason}")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a 200 KB tmpfs: room for a few JPEGs, not ten."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    mount_tmpfs(folder, "size=200k", "full")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=True)


def test_a_full_disk_fails_each_image_in_one_line_and_leaves_nothing_half_written(
    drop: Path, small_disk: Path, capsys
) -> None:
    (small_disk / "filler").write_bytes(b"\0" * (180 * 1024))
    argv = ["--data-dir", str(drop), "--output", str(small_disk), "--jobs", "1"]
    assert changeImage.main(argv) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if "ERROR" in line]
    assert errors and all("No space left on device" in line for line in errors)
    for path in small_disk.glob("*.jpeg"):
        assert path.read_bytes().endswith(b"\xff\xd9")  # every JPEG left there is whole
    assert not list(small_disk.glob(".*.tmp"))


def test_a_read_only_output_folder_is_reported(drop: Path, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    mount_tmpfs(folder, "ro", "read-only")
    try:
        argv = ["--data-dir", str(drop), "--output", str(folder), "--jobs", "1"]
        assert changeImage.main(argv) == 1
        errors = [line for line in capsys.readouterr().err.splitlines() if "ERROR" in line]
        assert len(errors) == 10
        assert all("Read-only file system" in line for line in errors)
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


# Root reads every file whatever its mode: these runs drop that right (the capabilities
# CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH) instead of switching to another user, so they
# need no second account and no checkout or Python that another user may read.
CANNOT_OVERRIDE_MODES = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
PROBE = """import sys
try:
    open(sys.argv[1], "rb").close()
except PermissionError:
    print("denied")
"""


def run_where_modes_apply(
    command: list[str], unreadable: Path
) -> subprocess.CompletedProcess[str]:
    """Run python3 COMMAND from the project as a process that file modes apply to, once it is
    shown that such a process may not read `unreadable`; else skip, saying why."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("needs setpriv (util-linux) to run root without its right to read "
                        "any file")
        prefix = CANNOT_OVERRIDE_MODES
    try:
        probe = subprocess.run([*prefix, sys.executable, "-c", PROBE, str(unreadable)],
                               cwd=PROJECT, capture_output=True, text=True, timeout=60)
    except OSError as error:
        pytest.skip(f"cannot run this Python from {PROJECT}: {error}")
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or [f"exit {probe.returncode}"])[-1]
        pytest.skip(f"cannot run a process that file modes apply to: {reason}")
    if probe.stdout.strip() != "denied":
        pytest.skip(f"this user reads {unreadable} whatever its mode (it has "
                    "CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH)")
    return subprocess.run([*prefix, sys.executable, *command], cwd=PROJECT,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_an_unreadable_tiff_is_reported_and_the_rest_go_on(tmp_path: Path) -> None:
    drop = tmp_path / "supplier-data"
    write_drop(drop, count=3, size=(300, 200))
    unreadable = drop / "images" / "002.tiff"
    unreadable.chmod(0)
    result = run_where_modes_apply(["changeImage.py", "--data-dir", str(drop)], unreadable)
    assert result.returncode == 1
    assert result.stderr == (
        "changeImage.py: ERROR: images/002.tiff: cannot read it: permission denied\n"
    )
    assert sorted(path.name for path in (drop / "images").glob("*.jpeg")) == [
        "001.jpeg", "003.jpeg"
    ]


def test_a_drop_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    drop = tmp_path / "supplier-data"
    write_drop(drop, count=3, size=(300, 200))
    drop.chmod(0)
    try:
        result = run_where_modes_apply(["run.py", "--data-dir", str(drop)],
                                       drop / "descriptions" / "001.txt")
    finally:
        drop.chmod(0o755)
    assert result.returncode == 2
    assert result.stderr == (
        f"run.py: ERROR: {drop}/descriptions: cannot open it: Permission denied\n"
    )
