"""The one description parser: the quirks of real supplier files, and clear errors."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from automation.descriptions import (
    MAX_WEIGHT_LBS,
    Description,
    DescriptionError,
    decode,
    parse_description,
    parse_weight,
    read_description,
)
from tests.helpers import fed_fifo


@pytest.mark.parametrize(
    ("text", "lbs"),
    [
        pytest.param("500 lbs", 500, id="store"),
        pytest.param("500 lb", 500, id="singular"),
        pytest.param("500lbs", 500, id="no-space"),
        pytest.param("1,200 lbs", 1200, id="thousands"),
        pytest.param("500 LBS", 500, id="upper-case"),
        pytest.param("500 lbs.", 500, id="abbreviation-dot"),
        pytest.param("500 pounds", 500, id="pounds"),
        pytest.param("500.0 lbs", 500, id="whole-decimal"),
        pytest.param(" 500 lbs\u00a0", 500, id="non-breaking-space"),
        pytest.param("2,147,483,647 lbs", MAX_WEIGHT_LBS, id="largest"),
    ],
)
def test_weights_in_lbs_are_understood(text: str, lbs: int) -> None:
    assert parse_weight(text) == lbs


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("heavy", "is not a number of lbs", id="words"),
        pytest.param("500", "has no unit", id="no-unit"),
        pytest.param("5 kg", "is not in lbs", id="kilograms"),
        pytest.param("12.5 lbs", "is not a whole number", id="fraction"),
        pytest.param("-5 lbs", "must be above 0", id="negative"),
        pytest.param("0 lbs", "must be above 0", id="zero"),
        pytest.param("99999999999 lbs", "too large", id="huge"),
        pytest.param("1,20 lbs", "is not a number of lbs", id="bad-thousands"),
        pytest.param("５００ lbs", "is not a number of lbs", id="full-width-digits"),
        pytest.param("1e9 lbs", "'1e9 lbs' is not a plain whole number of lbs", id="exponent"),
        pytest.param("1.5E+3lbs", "is not a plain whole number of lbs", id="exponent-sign"),
        pytest.param("0x1F4 lbs", "is not a plain whole number of lbs", id="hexadecimal"),
    ],
)
def test_weights_that_are_not_lbs_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(DescriptionError, match=reason):
        parse_weight(text)


def test_the_store_description_is_split_into_its_three_parts() -> None:
    text = "Apple\n500 lbs\nApple is one of the most nutritious fruits."
    assert parse_description(text) == Description(
        "Apple", 500, "Apple is one of the most nutritious fruits."
    )


def test_quirks_of_real_files_are_cleaned_up() -> None:
    text = "\ufeffKiwifruit \r\n250 lbs\r\nIt’s “tangy”,\tgreen inside.\u00a0\r\n"
    parsed = parse_description(text)
    assert parsed == Description("Kiwifruit", 250, "It’s “tangy”, green inside.")


def test_several_lines_and_paragraphs_of_description_are_kept() -> None:
    text = "Mango\r300 lbs\rSweet golden flesh.\r\rSlice along the stone.\rServe cold."
    assert parse_description(text).description == (
        "Sweet golden flesh.\n\nSlice along the stone.\nServe cold."
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param(" \n \n", "empty", id="blank"),
        pytest.param("Apple", "line 2 should be the weight", id="one-line"),
        pytest.param("Apple\n500 lbs", "no description", id="two-lines"),
        pytest.param("Apple\n\nRed and crisp.", "line 2 should be the weight", id="no-weight"),
        pytest.param("Apple\nRed and crisp.\nMore.", "not a number of lbs", id="weight-missing"),
    ],
)
def test_incomplete_descriptions_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(DescriptionError, match=reason):
        parse_description(text)


def test_utf16_with_its_bom_is_read() -> None:
    data = codecs.BOM_UTF16_LE + "Plum\n150 lbs\nDark.".encode("utf-16-le")
    assert parse_description(decode(data)).name == "Plum"


def test_latin1_is_refused_rather_than_guessed() -> None:
    with pytest.raises(DescriptionError, match=r"not UTF-8 text \(byte 0xe9 at offset 3\)"):
        decode("Caf\u00e9\n1 lbs\nx".encode("latin-1"))


def test_a_file_is_read_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "001.txt"
    path.write_bytes(codecs.BOM_UTF8 + b"Apple\r\n500 lbs\r\nRed.")
    assert read_description(path) == Description("Apple", 500, "Red.")


def test_an_unreadable_file_is_an_item_error(tmp_path: Path) -> None:
    with pytest.raises(DescriptionError, match="cannot read it"):
        read_description(tmp_path / "missing.txt")


@pytest.mark.parametrize("link", [False, True], ids=["fifo", "link-to-fifo"])
def test_a_fifo_is_named_and_never_read(tmp_path: Path, link: bool) -> None:
    """Reading a FIFO would wait for a writer for ever: it is refused before it is opened (the
    writer here would hand a good description to a read that opened it)."""
    path = tmp_path / "001.txt"
    fifo = tmp_path / "pipe" if link else path
    with fed_fifo(fifo, b"Apple\n500 lbs\nRed."):
        if link:
            path.symlink_to("pipe")
        expected = "is a link to a FIFO (named pipe)" if link else "is a FIFO (named pipe)"
        with pytest.raises(DescriptionError, match=re.escape(expected)):
            read_description(path)


def test_a_huge_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "001.txt"
    path.write_bytes(b"Apple\n500 lbs\n" + b"x" * 2_000_000)
    with pytest.raises(DescriptionError, match="too large"):
        read_description(path)


@given(st.text())
def test_any_text_gives_a_valid_record_or_the_projects_own_error(text: str) -> None:
    try:
        parsed = parse_description(text)
    except DescriptionError as error:
        assert str(error)
        assert "\n" not in str(error)
        return
    assert parsed.name and parsed.name == parsed.name.strip()
    assert 0 < parsed.weight <= MAX_WEIGHT_LBS
    assert parsed.description and parsed.description == parsed.description.strip()


@given(st.binary())
def test_any_bytes_decode_or_give_the_projects_own_error(data: bytes) -> None:
    try:
        decode(data)
    except DescriptionError as error:
        assert "save it as UTF-8" in str(error)


@given(
    name=st.text(st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1).filter(
        lambda s: s.strip() and s.strip() != "\ufeff" and not s.startswith("\ufeff")
    ),
    weight=st.integers(1, MAX_WEIGHT_LBS),
    description=st.text(
        st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1
    ).filter(str.strip),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_a_well_formed_file_round_trips(
    name: str, weight: int, description: str, newline: str
) -> None:
    text = newline.join([name, f"{weight:,} lbs", description])
    parsed = parse_description(text)
    assert parsed == Description(name.strip(), weight, description.replace("\t", " ").strip())
