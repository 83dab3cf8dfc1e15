"""A corpus of hostile drop entries, taken through the whole import against the real service.

Every entry NNN has a photo and a description; in each hostile entry one of them is bad in one
way. The import must name each bad file in one line with its reason, take every good entry
into the catalog, exit 1, and never show a traceback.
"""

from __future__ import annotations

import codecs
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

import changeImage
import run
import supplier_image_upload
from automation.madefrom import MANIFEST_NAME
from demo.sample_drop import FRUITS, photo
from tests.helpers import catalog_fruits, media_files

GOOD_TEXT = "Plum\n150 lbs\nDark, sweet plums."


@dataclass(frozen=True)
class Entry:
    """One drop entry: how its photo and description are made, and what must come of it."""

    key: str
    text: bytes | None = GOOD_TEXT.encode()
    photo: str = "good"  # how make_photo makes it
    failure: str = ""  # the file named in the one error line, and its reason
    landed_name: str = "Plum"  # the fruit name in the catalog when it lands


def bomb(path: Path) -> None:
    """A tiny file whose header declares a 100000x100000 greyscale image."""
    entries = [(256, 4, 1, 100_000), (257, 4, 1, 100_000), (258, 3, 1, 8), (259, 3, 1, 1),
               (262, 3, 1, 1), (273, 4, 1, 8), (278, 4, 1, 100_000), (279, 4, 1, 1)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", *entry) for entry in entries) + b"\0\0\0\0"
    path.write_bytes(b"II*\0" + struct.pack("<I", 8) + ifd)


def make_photo(path: Path, kind: str, outside: Path) -> None:
    """Write the photo of an entry, of the kind asked."""
    picture = photo(FRUITS[7], (600, 400), seed=7)
    if kind == "good":
        picture.save(path, "TIFF")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        picture.save(path, "TIFF")
        path.write_bytes(path.read_bytes()[:5000])
    elif kind == "text":
        path.write_text("I am not a picture")
    elif kind == "png":
        picture.save(path, "PNG")
    elif kind == "pages":
        picture.save(path, "TIFF", save_all=True, append_images=[picture.rotate(90)])
    elif kind in ("L", "P", "CMYK", "LA"):
        picture.convert(kind).save(path, "TIFF")
    elif kind == "16-bit":
        picture.convert("L").convert("I").point(lambda v: v * 257).convert("I;16").save(path)
    elif kind == "bomb":
        bomb(path)
    elif kind == "link-outside":
        picture.save(outside / "elsewhere.tiff", "TIFF")
        path.symlink_to(outside / "elsewhere.tiff")
    elif kind == "dangling":
        path.symlink_to(path.parent / "gone.tiff")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "link-to-fifo":
        os.mkfifo(path.with_name(f"pipe-{path.stem}"))  # no .tiff: listed only as the link
        path.symlink_to(path.with_name(f"pipe-{path.stem}"))
    elif kind == "float32":  # values 0 to 1000, as a scientific camera writes them
        picture.convert("L").convert("F").point(lambda value: value * (1000 / 255)).save(
            path, "TIFF")
    elif kind == "none":
        pass
    else:
        raise AssertionError(kind)


ENTRIES = [
    Entry("001"),
    Entry("002", text=b"\xef\xbb\xbfPlum\r\n150 lbs\r\nDark, sweet plums.\xc2\xa0"),
    Entry("003", text=codecs.BOM_UTF16_LE + GOOD_TEXT.encode("utf-16-le")),
    Entry("004", text=b"Plum\r150 lbs\rDark,\tsweet plums.   \r\rSecond paragraph."),
    Entry("005", text=b"", failure="descriptions/005.txt: the file is empty"),
    Entry("006", text=b"Plum", failure="descriptions/006.txt: line 2 should be the weight"),
    Entry("007", text=b"Plum\n150 lbs", failure="descriptions/007.txt: there is no description"),
    Entry("008", text=b"Plum\nDark, sweet plums.",
          failure="descriptions/008.txt: weight 'Dark, sweet plums.' is not a number of lbs"),
    Entry("009", text=b"Plum\nheavy\nx",
          failure="descriptions/009.txt: weight 'heavy' is not a number of lbs"),
    Entry("010", text=b"Plum\n-150 lbs\nx", failure="descriptions/010.txt: weight '-150 lbs' "
          "must be above 0 lbs"),
    Entry("011", text=b"Plum\n150.5 lbs\nx",
          failure="descriptions/011.txt: weight '150.5 lbs' is not a whole number of lbs"),
    Entry("012", text=b"Plum\n99999999999 lbs\nx",
          failure="descriptions/012.txt: weight '99999999999 lbs' is too large"),
    Entry("013", text=b"Plum\n68 kg\nx", failure="descriptions/013.txt: weight '68 kg' is not "
          "in lbs (unit 'kg')"),
    Entry("014", text=b"P" * 101 + b"\n150 lbs\nx", failure="descriptions/014.txt: its name "
          "has 101 characters; the store's service keeps at most 100: not posted"),
    Entry("015", text=b"Plum\n150 lbs\n" + b"x" * 5001, failure="descriptions/015.txt: its "
          "description has 5001 characters; the store's service keeps at most 5000: not posted"),
    Entry("016", text="Pêche\n150 lbs\nx".encode("latin-1"),
          failure="descriptions/016.txt: not UTF-8 text (byte 0xea at offset 1)"),
    Entry("017", text=None, failure=""),  # a photo with no description: uploaded, warned
    Entry("018", photo="none", failure="descriptions/018.txt: there is no images/018.jpeg"),
    Entry("019", photo="empty", failure="images/019.tiff: not a TIFF image"),
    Entry("020", photo="truncated", failure="images/020.tiff: cannot decode it"),
    Entry("021", photo="text", failure="images/021.tiff: not a TIFF image"),
    Entry("022", photo="png", failure="images/022.tiff: not a TIFF image"),
    Entry("023", photo="pages"),
    Entry("024", photo="16-bit"),
    Entry("025", photo="CMYK"),
    Entry("026", photo="L"),
    Entry("027", photo="P"),
    Entry("028", photo="LA"),
    Entry("029", photo="bomb", failure="images/029.tiff: declares 100000x100000 pixels"),
    Entry("030", photo="link-outside", failure="images/030.tiff: is a link to "),
    Entry("031", photo="dangling", failure="images/031.tiff: cannot read it: no such file"),
    Entry("032", photo="fifo", failure="images/032.tiff: is a FIFO (named pipe), not a file"),
    Entry("033", photo="link-to-fifo",
          failure="images/033.tiff: is a link to a FIFO (named pipe), not a file"),
    Entry("034", photo="float32"),
    Entry("035", text=b"Plum\n1e9 lbs\nx", failure="descriptions/035.txt: weight '1e9 lbs' is "
          "not a plain whole number of lbs"),
    Entry("Pêche plate 2", text="Pêche plate\n150 lbs\nFlat peaches.".encode(),
          landed_name="Pêche plate"),
]


@pytest.fixture
def hostile_drop(tmp_path: Path) -> Path:
    """A drop with every entry of ENTRIES."""
    root = tmp_path / "drop"
    outside = tmp_path / "outside"
    for folder in (root / "images", root / "descriptions", outside):
        folder.mkdir(parents=True)
    for entry in ENTRIES:
        make_photo(root / "images" / f"{entry.key}.tiff", entry.photo, outside)
        if entry.text is not None:
            (root / "descriptions" / f"{entry.key}.txt").write_bytes(entry.text)
    (root / "images" / "LICENSE").write_text("not an image")
    return root


def test_every_bad_file_is_named_once_and_every_good_entry_lands(
    hostile_drop: Path, catalog, capsys
) -> None:
    drop = ["--data-dir", str(hostile_drop), "--jobs", "2"]
    upload = [*drop, "--url", catalog.url]
    codes = [changeImage.main(drop), supplier_image_upload.main(upload), run.main(upload)]
    captured = capsys.readouterr()
    assert codes == [1, 0, 1]
    assert "Traceback" not in captured.err

    errors = [line for line in captured.err.splitlines() if ": ERROR: " in line]
    expected = [entry.failure for entry in ENTRIES if entry.failure]
    for failure in expected:
        named = [line for line in errors if failure.split(":")[0] + ":" in line]
        assert len(named) == 1, (failure, named)
        assert failure in named[0], (failure, named[0])
    bad_photos = [e for e in ENTRIES if e.failure.startswith("images/")]
    # a photo that failed also fails its description, which names the missing JPEG
    assert len(errors) == len(expected) + len(bad_photos)

    fruits = catalog_fruits(catalog)
    good = [e for e in ENTRIES if not e.failure and e.text is not None]
    assert sorted(f["image_name"] for f in fruits) == sorted(
        changeImage.jpeg_name(e.key) for e in good)
    assert {f["name"] for f in fruits} == {e.landed_name for e in good}
    assert "Pêche_plate_2.jpeg" in media_files(catalog)
    assert "images/017.jpeg: there is no descriptions/017.txt" in captured.err


def test_nothing_half_written_is_left_in_the_drop(hostile_drop: Path) -> None:
    changeImage.main(["--data-dir", str(hostile_drop), "--jobs", "2", "-q"])
    for jpeg in (hostile_drop / "images").glob("*.jpeg"):
        with Image.open(jpeg) as image:
            image.load()
            assert image.size == (600, 400)
    hidden = [p for p in os.listdir(hostile_drop / "images") if p.startswith(".")]
    assert hidden == [MANIFEST_NAME]
