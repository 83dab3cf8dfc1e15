"""changeImage.py: every TIFF becomes a 600x400 RGB JPEG on white; bad files are reported."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import pty
import socket
import stat
import struct
import subprocess
import sys
import termios
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageCms, ImageDraw, ImageFilter, TiffImagePlugin

import changeImage
from automation.madefrom import MANIFEST_NAME
from demo.processes import PROJECT
from demo.sample_drop import FRUITS, photo
from tests.helpers import bomb_tiff, fed_fifo


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
KEPT = "0 converted, 0 already up to date, 1 kept as made before, 0 failed\n"


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
    assert capsys.readouterr().out == KEPT
    assert not (images / MANIFEST_NAME).exists()  # nothing to note: no empty note written
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


def test_a_jpeg_made_with_other_settings_is_kept_and_said_so_unless_forced(
    images: Path, monkeypatch, capsys
) -> None:
    """The catalog knows a picture by its bytes: remade, it would be a second picture of the
    same product there. So a new version's settings keep what the last one made."""
    make_tiff(images / "001.tiff")
    assert convert(images) == 0
    jpeg = (images / "001.jpeg").read_bytes()
    monkeypatch.setattr(changeImage, "JPEG_SETTINGS", {"quality": 50})
    monkeypatch.setattr(changeImage, "RECIPE", "another quality")
    capsys.readouterr()
    assert convert(images) == 0
    assert capsys.readouterr().out == KEPT
    assert (images / "001.jpeg").read_bytes() == jpeg
    assert convert(images, "--force") == 0
    assert capsys.readouterr().out == "1 converted, 0 already up to date, 0 failed\n"
    assert (images / "001.jpeg").read_bytes() != jpeg
    assert convert(images) == 0
    assert capsys.readouterr().out == "0 converted, 1 already up to date, 0 failed\n"


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
    assert convert(images) == 0  # the note was written anew with the conversion
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
    """Also for photos with a profile, a feathered margin, another shape."""
    images = drop / "images"
    patch_photo(images / "011.tiff", "RGB", PROFILES["adobe-rgb"]())
    patch_photo(images / "012.tiff", "CMYK")
    feathered_photo("RGBA").save(images / "013.tiff", "TIFF")
    disc_photo(images / "014.tiff", (900, 1200))
    one, two = tmp_path / "one", tmp_path / "two"
    assert changeImage.main(["--data-dir", str(drop), "--jobs", "1", "--output", str(one)]) == 0
    assert changeImage.main(["--data-dir", str(drop), "--jobs", "2", "--output", str(two)]) == 0
    jpegs = sorted(path.name for path in one.glob("*.jpeg"))
    assert len(jpegs) == 14
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


# -- The shape of a photo ------------------------------------------------------------------

def disc_photo(path: Path, size: tuple[int, int]) -> Path:
    """A grey photo of a dark disc in its middle, whose diameter is 2/5 of the shorter side."""
    image = Image.new("RGB", size, (128, 128, 128))
    radius = min(size) // 5
    x, y = size[0] // 2, size[1] // 2
    ImageDraw.Draw(image).ellipse((x - radius, y - radius, x + radius, y + radius), (10, 20, 30))
    image.save(path, "TIFF")
    return path


def bbox_where(jpeg: Path, test: Callable[[int], bool]) -> tuple[int, int, int, int]:
    """The bounding box of the JPEG's pixels whose grey level passes test."""
    with Image.open(jpeg) as image:
        box = image.convert("L").point(lambda level: 255 if test(level) else 0).getbbox()
    assert box is not None
    return box


SHAPES = {
    "3:2": (1200, 800), "square": (1200, 1200), "portrait 3:4": (900, 1200),
    "panorama 4:1": (2400, 600),
}


@pytest.mark.parametrize("size", SHAPES.values(), ids=SHAPES.keys())
def test_a_photo_is_fitted_inside_the_frame_on_white_never_stretched(
    images: Path, size: tuple[int, int]
) -> None:
    disc_photo(images / "001.tiff", size)
    assert convert(images) == 0
    jpeg = images / "001.jpeg"
    left, top, right, bottom = bbox_where(jpeg, lambda level: level < 200)  # the photo
    width, height = right - left, bottom - top
    assert abs(width * size[1] - height * size[0]) <= 2 * max(size)  # its proportions, to 2 px
    assert width == 600 or height == 400  # as large as the frame allows
    assert abs(left - (600 - right)) <= 1 and abs(top - (400 - bottom)) <= 1  # in the middle
    left, top, right, bottom = bbox_where(jpeg, lambda level: level < 70)  # the disc
    assert abs((right - left) - (bottom - top)) <= 2, (left, top, right, bottom)  # round
    assert (right - left) == pytest.approx(0.4 * min(width, height), abs=3)


@pytest.mark.parametrize("size", SHAPES.values(), ids=SHAPES.keys())
def test_with_fit_crop_a_photo_fills_the_frame_cropped_around_its_centre(
    images: Path, size: tuple[int, int]
) -> None:
    disc_photo(images / "001.tiff", size)
    assert convert(images, "--fit", "crop") == 0
    jpeg = images / "001.jpeg"
    assert bbox_where(jpeg, lambda level: level < 200) == (0, 0, 600, 400)  # no white left
    left, top, right, bottom = bbox_where(jpeg, lambda level: level < 70)
    assert abs((right - left) - (bottom - top)) <= 2, (left, top, right, bottom)  # round
    assert abs(left - (600 - right)) <= 1 and abs(top - (400 - bottom)) <= 1  # centred
    scale = max(600 / size[0], 400 / size[1])
    assert (right - left) == pytest.approx(0.4 * min(size) * scale, abs=3)


@pytest.mark.parametrize(
    ("photo_size", "fit", "box", "size", "offset"),
    [
        ((3000, 2000), "pad", (0, 0, 3000, 2000), (600, 400), (0, 0)),
        ((3000, 2000), "crop", (0, 0, 3000, 2000), (600, 400), (0, 0)),
        ((3024, 4032), "pad", (0, 0, 3024, 4032), (300, 400), (150, 0)),
        ((3024, 4032), "crop", (0, 1008, 3024, 3024), (600, 400), (0, 0)),
        ((6000, 1000), "pad", (0, 0, 6000, 1000), (600, 100), (0, 150)),
        ((6000, 1000), "crop", (2250, 0, 3750, 1000), (600, 400), (0, 0)),
        ((300, 200), "pad", (0, 0, 300, 200), (600, 400), (0, 0)),
    ],
)
def test_where_a_photo_goes_in_the_frame(
    photo_size: tuple[int, int], fit: str, box: tuple, size: tuple, offset: tuple
) -> None:
    placement = changeImage.place(photo_size, (600, 400), fit)
    assert (placement.box, placement.size, placement.offset) == (box, size, offset)


def test_a_photo_turned_by_its_exif_orientation_keeps_its_shape(images: Path) -> None:
    """Stored 1200x900 and tagged 'turn 90°': a 3:4 portrait, fitted as such."""
    image = Image.new("RGB", (1200, 900), (128, 128, 128))
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(images / "001.tiff", "TIFF", exif=exif)
    assert convert(images) == 0
    left, top, right, bottom = bbox_where(images / "001.jpeg", lambda level: level < 200)
    assert (right - left, bottom - top) == (300, 400)


# -- Colours ---------------------------------------------------------------------------------

ICC_PROFILES = Path("/usr/share/color/icc")
D50 = (0.9642, 1.0, 0.8249)
# D50-adapted colorants of the published profiles.
ADOBE_RGB = ((0.60974, 0.31111, 0.01947), (0.20528, 0.62567, 0.06087),
             (0.14919, 0.06322, 0.74457))
DISPLAY_P3 = ((0.51512, 0.24120, -0.00105), (0.29198, 0.69225, 0.04189),
              (0.15710, 0.06657, 0.78407))


def s15fixed16(*values: float) -> bytes:
    """ICC's signed 15.16 fixed-point numbers."""
    return b"".join(struct.pack(">i", round(value * 65536)) for value in values)


def gamma_curve(gamma: float) -> bytes:
    """An ICC tone curve that is a plain power."""
    return b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256))


def srgb_curve(points: int = 1024) -> bytes:
    """The sRGB tone curve (Display P3 uses it too), as an ICC table."""
    def linear(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
    table = [round(linear(i / (points - 1)) * 65535) for i in range(points)]
    return b"curv" + bytes(4) + struct.pack(f">I{points}H", points, *table)


def matrix_profile(name: str, colorants: tuple, curve: bytes) -> bytes:
    """An ICC v2 RGB display profile made of a matrix and tone curves, as Adobe RGB (1998) and
    Display P3 are defined (ImageCms can only create sRGB, Lab and XYZ profiles)."""
    text = name.encode("ascii") + b"\0"
    description = (b"desc" + bytes(4) + struct.pack(">I", len(text)) + text
                   + bytes(4 + 4 + 2 + 1 + 67))
    tags = [(b"desc", description), (b"wtpt", b"XYZ " + bytes(4) + s15fixed16(*D50))]
    tags += [(signature, b"XYZ " + bytes(4) + s15fixed16(*colorant))
             for signature, colorant in zip((b"rXYZ", b"gXYZ", b"bXYZ"), colorants, strict=True)]
    tags += [(signature, curve) for signature in (b"rTRC", b"gTRC", b"bTRC")]
    tags.append((b"cprt", b"text" + bytes(4) + b"Made by the tests\0"))
    start = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        table += struct.pack(">4sII", signature, start + len(body), len(data))
        body += data + bytes(-len(data) % 4)
    header = (struct.pack(">I4sI4s4s4s", start + len(body), b"lcms", 0x02100000, b"mntr",
                          b"RGB ", b"XYZ ")
              + bytes(12) + b"acsp" + bytes(28) + s15fixed16(*D50) + bytes(48))
    return header + struct.pack(">I", len(tags)) + table + body


def debian_profile(name: str, package: str) -> bytes:
    """A profile of a Debian package (.ci/run installs it), or skip the test."""
    path = ICC_PROFILES / name
    if not path.is_file():
        pytest.skip(f"needs {path} (Debian package {package})")
    return path.read_bytes()


PATCHES = {
    "RGB": [(200, 60, 60), (60, 160, 90), (50, 80, 200), (128, 128, 128)],
    "CMYK": [(0, 200, 200, 0), (200, 0, 200, 0), (200, 120, 0, 0), (0, 0, 0, 128)],
    "L": [32, 96, 160, 224],
}
PROFILES = {
    "adobe-rgb": lambda: matrix_profile("Adobe RGB (1998)", ADOBE_RGB, gamma_curve(563 / 256)),
    "display-p3": lambda: matrix_profile("Display P3", DISPLAY_P3, srgb_curve()),
    "adobe-rgb-debian": lambda: debian_profile("compatibleWithAdobeRGB1998.icc",
                                               "icc-profiles-free"),
    "cmyk-swop-ghostscript": lambda: debian_profile("ghostscript/default_cmyk.icc",
                                                    "libgs-common"),
    "grey-gamma-1": lambda: debian_profile("Gray.icc", "icc-profiles-free"),
}
PROFILE_MODES = {"adobe-rgb": "RGB", "display-p3": "RGB", "adobe-rgb-debian": "RGB",
                 "cmyk-swop-ghostscript": "CMYK", "grey-gamma-1": "L"}
QUARTERS = [(150, 100), (450, 100), (150, 300), (450, 300)]  # their middles in the JPEG


def patch_photo(path: Path, mode: str, profile: bytes | None = None,
                colours: list | None = None) -> Image.Image:
    """A 1200x800 TIFF of four flat colour patches (PATCHES[mode] unless given), one in each
    quarter."""
    image = Image.new(mode, (1200, 800))
    for (x, y), colour in zip(QUARTERS, colours or PATCHES[mode], strict=True):
        image.paste(colour, (2 * x - 300, 2 * y - 200, 2 * x + 300, 2 * y + 200))
    image.save(path, "TIFF", **({"icc_profile": profile} if profile else {}))
    return image


def littlecms_srgb(image: Image.Image, profile: bytes) -> Image.Image:
    """LittleCMS's own answer: the image converted to sRGB from the profile, the way the README
    says (relative colorimetric with black point compensation, Photoshop's and GIMP's default).

    Spelt out here rather than taken from changeImage: a test that asked the script for its
    intent and flags would agree with any it had.
    """
    return ImageCms.profileToProfile(
        image, ImageCms.ImageCmsProfile(io.BytesIO(profile)), ImageCms.createProfile("sRGB"),
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, outputMode="RGB",
        flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
    )


def quarters_of(jpeg: Path) -> list[tuple[int, int, int]]:
    """The colours in the middle of each quarter of a JPEG."""
    with Image.open(jpeg) as image:
        return [image.getpixel(point) for point in QUARTERS]


def near(colours: list, expected: list, levels: int) -> bool:
    """Whether every colour is within levels of its expected one, in every channel."""
    return all(abs(a - b) <= levels for colour, want in zip(colours, expected, strict=True)
               for a, b in zip(colour, want, strict=True))


@pytest.mark.parametrize("name", PROFILES)
def test_colours_are_converted_to_srgb_from_the_embedded_profile(
    images: Path, name: str
) -> None:
    profile = PROFILES[name]()
    image = patch_photo(images / "001.tiff", PROFILE_MODES[name], profile)
    assert convert(images) == 0
    answer = littlecms_srgb(image, profile)
    expected = [answer.getpixel((2 * x, 2 * y)) for x, y in QUARTERS]
    converted = quarters_of(images / "001.jpeg")
    assert near(converted, expected, 3), (converted, expected)
    as_if_srgb = [image.convert("RGB").getpixel((2 * x, 2 * y)) for x, y in QUARTERS]
    assert not near(converted, as_if_srgb, 5)  # the profile made a difference


def test_adobe_rgb_red_shows_as_the_issue_says_srgb_needs(images: Path) -> None:
    """Adobe RGB (200, 60, 60) is sRGB (231, 57, 57): checks the built profile as well."""
    patch_photo(images / "001.tiff", "RGB", PROFILES["adobe-rgb"]())
    assert convert(images) == 0
    assert near(quarters_of(images / "001.jpeg")[:1], [(231, 57, 57)], 3)


# CMYK patches of Ghostscript's default_cmyk.icc (libgs-common 10.0.0, Debian 12), in sRGB as
# LittleCMS 2 makes them with the relative colorimetric intent and black point compensation. The
# other conversions, for what they would show instead: without black point compensation, a
# rich black (60/40/40/100) turns grey (36, 38, 40) and black ink alone (55, 53, 53); the
# perceptual intent gives (10, 18, 21) and (43, 41, 42); the absolute intent tints the paper
# and dulls magenta to (207, 33, 121).
DEFAULT_CMYK_SHA256 = "8472fa1493a024b800b67dee9424835ec0c41ab79490200ae8ec4a689fd1b9a9"
CMYK_REFERENCE = {
    (153, 102, 102, 255): (0, 0, 0),  # rich black
    (0, 0, 0, 255): (35, 31, 32),  # black ink alone
    (0, 255, 0, 0): (236, 0, 140),  # magenta
    (0, 0, 0, 128): (147, 149, 152),  # half black
}


def test_cmyk_blacks_and_inks_come_out_as_the_reference_values(images: Path) -> None:
    profile = debian_profile("ghostscript/default_cmyk.icc", "libgs-common")
    digest = hashlib.sha256(profile).hexdigest()
    assert digest == DEFAULT_CMYK_SHA256, (
        f"default_cmyk.icc is not the one the reference values were made with ({digest}): "
        "make them again with LittleCMS for the new profile")
    patch_photo(images / "001.tiff", "CMYK", profile, list(CMYK_REFERENCE))
    assert convert(images) == 0
    converted = quarters_of(images / "001.jpeg")
    assert near(converted, list(CMYK_REFERENCE.values()), 3), converted


@pytest.mark.parametrize("mode", ["RGB", "CMYK", "L"])
def test_a_photo_without_a_profile_is_taken_as_srgb(images: Path, mode: str) -> None:
    """CMYK without a profile converts as Pillow converts it."""
    image = patch_photo(images / "001.tiff", mode)
    assert convert(images) == 0
    expected = [image.convert("RGB").getpixel((2 * x, 2 * y)) for x, y in QUARTERS]
    assert near(quarters_of(images / "001.jpeg"), expected, 3)


@pytest.mark.parametrize(
    ("mode", "profile", "warning"),
    [
        pytest.param("RGB", b"not a profile at all", "its ICC profile cannot be read: colours "
                     "taken as sRGB", id="unreadable"),
        pytest.param("L", "adobe-rgb", "its ICC profile is for RGB photos, not this greyscale "
                     "one: colours taken as sRGB", id="rgb-profile-on-grey"),
    ],
)
def test_an_unusable_profile_is_named_and_the_photo_still_converted(
    images: Path, capsys, mode: str, profile: bytes | str, warning: str
) -> None:
    data = PROFILES[profile]() if isinstance(profile, str) else profile
    image = patch_photo(images / "001.tiff", mode, data)
    assert convert(images) == 0
    assert f"WARNING: images/001.tiff: {warning}\n" in capsys.readouterr().err
    expected = [image.convert("RGB").getpixel((2 * x, 2 * y)) for x, y in QUARTERS]
    assert near(quarters_of(images / "001.jpeg"), expected, 3)


def test_the_jpeg_carries_no_metadata_no_gps_and_no_profile(images: Path) -> None:
    """The JPEG is sRGB without saying so, as the web takes an untagged image."""
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[271] = "PhoneMaker"
    tags[34853] = {1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 40.0)}  # GPS
    tags[700] = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">exif:GPSLatitude 51,30.2N</x:xmpmeta>'
    photo_ = Image.new("RGB", (1200, 800), (200, 60, 60))
    photo_.save(images / "001.tiff", "TIFF", tiffinfo=tags,
                icc_profile=PROFILES["adobe-rgb"]())
    with Image.open(images / "001.tiff") as tiff:
        assert tiff.getexif().get_ifd(0x8825)  # the TIFF does say where it was taken
    assert convert(images) == 0
    jpeg = (images / "001.jpeg").read_bytes()
    for leak in (b"Exif", b"GPS", b"PhoneMaker", b"xmpmeta", b"ICC_PROFILE", b"51,30"):
        assert leak not in jpeg
    with Image.open(images / "001.jpeg") as image:
        assert not image.getexif() and "icc_profile" not in image.info


# -- Transparency --------------------------------------------------------------------------

def feathered_photo(mode: str, size: tuple[int, int] = (1800, 1200)) -> Image.Image:
    """A store photo whose margin fades out over some 40 px, with black under the margin."""
    image = photo(FRUITS[0], size, seed=3)
    blurred = image.getchannel("A").filter(ImageFilter.GaussianBlur(12))
    image.putalpha(blurred.point(lambda level: max(0, 2 * level - 255)))  # inside the edge
    return image.convert(mode)


def composited_then_reduced(image: Image.Image, factor: int) -> Image.Image:
    """The reference: every full-size pixel composited onto white, then box-reduced."""
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB").reduce(factor)


def largest_difference(a: Image.Image, b: Image.Image) -> int:
    """The largest difference between two images, in levels of any channel."""
    return max(high for _, high in ImageChops.difference(a, b).getextrema())


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_transparency_is_exactly_as_if_composited_onto_white_first(mode: str) -> None:
    """Within 2 levels of compositing every full-size pixel onto white, then averaging."""
    image = feathered_photo(mode)
    rendered, _ = changeImage.render(image, "pad")
    assert largest_difference(rendered, composited_then_reduced(image, 3)) <= 2


def test_without_the_core_average_transparency_is_still_exact(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where Pillow's core cannot average without premultiplying, every pixel is."""
    monkeypatch.setattr(changeImage, "block_averages", lambda *args: None)
    image = feathered_photo("RGBA")
    rendered, _ = changeImage.render(image, "pad")
    assert largest_difference(rendered, composited_then_reduced(image, 3)) <= 2


@given(st.lists(st.sampled_from([0, 0, 0, 255, 255, 255, 1, 128, 254]), min_size=1,
                max_size=400), st.integers(min_value=1, max_value=40))
@settings(max_examples=200, deadline=None)
def test_every_partly_transparent_block_is_redone(levels: list[int], width: int) -> None:
    rows = -(-len(levels) // width)
    alpha = Image.new("L", (width, rows), 0)
    alpha.putdata(levels)
    rectangles = changeImage.partly_transparent(alpha)
    covered = Image.new("L", alpha.size, 0)
    for rectangle in rectangles:
        assert covered.crop(rectangle).getbbox() is None  # no two overlap
        covered.paste(255, rectangle)
    partly = alpha.point(lambda level: 255 if 0 < level < 255 else 0)
    assert ImageChops.subtract(partly, covered).getbbox() is None


def test_the_white_under_a_feathered_margin_in_the_jpeg(images: Path) -> None:
    feathered_photo("RGBA", (3000, 2000)).save(images / "001.tiff", "TIFF")
    assert convert(images) == 0
    with Image.open(images / "001.jpeg") as image:
        assert image.getpixel((2, 2)) == (255, 255, 255)  # the transparent corner
        edge = [min(image.getpixel((x, 200))) for x in range(40)]  # across the left margin
    assert edge[0] >= 253 and min(edge) >= 190, edge  # white fading to the backdrop, no grey


# -- The recipe ----------------------------------------------------------------------------

def test_another_fit_keeps_the_jpeg_until_forced(images: Path, capsys) -> None:
    disc_photo(images / "001.tiff", (1200, 1200))
    assert convert(images) == 0
    capsys.readouterr()
    assert convert(images, "--fit", "crop") == 0
    assert capsys.readouterr().out == KEPT
    assert convert(images, "--fit", "crop", "--force") == 0
    assert capsys.readouterr().out == "1 converted, 0 already up to date, 0 failed\n"
    assert convert(images, "--fit", "crop") == 0
    assert capsys.readouterr().out == "0 converted, 1 already up to date, 0 failed\n"


def test_the_jpeg_is_made_with_the_settings_its_recipe_names(images: Path) -> None:
    """Quality 85, 4:2:0, baseline, optimised Huffman tables (the README's settings; spelt out
    here, not taken from changeImage): the JPEG holds exactly the bytes these settings give
    the picture, and the recipe noted with it names each, so that a change to one would be
    noticed in every drop converted before."""
    patch_photo(images / "001.tiff", "RGB", PROFILES["adobe-rgb"]())
    assert convert(images) == 0
    with Image.open(images / "001.tiff") as tiff:
        picture, _ = changeImage.render(tiff, "pad")
    expected = io.BytesIO()
    picture.save(expected, "JPEG", quality=85, subsampling="4:2:0", progressive=False,
                 optimize=True)
    assert (images / "001.jpeg").read_bytes() == expected.getvalue()
    recipe = json.loads((images / MANIFEST_NAME).read_text())["001.jpeg"]["recipe"]
    for setting in ("600x400", "relative colorimetric", "black point compensation",
                    "quality 85", "subsampling 4:2:0", "progressive False", "optimize True",
                    "no metadata", "pad"):
        assert setting in recipe


# -- The summary after the notes are lost ----------------------------------------------------

def counts_of(summary: str) -> dict[str, int]:
    """'0 converted, 2 already up to date, 1 failed' -> {'converted': 0, ...}."""
    return {part.split(" ", 1)[1]: int(part.split(" ", 1)[0])
            for part in summary.strip().split(", ")}


def test_after_the_notes_are_lost_the_summary_says_kept_never_up_to_date(
    images: Path, capsys
) -> None:
    """Three JPEGs made, then .made-from.json lost: each TIFF is counted once, as kept (not as
    up to date as well), one warning says why, and no empty note is written in its place."""
    for number in (1, 2, 3):
        make_tiff(images / f"{number:03d}.tiff")
    assert convert(images) == 0
    (images / MANIFEST_NAME).unlink()
    capsys.readouterr()
    assert convert(images) == 0
    captured = capsys.readouterr()
    assert captured.out == "0 converted, 0 already up to date, 3 kept as made before, 0 failed\n"
    assert sum(counts_of(captured.out).values()) == 3
    assert captured.err.splitlines() == [
        f"changeImage.py: WARNING: 3 JPEGs kept as made before: no note says what they were "
        f"made from ({images / MANIFEST_NAME} is missing or unreadable), and each is newer than "
        "its TIFF; the catalog may show them already: --force makes them again, as new pictures"
    ]
    assert not (images / MANIFEST_NAME).exists()


def test_an_unreadable_note_is_never_overwritten_with_an_empty_one(images: Path) -> None:
    """Nothing to convert: the note that could not be read stays byte for byte."""
    make_tiff(images / "001.tiff")
    assert convert(images) == 0
    (images / MANIFEST_NAME).write_text("{ cut short")
    assert convert(images) == 0
    assert (images / MANIFEST_NAME).read_text() == "{ cut short"


def test_kept_jpegs_are_named_one_by_one_with_v(images: Path, capsys) -> None:
    """-v lists each JPEG kept, and why, besides the one warning."""
    make_tiff(images / "001.tiff")
    make_tiff(images / "002.tiff")
    assert convert(images) == 0
    (images / MANIFEST_NAME).unlink()
    capsys.readouterr()
    assert convert(images, "-v") == 0
    err = capsys.readouterr().err
    assert "images/001.tiff: its JPEG kept as made before (not noted)" in err
    assert "images/002.tiff: its JPEG kept as made before (not noted)" in err


# -- What is not a regular file, and 32-bit photos (issue 17) ------------------------------

def a_good_tiff_bytes() -> bytes:
    """The bytes of a real TIFF that converts."""
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 40, 30)).save(buffer, "TIFF")
    return buffer.getvalue()


@pytest.mark.parametrize(("kind", "said"), [
    pytest.param("fifo", "is a FIFO (named pipe), not a file: not read", id="fifo"),
    pytest.param("link", "is a link to a FIFO (named pipe), not a file: not read", id="link"),
])
def test_a_fifo_or_a_link_to_one_is_named_and_skipped(
    images: Path, kind: str, said: str, capsys
) -> None:
    """Opening a FIFO waits for a writer for ever; the writer here hands a real TIFF to any
    read, so code that opened it would convert it instead of hanging."""
    make_tiff(images / "001.tiff")
    fifo = images / ("002.tiff" if kind == "fifo" else "pipe")
    with fed_fifo(fifo, a_good_tiff_bytes()):
        if kind == "link":
            (images / "002.tiff").symlink_to("pipe")
        assert convert(images) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if ": ERROR: " in line]
    assert errors == [f"changeImage.py: ERROR: images/002.tiff: {said}"]
    assert (images / "001.jpeg").is_file()
    assert not (images / "002.jpeg").exists()


def test_a_socket_is_named_and_skipped(images: Path, monkeypatch, capsys) -> None:
    make_tiff(images / "001.tiff")
    monkeypatch.chdir(images)  # a socket's path is limited to about 100 bytes: bind it short
    with contextlib.closing(socket.socket(socket.AF_UNIX)) as listener:
        listener.bind("002.tiff")
        listener.listen()
        assert convert(images) == 1
    assert "images/002.tiff: is a socket, not a file: not read" in capsys.readouterr().err
    assert (images / "001.jpeg").is_file()


def test_a_device_is_named_and_never_opened(images: Path, capsys) -> None:
    try:  # /dev/null's numbers: opening it would read nothing, but a device may act when opened
        os.mknod(images / "002.tiff", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node takes root (CAP_MKNOD)")
    assert convert(images) == 1
    assert "images/002.tiff: is a character device, not a file: not read" in (
        capsys.readouterr().err)


def halves(mode: str, left: float, right: float) -> Image.Image:
    """A 300x200 single-band photo of a mode, its left half one value, its right half another."""
    image = Image.new(mode, (300, 200), left)
    image.paste(right, (150, 0, 300, 200))
    return image


@pytest.mark.parametrize(("mode", "left", "right", "grey_left", "grey_right"), [
    pytest.param("F", 0.0, 1000.0, 0, 255, id="float 0-1000"),
    pytest.param("F", 0.0, 0.5, 0, 128, id="float 0-1"),
    pytest.param("F", -50.0, 50.0, 0, 255, id="float below 0"),
    pytest.param("I", 0, 200, 0, 255, id="int32 0-200"),
])
def test_a_32_bit_photo_is_scaled_from_its_real_range(
    images: Path, mode: str, left: float, right: float, grey_left: int, grey_right: int
) -> None:
    """Read as 16-bit values, 1000 would be 4 of 255: a black picture without a word."""
    halves(mode, left, right).save(images / "001.tiff", "TIFF")
    with Image.open(images / "001.tiff") as saved:
        assert saved.mode == mode  # the TIFF is what the case says
    assert convert(images) == 0
    with Image.open(images / "001.jpeg") as jpeg:
        assert abs(jpeg.getpixel((150, 200))[0] - grey_left) <= 6  # well inside the left half
        assert abs(jpeg.getpixel((450, 200))[0] - grey_right) <= 6


def test_a_float_photo_with_nan_is_refused_in_one_line(images: Path, capsys) -> None:
    image = halves("F", 0.0, 1000.0)
    image.putpixel((10, 10), float("nan"))
    image.save(images / "001.tiff", "TIFF")
    assert convert(images) == 1
    assert ("images/001.tiff: some of its pixel values are not numbers (NaN or infinity): not "
            "converted") in capsys.readouterr().err
    assert not (images / "001.jpeg").exists()
