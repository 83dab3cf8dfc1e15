"""reports.py: the store's plain PDF and the illustrated import report, read back with pypdf."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from pypdf import PdfReader

import reports
from reports import (
    AlreadyInCatalog,
    FruitTotal,
    ImportedFruit,
    ImportReport,
    NotImported,
    escape_markup,
    fruit_totals,
    generate_report,
    report_title,
    weight_chart,
    write_import_report,
)

DAY = date(2026, 11, 22)
MARKUP_NAME = "Salt & Pepper <Special>"


def pdf_text(path: Path) -> str:
    """All the text of a PDF, page after page."""
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def flat(text: str) -> str:
    """Text with every run of whitespace made one space (table cells wrap where they like)."""
    return " ".join(text.split())


def catalog_jpeg(path: Path, colour: tuple[int, int, int] = (200, 30, 40)) -> Path:
    """A catalog image as changeImage.py writes it: 600x400 RGB JPEG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (600, 400), colour).save(path, "JPEG")
    return path


@pytest.mark.parametrize(
    ("day", "title"),
    [
        pytest.param(date(2026, 11, 22), "Processed Update on November 22, 2026", id="contract"),
        pytest.param(date(2026, 3, 5), "Processed Update on March 5, 2026", id="no-leading-zero"),
        pytest.param(date(2027, 1, 31), "Processed Update on January 31, 2027", id="january"),
    ],
)
def test_report_title_is_the_contracts(day: date, title: str) -> None:
    """The title reads 'Processed Update on <Month D, YYYY>', the day without a leading zero."""
    assert report_title(day) == title


@pytest.mark.parametrize(
    ("paragraph", "markup"),
    [
        pytest.param(MARKUP_NAME, "Salt &amp; Pepper &lt;Special&gt;", id="markup-chars"),
        pytest.param("a<br/>b", "a<br/>b", id="br"),
        pytest.param("a<br>b<BR/>c<br />d<Br >e", "a<br/>b<br/>c<br/>d<br/>e", id="br-variants"),
        pytest.param("a\nb", "a<br/>b", id="newline"),
        pytest.param("<b>bold</b> <para>", "&lt;b&gt;bold&lt;/b&gt; &lt;para&gt;", id="other-tags"),
        pytest.param("&amp; &#60;", "&amp;amp; &amp;#60;", id="entities-are-text"),
        pytest.param("bell\x07 and tab\t", "bell and tab\t", id="control-chars"),
    ],
)
def test_escape_markup_keeps_only_line_breaks(paragraph: str, markup: str) -> None:
    """Every character is text except the store's <br/> (in any spelling) and newlines."""
    assert escape_markup(paragraph) == markup


def test_generate_report_writes_title_and_lines(tmp_path: Path) -> None:
    """The contract function: the title, then one line per <br/>, markup characters as text."""
    pdf = tmp_path / "processed.pdf"
    paragraph = (f"name: {MARKUP_NAME}<br/>weight: 500 lbs<br/><br/>"
                 "name: Apple<BR>weight: 200 lbs<br />")
    generate_report(pdf, "Processed Update on November 22, 2026", paragraph)
    lines = pdf_text(pdf).splitlines()
    assert lines[0] == "Processed Update on November 22, 2026"
    assert lines[1:] == [f"name: {MARKUP_NAME}", "weight: 500 lbs", "name: Apple",
                         "weight: 200 lbs"]
    assert PdfReader(pdf).metadata.title == "Processed Update on November 22, 2026"


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=80))
def test_generate_report_takes_any_text(tmp_path: Path, text: str) -> None:
    """No text makes reportlab fail: whatever the supplier wrote, the PDF is written."""
    pdf = tmp_path / "any.pdf"
    generate_report(pdf, text, text)
    assert len(PdfReader(pdf).pages) >= 1


def test_fruit_totals_add_up_items_that_share_a_name() -> None:
    """One total per name, in the order names first appear, with how many items it adds."""
    imported = [ImportedFruit("001", "Apple", 500), ImportedFruit("002", "Plum", 150),
                ImportedFruit("003", "Apple", 120), ImportedFruit("004", "apple", 1)]
    assert fruit_totals(imported) == [FruitTotal("Apple", 2, 620), FruitTotal("Plum", 1, 150),
                                      FruitTotal("apple", 1, 1)]


def test_weight_chart_draws_each_name_heaviest_on_top() -> None:
    """The chart's bars are the totals per name; reportlab draws the first bar at the bottom."""
    drawing = weight_chart([FruitTotal("Plum", 1, 150), FruitTotal("Apple", 2, 620),
                            FruitTotal("Kiwi", 1, 250)])
    chart = drawing.contents[0]
    assert chart.categoryAxis.categoryNames == ["Plum", "Kiwi", "Apple"]
    assert chart.data == [[150, 250, 620]]


def test_weight_chart_folds_the_lightest_names_into_others() -> None:
    """Past a dozen names the lightest share one bar, so the chart stays readable."""
    totals = [FruitTotal(f"Fruit {n:02d}", 1, 100 + n) for n in range(30)]
    chart = weight_chart(totals).contents[0]
    assert len(chart.data[0]) == reports.CHART_MAX_BARS
    assert chart.categoryAxis.categoryNames[0] == "19 others"
    assert sum(chart.data[0]) == sum(total.weight for total in totals)


def test_photo_colour_is_the_fruits_not_the_backdrops(tmp_path: Path) -> None:
    """A red fruit on a pale backdrop gives red; a grey picture gives none (the chart's green)."""
    path = tmp_path / "001.jpeg"
    picture = Image.new("RGB", (600, 400), (240, 238, 230))
    picture.paste((200, 30, 40), (150, 100, 450, 300))
    picture.save(path, "JPEG")
    colour = reports.photo_colour(path)
    assert colour is not None
    assert [round(c * 255 / 10) for c in colour.rgb()] == [20, 3, 4]
    assert reports.photo_colour(catalog_jpeg(tmp_path / "002.jpeg", (128, 128, 128))) is None
    assert reports.photo_colour(tmp_path / "missing.jpeg") is None


def test_weight_chart_paints_each_bar_in_its_fruits_colour() -> None:
    """A name with a colour gets it; a name without keeps the default."""
    red = reports.colors.Color(0.8, 0.1, 0.1)
    chart = weight_chart([FruitTotal("Apple", 1, 500), FruitTotal("Fig", 1, 50)],
                         colours={"Apple": red}).contents[0]
    assert chart.bars[(0, 1)].fillColor == red  # Apple, the heavier, is drawn last (on top)
    assert chart.bars[(0, 0)].fillColor == reports.GREEN


@pytest.fixture
def ten_fruits(tmp_path: Path) -> list[ImportedFruit]:
    """The store's ten fruits as imported, each with its catalog image, and a second Apple."""
    from demo.sample_drop import FRUITS

    imported = [
        ImportedFruit(f"{n:03d}", fruit.name, fruit.weight,
                      catalog_jpeg(tmp_path / "images" / f"{n:03d}.jpeg", fruit.colour))
        for n, fruit in enumerate(FRUITS, start=1)
    ]
    return [*imported, ImportedFruit("011", "Apple", 120, tmp_path / "images" / "011.jpeg")]


def test_import_report_lists_every_fruit_weight_and_total(
    tmp_path: Path, ten_fruits: list[ImportedFruit]
) -> None:
    """Title, 'name:'/'weight:' of every fruit, a total per shared name, and the grand total."""
    pdf = tmp_path / "processed.pdf"
    write_import_report(pdf, ImportReport(DAY, ten_fruits))
    text = pdf_text(pdf)
    assert "Processed Update on November 22, 2026" in text
    for fruit in ten_fruits:
        assert f"name: {fruit.name}" in text
        assert f"weight: {fruit.weight} lbs" in text
    assert "Apple total (2 items): 620 lbs" in text
    assert "Plum total" not in text  # a name of one item needs no total of its own
    assert "Total weight imported (11 items): 2910 lbs" in text
    assert "2910 lbs" in text.split("Weight per fruit")[0]  # the figure at the top, too
    assert "Not imported" not in text.replace("not imported", "")
    assert PdfReader(pdf).metadata.title == "Processed Update on November 22, 2026"


def test_import_report_shows_a_thumbnail_of_each_image_it_finds(
    tmp_path: Path, ten_fruits: list[ImportedFruit]
) -> None:
    """Ten images exist (011.jpeg does not): ten thumbnails, and 'no photo' for the other."""
    pdf = tmp_path / "processed.pdf"
    write_import_report(pdf, ImportReport(DAY, ten_fruits))
    images = [image for page in PdfReader(pdf).pages for image in page.images]
    assert len(images) == 10
    assert all(image.image.size == reports.THUMBNAIL_PIXELS for image in images)
    assert pdf_text(pdf).count("no photo") == 1


def test_a_broken_image_costs_only_its_thumbnail(tmp_path: Path) -> None:
    """A JPEG that cannot be read is shown as 'no photo'; the report is still written."""
    broken = tmp_path / "001.jpeg"
    broken.write_bytes(b"\xff\xd8 not really a JPEG")
    pdf = tmp_path / "processed.pdf"
    write_import_report(pdf, ImportReport(DAY, [ImportedFruit("001", "Apple", 500, broken)]))
    assert "no photo" in pdf_text(pdf)


def test_import_report_lists_what_was_not_imported_and_why(tmp_path: Path) -> None:
    """A 'Not imported' section names each failed file, its fruit when known, and the reason."""
    pdf = tmp_path / "processed.pdf"
    write_import_report(pdf, ImportReport(
        DAY,
        [ImportedFruit("001", MARKUP_NAME, 500)],
        [NotImported("descriptions/002.txt", "weight '2 kg' is not in lbs (unit 'kg')",
                     "Kiwi <b>"),
         NotImported("descriptions/003.txt", "not posted yet & <unknown>")],
    ))
    text = flat(pdf_text(pdf))
    assert f"name: {MARKUP_NAME}" in text
    section = text.split("Not imported", 1)[1]
    assert "descriptions/002.txt Kiwi <b> weight '2 kg' is not in lbs (unit 'kg')" in section
    assert "descriptions/003.txt not posted yet & <unknown>" in section
    assert re.search(r"\b2\s+not imported", text)  # the figure at the top


def test_hundreds_of_items_flow_over_pages_with_the_header_repeated(tmp_path: Path) -> None:
    """300 items: many pages, each page of the table starting with its header row."""
    imported = [ImportedFruit(f"{n:03d}", f"Fruit {n % 7}", n) for n in range(1, 301)]
    pdf = tmp_path / "processed.pdf"
    write_import_report(pdf, ImportReport(DAY, imported))
    pages = [page.extract_text() for page in PdfReader(pdf).pages]
    assert len(pages) >= 5
    table_pages = [text for text in pages if "weight: " in text]
    assert len(table_pages) == len(pages)
    for text in table_pages:
        assert re.search(r"Photo\s+Item\s+Fruit\s+Weight", text)
    everything = "\n".join(pages)
    for n in range(1, 301):
        assert f"weight: {n} lbs" in everything
    assert f"Total weight imported (300 items): {sum(range(1, 301))} lbs" in everything
    assert "Fruit 0 total (42 items)" in everything


def test_the_fruits_are_listed_in_the_drops_order_with_a_name_total_after_its_last_item(
    tmp_path: Path,
) -> None:
    """Not sorted by name: 001, 002, ... as the drop numbers them (the catalog's order too)."""
    names = ["Plum", "Apple", "Watermelon", "Apple", "Banana"]
    imported = [ImportedFruit(f"{n:03d}", name, 100 + n) for n, name in enumerate(names, 1)]
    pdf = tmp_path / "processed.pdf"
    write_import_report(pdf, ImportReport(DAY, imported))
    table = pdf_text(pdf).split("Fruits imported", 1)[1]
    rows = re.findall(r"(\d{3})\s*name: (\w+)\s*weight: (\d+) lbs", table)
    assert rows == [("001", "Plum", "101"), ("002", "Apple", "102"),
                    ("003", "Watermelon", "103"), ("004", "Apple", "104"),
                    ("005", "Banana", "105")]
    after_second_apple = table.split("weight: 104 lbs", 1)[1]
    assert flat(after_second_apple).startswith("Apple total (2 items): 206 lbs no photo 005")


def pages_of(pdf: Path) -> list[str]:
    """The text of each page."""
    return [page.extract_text() for page in PdfReader(pdf).pages]


def header_only_pages(pages: list[str]) -> list[int]:
    """The pages that show the fruit table's header but not one fruit under it."""
    return [number for number, text in enumerate(pages, start=1)
            if re.search(r"Photo\s+Item\s+Fruit\s+Weight", text) and "weight: " not in text]


def test_rows_that_end_exactly_at_a_page_break_leave_no_page_of_header_and_total(
    tmp_path: Path,
) -> None:
    """The fewest fruits that take a second page: their last row would end the first page, and
    only the total would be left for the second, under a repeated header. The total goes
    over with the last fruit instead."""
    pdf = tmp_path / "processed.pdf"

    def pages_for(count: int) -> list[str]:
        imported = [ImportedFruit(f"{n:03d}", f"Fruit {n}", n) for n in range(1, count + 1)]
        write_import_report(pdf, ImportReport(DAY, imported))
        return pages_of(pdf)

    low, high = 1, 64  # one page holds 1 fruit, not 64: the first count of two pages between
    assert len(pages_for(low)) == 1 and len(pages_for(high)) > 1
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if len(pages_for(middle)) == 1 else (low, middle)
    pages = pages_for(high)
    assert len(pages) == 2
    assert header_only_pages(pages) == []
    assert f"weight: {high} lbs" in pages[1]  # the last fruit, with the total
    assert f"Total weight imported ({high} items): {high * (high + 1) // 2} lbs" in pages[1]


def test_what_the_catalog_held_already_is_listed_apart_and_not_counted(tmp_path: Path) -> None:
    """A section of its own, with why; the total and the figures count only what was imported."""
    pdf = tmp_path / "processed.pdf"
    write_import_report(pdf, ImportReport(
        DAY, [ImportedFruit("004", "Grapefruit", 375), ImportedFruit("006", "Apricot", 140)],
        already=[AlreadyInCatalog("001", "Banana", 400, "in the catalog before this drop"),
                 AlreadyInCatalog("002", MARKUP_NAME, 120, "listed in the report of May 1")],
    ))
    text = flat(pdf_text(pdf))
    assert "Total weight imported (2 items): 515 lbs" in text
    assert re.search(r"\b2 already in the catalog, not counted", text)
    imported, already = text.split("Already in the catalog", 1)
    assert "Banana" not in imported and "name: Banana" not in already
    assert "001 Banana 400 lbs in the catalog before this drop" in already
    assert f"002 {MARKUP_NAME} 120 lbs listed in the report of May 1" in already


def test_a_report_of_no_new_fruit_has_no_empty_table(tmp_path: Path) -> None:
    """Nothing imported, one fruit already there: no header without a row, a total of 0."""
    pdf = tmp_path / "processed.pdf"
    write_import_report(pdf, ImportReport(
        DAY, [], already=[AlreadyInCatalog("001", "Banana", 400, "in the catalog before")]))
    pages = pages_of(pdf)
    assert header_only_pages(pages) == []
    assert "Total weight imported (0 items): 0 lbs" in flat("\n".join(pages))
