"""changeImage.py: every TIFF becomes a 600x400 RGB JPEG on white; bad files are reported."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from PIL import Image

import changeImage
from automation.madefrom import MANIFEST_NAME
from demo.processes import PROJECT
from demo.sample_drop import FRUITS, photo


def make_tiff(path: Path, mode: str = "RGBA", size: tuple[int, int] = (1200, 800), **save) -> Path:
    """A real TIFF of a mode: a red square in the middle, the rest transparent or black."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    w, h = size
    image.paste((220, 30, 40, 255), (w // 4, h // 4, 3 * w // 4, 3 * h // 4))
    if mode == "I;16":  # 16-bit values span 0-65535
        image = image.convert("L").convert("I").point(lambda v: v * 257).convert("I;16")
    elif mode != "RGBA":
        image = image.convert(mode)
    image.save(path, "TIFF", **save)
    return path


def bomb_tiff(path: Path, width: int, height: int) -> Path:
    """A tiny file whose header declares a huge greyscale image (a decompression bomb)."""
    entries = [
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1),
        (262, 3, 1, 1), (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, 1),
    ]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, kind, count, value) for tag, kind, count, value in entries
    ) + struct.pack("<I", 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"II*\x00" + struct.pack("<I", 8 + 1) + b"\x00" + ifd)
    return path


@pytest.fixture
def images(tmp_path: Path) -> Path:
    """An empty drop's images folder."""
    folder = tmp_path / "drop" / "images"
    folder.mkdir(parents=True)
    return folder


def convert(images: Path, *flags: str) -> int:
    """Run the script in-process on the drop holding images, one job."""
    return changeImage.main(["--data-dir", str(images.parent), "--jobs", "1", *flags])


def test_every_tiff_of_the_drop_becomes_a_600x400_rgb_jpeg(drop: Path, capsys) -> None:
    assert changeImage.main(["--data-dir", str(drop)]) == 0
    jpegs = sorted((drop / "images").glob("*.jpeg"))
    assert [path.name for path in jpegs] == [f"{n:03d}.jpeg" for n in range(1, 11)]
    for path in jpegs:
        with Image.open(path) as image:
            assert (image.format, image.size, image.mode) == ("JPEG", (600, 400), "RGB")
    assert capsys.readouterr().out == "10 converted, 0 already up to date, 0 failed\n"


def test_transparency_becomes_white_never_black(images: Path) -> None:
    photo(FRUITS[0], (3000, 2000), seed=1).save(images / "001.tiff", "TIFF")
    assert convert(images) == 0
    with Image.open(images / "001.jpeg") as image:
        corner = image.getpixel((3, 3))
        middle = image.getpixel((300, 200))
    assert all(channel >= 250 for channel in corner), corner
    assert middle[0] > 150 and middle[1] < 100, middle  # the apple is still red


def test_the_tiff_is_never_modified(images: Path) -> None:
    tiff = make_tiff(images / "001.tiff")
    before = (tiff.read_bytes(), tiff.stat().st_mtime_ns)
    assert convert(images) == 0
    assert (tiff.read_bytes(), tiff.stat().st_mtime_ns) == before


@pytest.mark.parametrize("name", ["001.tif", "002.TIFF", "003.TIF"])
def test_every_spelling_of_tiff_is_converted(images: Path, name: str) -> None:
    make_tiff(images / name)
    assert convert(images) == 0
    assert (images / f"{Path(name).stem}.jpeg").is_file()


def test_files_that_are_not_images_are_left_alone_quietly(images: Path, capsys) -> None:
    (images / "LICENSE").write_text("licence")
    (images / "README").write_text("readme")
    make_tiff(images / "001.tiff")
    assert convert(images) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert sorted(p.name for p in images.iterdir()) == [
        MANIFEST_NAME, "001.jpeg", "001.tiff", "LICENSE", "README"
    ]


@pytest.mark.parametrize(
    ("mode", "save"),
    [
        pytest.param("RGB", {}, id="rgb"),
        pytest.param("L", {}, id="greyscale"),
        pytest.param("LA", {}, id="greyscale-alpha"),
        pytest.param("P", {}, id="palette"),
        pytest.param("CMYK", {}, id="cmyk"),
        pytest.param("1", {}, id="bilevel"),
        pytest.param("I;16", {}, id="16-bit"),
        pytest.param("RGBA", {"compression": "tiff_lzw"}, id="lzw"),
        pytest.param("RGBA", {"compression": "tiff_deflate"}, id="deflate"),
    ],
)
def test_every_kind_of_tiff_becomes_an_rgb_jpeg(images: Path, mode: str, save: dict) -> None:
    make_tiff(images / "001.tiff", mode, **save)
    assert convert(images) == 0
    with Image.open(images / "001.jpeg") as image:
        assert (image.size, image.mode) == ((600, 400), "RGB")
        assert image.getpixel((300, 200)) != image.getpixel((5, 5))  # the picture survived


def test_sixteen_bit_values_are_scaled_not_clipped(images: Path) -> None:
    Image.new("I;16", (1200, 800), 32768).save(images / "001.tiff", "TIFF")
    assert convert(images) == 0
    with Image.open(images / "001.jpeg") as image:
        assert 120 <= image.getpixel((300, 200))[0] <= 135  # mid-grey, not white


def test_exif_orientation_is_respected(images: Path) -> None:
    image = Image.new("RGB", (800, 1200), "white")
    image.paste((0, 0, 255), (0, 0, 800, 300))  # blue along the top edge as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: view it rotated 90° clockwise
    image.save(images / "001.tiff", "TIFF", exif=exif)
    assert convert(images) == 0
    with Image.open(images / "001.jpeg") as result:
        right, left = result.getpixel((590, 200)), result.getpixel((10, 200))
    assert right[2] > 200 and right[0] < 60, right  # the stored top is now the right side
    assert left == pytest.approx((255, 255, 255), abs=6)


def test_a_multi_page_tiff_gives_its_first_page_with_a_warning(images: Path, capsys) -> None:
    first = Image.new("RGB", (1200, 800), (0, 200, 0))
    second = Image.new("RGB", (1200, 800), (200, 0, 0))
    first.save(images / "001.tiff", "TIFF", save_all=True, append_images=[second])
    assert convert(images) == 0
    with Image.open(images / "001.jpeg") as image:
        assert image.getpixel((300, 200))[1] > 150
    assert "images/001.tiff: has 2 pages: converted the first" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(b"", "not a TIFF image", id="empty"),
        pytest.param(b"this is a text file, named .tiff", "not a TIFF image", id="text"),
        pytest.param("png", "not a TIFF image", id="png-named-tiff"),
        pytest.param("truncated", "cannot decode it", id="truncated"),
    ],
)
def test_a_bad_file_is_reported_in_one_line_and_the_rest_go_on(
    images: Path, capsys, content: bytes | str, reason: str
) -> None:
    make_tiff(images / "001.tiff")
    bad = images / "002.tiff"
    if content == "png":
        Image.new("RGB", (60, 40)).save(bad, "PNG")
    elif content == "truncated":
        make_tiff(bad)
        bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    else:
        bad.write_bytes(content)
    make_tiff(images / "003.tiff")
    assert convert(images) == 1
    captured = capsys.readouterr()
    errors = captured.err.splitlines()
    assert len(errors) == 1
    assert f"ERROR: images/002.tiff: {reason}" in errors[0]
    assert "Traceback" not in captured.err
    assert captured.out == "2 converted, 0 already up to date, 1 failed\n"
    assert sorted(p.name for p in images.glob("*.jpeg")) == ["001.jpeg", "003.jpeg"]


def test_a_decompression_bomb_is_refused_without_reading_it(images: Path, capsys) -> None:
    bomb_tiff(images / "001.tiff", 100_000, 100_000)
    assert convert(images) == 1
    err = capsys.readouterr().err
    assert "images/001.tiff: declares 100000x100000 pixels, over the limit" in err
    assert not (images / "001.jpeg").exists()


def test_the_pixel_limit_can_be_set(images: Path, capsys) -> None:
    make_tiff(images / "001.tiff", size=(1200, 800))
    assert convert(images, "--max-pixels", "500000") == 1
    assert "declares 1200x800 pixels, over the limit of 500,000" in capsys.readouterr().err


def test_an_up_to_date_jpeg_is_left_alone_unless_forced(images: Path, capsys) -> None:
    make_tiff(images / "001.tiff")
    assert convert(images) == 0
    jpeg = images / "001.jpeg"
    stamp = jpeg.stat().st_mtime_ns
    capsys.readouterr()
    assert convert(images) == 0
    assert jpeg.stat().st_mtime_ns == stamp
    assert capsys.readouterr().out == "0 converted, 1 already up to date, 0 failed\n"
    assert convert(images, "--force") == 0
    assert jpeg.stat().st_mtime_ns != stamp


def test_a_newer_tiff_is_converted_again(images: Path) -> None:
    tiff = make_tiff(images / "001.tiff")
    assert convert(images) == 0
    jpeg = images / "001.jpeg"
    os.utime(tiff, (1, jpeg.stat().st_mtime + 10))
    stamp = jpeg.stat().st_mtime_ns
    assert convert(images) == 0
    assert jpeg.stat().st_mtime_ns != stamp


WEEK = 7 * 24 * 3600


def unpack_over(tiff: Path, photo_bytes: bytes, mtime: float) -> None:
    """Put a photo at tiff as an archive unpacked over the drop does: a new file, the supplier's
    old modification time."""
    tiff.unlink()
    tiff.write_bytes(photo_bytes)
    os.utime(tiff, (mtime, mtime))


def centre_of(jpeg: Path) -> tuple[int, ...]:
    """The colour at the middle of a JPEG."""
    with Image.open(jpeg) as image:
        return image.getpixel((image.width // 2, image.height // 2))


def test_the_next_drop_unpacked_over_the_last_is_converted_though_its_times_are_older(
    images: Path, tmp_path: Path, capsys
) -> None:
    """The archive's TIFF is dated a week before last week's JPEG: it is still a new photo."""
    make_tiff(images / "001.tiff")
    assert convert(images) == 0
    jpeg = images / "001.jpeg"
    assert centre_of(jpeg)[0] > 200  # last week's red square
    green = tmp_path / "green.tiff"
    Image.new("RGB", (1200, 800), (20, 160, 40)).save(green, "TIFF")
    unpack_over(images / "001.tiff", green.read_bytes(), jpeg.stat().st_mtime - WEEK)
    capsys.readouterr()
    assert convert(images) == 0
    assert capsys.readouterr().out == "1 converted, 0 already up to date, 0 failed\n"
    red, green_level, _ = centre_of(jpeg)
    assert green_level > 140 and red < 60


def test_the_same_photo_unpacked_again_gives_the_very_same_jpeg(images: Path) -> None:
    """Converting is deterministic: the catalog recognises a picture by its JPEG's bytes."""
    tiff = make_tiff(images / "001.tiff")
    assert convert(images) == 0
    jpeg = images / "001.jpeg"
    first = jpeg.read_bytes()
    unpack_over(tiff, tiff.read_bytes(), jpeg.stat().st_mtime - WEEK)
    stamp = jpeg.stat().st_mtime_ns
    assert convert(images) == 0
    assert jpeg.stat().st_mtime_ns != stamp  # made again: it is not the file it was made from
    assert jpeg.read_bytes() == first


def test_a_jpeg_made_before_jpegs_were_noted_is_kept_until_its_tiff_changes(
    images: Path, capsys
) -> None:
    """An earlier version left no note: its JPEG stays while it is newer than every change of
    the TIFF (its change time, which no archive sets), and is made again after one."""
    tiff = make_tiff(images / "001.tiff")
    assert convert(images) == 0
    (images / MANIFEST_NAME).unlink()
    capsys.readouterr()
    assert convert(images) == 0
    assert capsys.readouterr().out == "0 converted, 1 already up to date, 0 failed\n"
    (images / MANIFEST_NAME).unlink()
    unpack_over(tiff, tiff.read_bytes(), (images / "001.jpeg").stat().st_mtime - WEEK)
    assert convert(images) == 0
    assert capsys.readouterr().out == "1 converted, 0 already up to date, 0 failed\n"


def test_a_jpeg_changed_by_hand_is_made_again(images: Path) -> None:
    make_tiff(images / "001.tiff")
    assert convert(images) == 0
    jpeg = images / "001.jpeg"
    made = jpeg.read_bytes()
    Image.new("RGB", (600, 400), "blue").save(jpeg, "JPEG")
    assert convert(images) == 0
    assert jpeg.read_bytes() == made


def test_another_recipe_makes_the_jpegs_again(images: Path, monkeypatch, capsys) -> None:
    make_tiff(images / "001.tiff")
    assert convert(images) == 0
    monkeypatch.setattr(changeImage, "RECIPE", "another size or quality")
    capsys.readouterr()
    assert convert(images) == 0
    assert capsys.readouterr().out == "1 converted, 0 already up to date, 0 failed\n"


def test_an_unreadable_note_is_ignored_and_written_anew(images: Path, capsys) -> None:
    """Without its note, a JPEG is judged as one an earlier version made."""
    tiff = make_tiff(images / "001.tiff")
    assert convert(images) == 0
    (images / MANIFEST_NAME).write_text("{ cut short")
    unpack_over(tiff, tiff.read_bytes(), (images / "001.jpeg").stat().st_mtime - WEEK)
    capsys.readouterr()
    assert convert(images) == 0
    captured = capsys.readouterr()
    assert captured.out == "1 converted, 0 already up to date, 0 failed\n"
    assert f"{MANIFEST_NAME}: unreadable, ignored: a JPEG is kept only when" in captured.err
    assert convert(images) == 0
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("0 converted, 1 already up to date, 0 failed\n", "")


def test_another_output_folder_may_be_chosen(images: Path, tmp_path: Path) -> None:
    make_tiff(images / "001.tiff")
    out = tmp_path / "jpegs"
    assert convert(images, "--output", str(out)) == 0
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST_NAME, "001.jpeg"]
    assert not (images / "001.jpeg").exists()


def test_no_temporary_file_is_left_behind(images: Path) -> None:
    make_tiff(images / "001.tiff")
    (images / "002.tiff").write_bytes(b"junk")
    convert(images)
    assert [p.name for p in images.iterdir() if p.name.startswith(".")] == [MANIFEST_NAME]


def test_several_processes_give_the_same_images_as_one(drop: Path, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    assert changeImage.main(["--data-dir", str(drop), "--jobs", "1", "--output", str(one)]) == 0
    assert changeImage.main(["--data-dir", str(drop), "--jobs", "2", "--output", str(two)]) == 0
    jpegs = sorted(path.name for path in one.glob("*.jpeg"))
    assert len(jpegs) == 10
    for name in jpegs:
        assert (two / name).read_bytes() == (one / name).read_bytes()


def test_a_missing_drop_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    assert changeImage.main(["--data-dir", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere/images: no such folder" in err


def test_the_data_dir_comes_from_the_environment(drop: Path, monkeypatch) -> None:
    monkeypatch.setenv("SUPPLIER_DATA_DIR", str(drop))
    assert changeImage.main(["--jobs", "1"]) == 0
    assert len(list((drop / "images").glob("*.jpeg"))) == 10


def test_bad_flags_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        changeImage.main(["--jobs", "0"])
    assert exit_info.value.code == 2
    assert "--jobs: must be 1 or more" in capsys.readouterr().err


def test_progress_shows_at_a_terminal_and_never_under_cron(drop: Path) -> None:
    command = [sys.executable, "changeImage.py", "--data-dir", str(drop), "--force"]
    main_side, terminal_side = pty.openpty()
    fcntl.ioctl(terminal_side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    with os.fdopen(main_side, "rb", buffering=0) as terminal:
        at_terminal = subprocess.run(command, cwd=PROJECT, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=terminal_side, timeout=120)
        os.close(terminal_side)
        shown = b""
        with contextlib.suppress(OSError):  # EIO once everything written was read
            while chunk := terminal.read(4096):
                shown += chunk
    assert at_terminal.returncode == 0
    assert b"converting:" in shown and b"/10 [" in shown
    under_cron = subprocess.run(command, cwd=PROJECT, capture_output=True, timeout=120)
    assert under_cron.returncode == 0
    assert under_cron.stderr == b""
    assert under_cron.stdout == b"10 converted, 0 already up to date, 0 failed\n"


@pytest.mark.parametrize(("compression", "blocks"), [("raw", 0), ("tiff_lzw", 2)])
def test_freed_blocks_are_cached_for_compressed_tiffs_only(
    images: Path, monkeypatch: pytest.MonkeyPatch, compression: str, blocks: int
) -> None:
    monkeypatch.delenv("PILLOW_BLOCKS_MAX", raising=False)
    before = Image.core.get_blocks_max()
    try:
        make_tiff(images / "001.tiff", compression=compression)
        assert convert(images) == 0
        assert Image.core.get_blocks_max() == blocks
    finally:
        Image.core.set_blocks_max(before)


def test_the_conversion_does_without_the_block_cache_setter(
    images: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(Image.core, "set_blocks_max")
    make_tiff(images / "001.tiff", compression="tiff_lzw")
    assert convert(images) == 0
    with Image.open(images / "001.jpeg") as image:
        assert (image.size, image.mode) == ((600, 400), "RGB")


def test_the_operators_own_block_setting_is_left_alone(
    images: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PILLOW_BLOCKS_MAX", "5")
    before = Image.core.get_blocks_max()
    make_tiff(images / "001.tiff", compression="tiff_lzw")
    assert convert(images) == 0
    assert Image.core.get_blocks_max() == before
