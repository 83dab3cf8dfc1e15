"""The supplier's PDF reports: the store's plain one, and the illustrated one of an import.

Both are pure builders: they turn data into a PDF file, nothing else. Every piece of text is
escaped before reportlab sees it; the store's `<br/>` is the only markup passed through.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from PIL import Image as PilImage
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

STORE = "Online Fruit Store"
PAGE = A4
MARGIN = 1.8 * cm
WIDTH = PAGE[0] - 2 * MARGIN - 12  # what a frame leaves between its 6 pt paddings
CHART_MAX_BARS = 12
THUMBNAIL = (2.1 * cm, 1.4 * cm)  # the catalog's 3:2 shape
THUMBNAIL_PIXELS = (180, 120)
HEADING_ROOM = 4.5 * cm  # a heading starts a new page unless its table's first rows fit under it

GREEN = colors.HexColor("#2e7d32")
DARK_GREEN = colors.HexColor("#1b5e20")
PALE_GREEN = colors.HexColor("#e8f5e9")
LIGHT_GREEN = colors.HexColor("#c8e6c9")
RED = colors.HexColor("#c62828")
PALE_RED = colors.HexColor("#ffebee")
GREY = colors.HexColor("#757575")
RULE = colors.HexColor("#e0e0e0")

_BREAK = re.compile(r"&lt;\s*br\s*/?\s*&gt;", re.IGNORECASE)
# Control characters are not text a PDF can show, and reportlab's parser refuses some of them.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class ImportedFruit:
    """One fruit that landed in the catalog."""

    key: str
    name: str
    weight: int
    image: Path | None = None


@dataclass(frozen=True)
class NotImported:
    """One item of the drop that is not in the catalog, and why."""

    file: str
    reason: str
    name: str = ""


@dataclass(frozen=True)
class AlreadyInCatalog:
    """A fruit of the drop that the catalog held before it (the supplier sent it again), or
    that an earlier report listed: listed apart, never counted in the total."""

    key: str
    name: str
    weight: int
    why: str = ""


@dataclass(frozen=True)
class FruitTotal:
    """The items that share a fruit name, and their weight."""

    name: str
    items: int
    weight: int


@dataclass(frozen=True)
class ImportReport:
    """What an import brought into the catalog, what it did not, and which of its fruits the
    catalog held already, on a given day; each in the drop's order."""

    day: date
    imported: Sequence[ImportedFruit]
    not_imported: Sequence[NotImported] = ()
    already: Sequence[AlreadyInCatalog] = ()

    @property
    def title(self) -> str:
        """The report's title."""
        return report_title(self.day)

    @property
    def total_weight(self) -> int:
        """The weight of all fruit imported, in lbs."""
        return sum(fruit.weight for fruit in self.imported)


def long_date(day: date) -> str:
    """A day as the reports write it: 'November 22, 2026' (no leading zero)."""
    return f"{day:%B} {day.day}, {day.year}"


def report_title(day: date) -> str:
    """The contract's title: 'Processed Update on November 22, 2026'."""
    return f"Processed Update on {long_date(day)}"


def plural(count: int, word: str) -> str:
    """'1 fruit', '2 fruits'."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def escape_text(text: str) -> str:
    """Text as reportlab paragraph markup that shows exactly that text."""
    return html.escape(_CONTROL.sub("", text), quote=False)


def escape_markup(paragraph: str) -> str:
    """The store's paragraph as markup: its <br/> (and newlines) break lines, the rest is text."""
    return _BREAK.sub("<br/>", escape_text(paragraph)).replace("\n", "<br/>")


def fruit_totals(imported: Iterable[ImportedFruit]) -> list[FruitTotal]:
    """Items and weight per fruit name, in the order the names first appear."""
    items: dict[str, int] = {}
    weights: dict[str, int] = {}
    for fruit in imported:
        items[fruit.name] = items.get(fruit.name, 0) + 1
        weights[fruit.name] = weights.get(fruit.name, 0) + fruit.weight
    return [FruitTotal(name, items[name], weights[name]) for name in items]


def generate_report(attachment: str | Path, title: str, paragraph: str) -> None:
    """Write a PDF to attachment: the title, then the paragraph (its <br/> break lines)."""
    styles = getSampleStyleSheet()
    document = SimpleDocTemplate(str(attachment), pagesize=PAGE, title=title, author=STORE)
    document.build([
        Paragraph(escape_text(title), styles["h1"]),
        Spacer(1, 0.5 * cm),
        Paragraph(escape_markup(paragraph), styles["BodyText"]),
    ])


def _styles() -> dict[str, ParagraphStyle]:
    """The paragraph styles of the import report."""
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontSize=10, leading=13,
                          spaceBefore=0)
    return {
        "title": ParagraphStyle(
            "title", parent=base["Title"], alignment=0, fontSize=22, leading=26,
            textColor=DARK_GREEN, spaceAfter=5,
        ),
        "subtitle": ParagraphStyle("subtitle", parent=body, textColor=GREY, spaceAfter=10),
        "h2": ParagraphStyle(
            "h2", parent=base["h2"], fontSize=13, leading=16, textColor=DARK_GREEN,
            spaceBefore=12, spaceAfter=6,
        ),
        "h2-red": ParagraphStyle(
            "h2-red", parent=base["h2"], fontSize=13, leading=16, textColor=RED,
            spaceBefore=12, spaceAfter=6,
        ),
        "body": body,
        "cell": ParagraphStyle("cell", parent=body, fontSize=9.5, leading=12),
        "head": ParagraphStyle(
            "head", parent=body, fontName="Helvetica-Bold", fontSize=9.5, leading=12,
            textColor=colors.white,
        ),
        "total": ParagraphStyle(
            "total", parent=body, fontName="Helvetica-Bold", fontSize=10, alignment=TA_RIGHT
        ),
        "figure": ParagraphStyle(
            "figure", parent=body, fontName="Helvetica-Bold", fontSize=20, leading=24,
            alignment=TA_CENTER, textColor=DARK_GREEN,
        ),
        "figure-red": ParagraphStyle(
            "figure-red", parent=body, fontName="Helvetica-Bold", fontSize=20, leading=24,
            alignment=TA_CENTER, textColor=RED,
        ),
        "caption": ParagraphStyle(
            "caption", parent=body, fontSize=8.5, leading=11, alignment=TA_CENTER,
            textColor=GREY, spaceBefore=3,
        ),
        "muted": ParagraphStyle("muted", parent=body, fontSize=8, leading=10, textColor=GREY),
    }


def _summary(report: ImportReport, style: dict[str, ParagraphStyle]) -> Table:
    """The figures side by side: the weight imported, the fruits, the items not imported, and
    the fruits the catalog held already (when there are some)."""
    failed = len(report.not_imported)
    figures = [
        (f"{report.total_weight} lbs", "total weight imported", "figure", PALE_GREEN),
        (str(len(report.imported)), "fruits imported", "figure", PALE_GREEN),
        (str(failed), "not imported", "figure-red" if failed else "figure",
         PALE_RED if failed else PALE_GREEN),
    ]
    if report.already:
        figures.append((str(len(report.already)), "already in the catalog, not counted",
                        "figure", colors.white))
    gap = 0.4 * cm
    width = (WIDTH - (len(figures) - 1) * gap) / len(figures)
    cells: list[object] = []
    widths: list[float] = []
    for value, label, look, _ in figures:
        if cells:
            cells.append("")
            widths.append(gap)
        cells.append([Paragraph(value, style[look]), Paragraph(label, style["caption"])])
        widths.append(width)
    table = Table([cells], colWidths=widths)
    commands = [("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 9), ("BOTTOMPADDING", (0, 0), (-1, -1), 9)]
    for index, (*_, background) in enumerate(figures):
        commands.append(("BACKGROUND", (2 * index, 0), (2 * index, 0), background))
    if report.already:
        commands.append(("BOX", (-1, 0), (-1, 0), 0.5, RULE))
    table.setStyle(TableStyle(commands))
    return table


def photo_colour(path: Path | None) -> colors.Color | None:
    """The colour of the fruit in a product photo: the mean of its vivid pixels, if it has some."""
    if path is None or not path.is_file():
        return None
    try:
        with PilImage.open(path) as image:
            small = image.convert("RGB").resize((60, 40))
    except (OSError, ValueError, SyntaxError, PilImage.DecompressionBombError):
        return None
    rgb, hsv = small.tobytes(), small.convert("HSV").tobytes()
    vivid = [rgb[i : i + 3] for i in range(0, len(rgb), 3) if hsv[i + 1] > 90 and hsv[i + 2] > 40]
    if len(vivid) < 0.03 * 60 * 40:
        return None
    red, green, blue = (sum(channel) / len(vivid) / 255 for channel in zip(*vivid, strict=True))
    return colors.Color(red, green, blue)


def weight_chart(
    totals: Sequence[FruitTotal],
    width: float = WIDTH,
    colours: dict[str, colors.Color] | None = None,
) -> Drawing:
    """A horizontal bar chart of the weight per fruit name, heaviest on top, bars in colours."""
    ranked = sorted(totals, key=lambda total: (-total.weight, total.name.lower()))
    if len(ranked) > CHART_MAX_BARS:
        rest = ranked[CHART_MAX_BARS - 1:]
        other = FruitTotal(f"{len(rest)} others", sum(t.items for t in rest),
                           sum(t.weight for t in rest))
        ranked = [*ranked[: CHART_MAX_BARS - 1], other]
    bar_space = 0.62 * cm
    height = bar_space * len(ranked) + 0.9 * cm
    drawing = Drawing(width, height)
    chart = HorizontalBarChart()
    label_width = 3.2 * cm
    chart.x, chart.y = label_width, 0.6 * cm
    chart.width = width - label_width - 1.4 * cm
    chart.height = bar_space * len(ranked)
    chart.data = [[total.weight for total in reversed(ranked)]]  # drawn bottom up
    chart.categoryAxis.categoryNames = [_short(total.name, 24) for total in reversed(ranked)]
    chart.categoryAxis.labels.fontName = "Helvetica"
    chart.categoryAxis.labels.fontSize = 9
    chart.categoryAxis.labels.dx = -4
    chart.categoryAxis.strokeColor = RULE
    chart.categoryAxis.tickLeft = 0
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7.5
    chart.valueAxis.labels.fillColor = GREY
    chart.valueAxis.strokeColor = RULE
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = RULE
    chart.valueAxis.gridStrokeWidth = 0.5
    chart.valueAxis.labelTextFormat = "%d"
    chart.bars[0].fillColor = GREEN
    chart.bars[0].strokeColor = None
    for index, total in enumerate(reversed(ranked)):
        if colours and total.name in colours:
            chart.bars[(0, index)].fillColor = colours[total.name]
    chart.barWidth = bar_space * 0.62
    chart.groupSpacing = bar_space * 0.38
    chart.barLabelFormat = "%d lbs"
    chart.barLabels.fontSize = 8
    chart.barLabels.fillColor = DARK_GREEN
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    drawing.add(chart)
    return drawing


def _short(text: str, length: int) -> str:
    """Text cut to length characters, with an ellipsis when it was longer."""
    return text if len(text) <= length else text[: length - 1] + "\u2026"


def thumbnail(path: Path | None) -> Flowable | None:
    """A small copy of a product image, or None when there is no readable one."""
    if path is None or not path.is_file():
        return None
    try:
        with PilImage.open(path) as image:
            small = image.convert("RGB")
            small.thumbnail(THUMBNAIL_PIXELS)
            data = io.BytesIO()
            small.save(data, "JPEG", quality=80)
    except (OSError, ValueError, SyntaxError, PilImage.DecompressionBombError):
        return None  # a broken picture must not cost the supplier the report
    data.seek(0)
    return Image(data, width=THUMBNAIL[0], height=THUMBNAIL[1])


def _label(text: str) -> str:
    """A field's label, quieter than its value."""
    return f'<font color="#{GREY.hexval()[2:]}">{text}</font>'


def _fruit_table(report: ImportReport, style: dict[str, ParagraphStyle]) -> Table:
    """Every fruit imported, in the drop's order; after the last item of a name that several
    share, that name's total; then the grand total, never alone under a repeated header."""
    cell, muted = style["cell"], style["muted"]
    rows: list[list[object]] = [[
        Paragraph("Photo", style["head"]), Paragraph("Item", style["head"]),
        Paragraph("Fruit", style["head"]), Paragraph("Weight", style["head"]),
    ]]
    commands: list[tuple] = []
    imported = list(report.imported)
    totals = {total.name: total for total in fruit_totals(imported)}
    last_of_name = {fruit.name: number for number, fruit in enumerate(imported)}
    for number, fruit in enumerate(imported):
        picture = thumbnail(fruit.image) or Paragraph("no photo", muted)
        rows.append([
            picture,
            Paragraph(escape_text(fruit.key), muted),
            Paragraph(f"{_label('name:')} <b>{escape_text(fruit.name)}</b>", cell),
            Paragraph(f"{_label('weight:')} {fruit.weight} lbs", cell),
        ])
        row = len(rows) - 1
        if number % 2:
            commands.append(("BACKGROUND", (0, row), (-1, row), PALE_GREEN))
        total = totals[fruit.name]
        if last_of_name[fruit.name] == number and total.items > 1:
            rows.append(["", "", Paragraph(
                f"{escape_text(fruit.name)} total ({total.items} items): {total.weight} lbs",
                style["total"],
            ), ""])
            commands += [("SPAN", (2, row + 1), (3, row + 1)),
                         ("BACKGROUND", (0, row + 1), (-1, row + 1), LIGHT_GREEN),
                         ("NOSPLIT", (0, row), (-1, row + 1))]  # a total stays with its item
    rows.append(["", "", Paragraph(
        f"Total weight imported ({len(imported)} items): {report.total_weight} lbs",
        style["total"],
    ), ""])
    last = len(rows) - 1
    commands += [
        ("SPAN", (2, last), (3, last)),
        ("LINEABOVE", (0, last), (-1, last), 1.2, DARK_GREEN),
        ("BACKGROUND", (0, 0), (-1, 0), GREEN),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 1), (-1, last - 1), 0.25, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        # The grand total goes over a page break only with the row above it: a page never
        # holds the repeated header with nothing but totals under it.
        ("NOSPLIT", (0, last - 1), (-1, last)),
    ]
    width = WIDTH
    photo = THUMBNAIL[0] + 0.4 * cm
    item = 1.5 * cm
    weight = 4.0 * cm
    table = Table(rows, colWidths=[photo, item, width - photo - item - weight, weight],
                  repeatRows=1)
    table.setStyle(TableStyle(commands))
    return table


def _already_table(report: ImportReport, style: dict[str, ParagraphStyle]) -> Table:
    """Each fruit of the drop the catalog held already, in the drop's order, and why."""
    cell, muted = style["cell"], style["muted"]
    rows: list[list[object]] = [[
        Paragraph("Item", style["head"]), Paragraph("Fruit", style["head"]),
        Paragraph("Weight", style["head"]), Paragraph("Why it is not counted", style["head"]),
    ]]
    for fruit in report.already:
        rows.append([
            Paragraph(escape_text(fruit.key), muted),
            Paragraph(escape_text(fruit.name), cell),
            Paragraph(f"{fruit.weight} lbs", cell),
            Paragraph(escape_text(fruit.why), cell),
        ])
    width = WIDTH
    table = Table(rows, colWidths=[1.5 * cm, 4.5 * cm, 2.2 * cm, width - 8.2 * cm],
                  repeatRows=1)
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), GREY),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, PALE_GREEN]),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
    ]))
    return table


def _not_imported_table(report: ImportReport, style: dict[str, ParagraphStyle]) -> Table:
    """Each item that is not in the catalog: its file, its fruit when known, and why."""
    cell = style["cell"]
    rows: list[list[object]] = [[
        Paragraph("File", style["head"]), Paragraph("Fruit", style["head"]),
        Paragraph("Why", style["head"]),
    ]]
    for item in report.not_imported:
        rows.append([
            Paragraph(escape_text(item.file), cell),
            Paragraph(escape_text(item.name) if item.name else "", cell),
            Paragraph(escape_text(item.reason), cell),
        ])
    width = WIDTH
    table = Table(rows, colWidths=[4.2 * cm, 3.6 * cm, width - 7.8 * cm], repeatRows=1)
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), RED),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, PALE_RED]),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
    ]))
    return table


def _decorate(title: str) -> Callable[[Canvas, SimpleDocTemplate], None]:
    """The page furniture: a green band with the store's name on top, the page number below."""

    def draw(canvas: Canvas, document: SimpleDocTemplate) -> None:
        width, height = PAGE
        left, right = MARGIN + 6, width - MARGIN - 6  # in line with the frame's content
        canvas.saveState()
        canvas.setFillColor(GREEN)
        canvas.rect(0, height - 1.0 * cm, width, 1.0 * cm, stroke=0, fill=1)
        canvas.setFillColor(colors.white)
        canvas.setFont("Helvetica-Bold", 10)
        canvas.drawString(left, height - 0.65 * cm, STORE)
        canvas.setFont("Helvetica", 9)
        canvas.drawRightString(right, height - 0.65 * cm, "Supplier report")
        canvas.setFillColor(GREY)
        canvas.setFont("Helvetica", 8)
        canvas.drawString(left, 1.0 * cm, title)
        canvas.drawRightString(right, 1.0 * cm, f"page {document.page}")
        canvas.restoreState()

    return draw


def write_import_report(path: str | Path, report: ImportReport) -> None:
    """Write the illustrated PDF of an import: figures, a chart, what failed, every fruit."""
    style = _styles()
    totals = fruit_totals(report.imported)
    colours: dict[str, colors.Color] = {}
    for fruit in report.imported:
        if fruit.name not in colours and (colour := photo_colour(fruit.image)):
            colours[fruit.name] = colour
    story: list[Flowable] = [
        Paragraph(escape_text(report.title), style["title"]),
        Paragraph("What your drop brought into the catalog of the " + STORE + ".",
                  style["subtitle"]),
        _summary(report, style),
    ]
    if totals:
        chart = weight_chart(totals, colours=colours)
        story.append(KeepTogether([Paragraph("Weight per fruit", style["h2"]), chart]))
    if report.not_imported:  # what the supplier has to act on comes before the long list
        story += [
            CondPageBreak(HEADING_ROOM),
            Paragraph("Not imported", style["h2-red"]),
            Paragraph(
                "These items of the drop are not in the catalog. Each line says why; once the "
                "cause is fixed, the next upload brings them in.", style["body"],
            ),
            Spacer(1, 0.2 * cm),
            _not_imported_table(report, style),
        ]
    story += [CondPageBreak(HEADING_ROOM), Paragraph("Fruits imported", style["h2"])]
    if report.imported:
        story.append(_fruit_table(report, style))
    else:
        story.append(Paragraph("No fruit of this drop was new to the catalog. Total weight "
                               "imported (0 items): 0 lbs", style["body"]))
    if report.already:
        count = len(report.already)
        story += [
            CondPageBreak(HEADING_ROOM),
            Paragraph("Already in the catalog", style["h2"]),
            Paragraph(
                f"{plural(count, 'fruit')} of this drop {'was' if count == 1 else 'were'} in the "
                "catalog already: not imported again, and not counted in the total weight.",
                style["body"],
            ),
            Spacer(1, 0.2 * cm),
            _already_table(report, style),
        ]
    decorate = _decorate(report.title)
    document = SimpleDocTemplate(
        str(path), pagesize=PAGE, title=report.title, author=STORE,
        leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
    )
    document.build(story, onFirstPage=decorate, onLaterPages=decorate)
