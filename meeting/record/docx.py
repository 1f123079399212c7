"""The record as a Word document (python-docx): what branch offices edit, print and file.

Times New Roman is the customary face of party documents; the text is Unicode throughout, so Vietnamese shows
in any face that has the letters. The file is reproducible: the same layout and moment give the same bytes
(fixed dates in the document properties and in the zip entries), so a sealed file can be made again and compared.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from meeting.record.layout import Layout, Para, Run, SignatureBlock, Signatures, Table

FONT = "Times New Roman"
ALIGN = {
    "left": WD_ALIGN_PARAGRAPH.LEFT,
    "center": WD_ALIGN_PARAGRAPH.CENTER,
    "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
    "right": WD_ALIGN_PARAGRAPH.RIGHT,
}
SIZE = {"body": 13, "title": 15, "subtitle": 13, "heading": 13, "item": 13, "small": 9, "mark": 11}
TEXT_WIDTH_CM = 16.0  # A4 less the margins below
NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters XML cannot hold


def render_docx(layout: Layout, moment: datetime) -> bytes:
    doc = Document()
    _page_setup(doc)
    _header(doc, layout)
    for block in layout.blocks:
        if isinstance(block, Para):
            _paragraph(doc.add_paragraph(), block)
        elif isinstance(block, Table):
            _table(doc, block)
        elif isinstance(block, Signatures):
            _signatures(doc, block)
    if layout.footer:  # the fingerprint on every page, above the page number
        footer = doc.sections[0].footer
        fingerprint = footer.paragraphs[0].insert_paragraph_before()
        fingerprint.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(fingerprint, Run(layout.footer, italic=True), 7)
    properties = doc.core_properties
    properties.title = layout.title
    properties.keywords = layout.keywords
    properties.author = properties.last_modified_by = "chibo"
    properties.created = properties.modified = moment.replace(tzinfo=None, microsecond=0)
    properties.revision = 1
    buffer = io.BytesIO()
    doc.save(buffer)
    return _reproducible_zip(buffer.getvalue(), moment)


def _page_setup(doc) -> None:
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.0)
    section.left_margin, section.right_margin = Cm(3.0), Cm(2.0)
    style = doc.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(SIZE["body"])
    style.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    style.paragraph_format.space_after = Pt(3)
    style.paragraph_format.line_spacing = 1.1
    # The page number, centred at the foot of every page.
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    footer._p.append(field)


def _run(paragraph: Paragraph, run: Run, size: float) -> None:
    """A run built as XML directly: python-docx's own `add_run` walks the text character by character and
    looks up every property, ten times slower on the minutes of a long meeting. The face comes from the style."""
    element = OxmlElement("w:r")
    properties = OxmlElement("w:rPr")
    for flag, tag in ((run.bold, "w:b"), (run.italic, "w:i")):
        if flag:
            properties.append(OxmlElement(tag))
    if size != SIZE["body"]:
        for tag in ("w:sz", "w:szCs"):
            measure = OxmlElement(tag)
            measure.set(qn("w:val"), str(round(size * 2)))
            properties.append(measure)
    if len(properties):
        element.append(properties)
    for index, line in enumerate(NOT_XML.sub("", run.text).split("\n")):
        if index:
            element.append(OxmlElement("w:br"))
        text = OxmlElement("w:t")
        text.set(qn("xml:space"), "preserve")
        text.text = line
        element.append(text)
    paragraph._p.append(element)


def _paragraph(paragraph: Paragraph, block: Para) -> None:
    paragraph.alignment = ALIGN[block.align]
    if block.indent:
        paragraph.paragraph_format.first_line_indent = Cm(1.0)
    if block.style in ("heading", "title"):
        paragraph.paragraph_format.space_before = Pt(9 if block.style == "heading" else 12)
    if block.style == "title":
        paragraph.paragraph_format.space_after = Pt(0)
    for run in block.runs:
        _run(paragraph, run, SIZE[block.style])


def _no_borders(table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)


def _lines(cell: _Cell, lines: list[tuple[Run, float]], underline_first: bool = False) -> None:
    first = True
    for run, size in lines:
        paragraph = cell.paragraphs[0] if first else cell.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.space_after = Pt(0)
        _run(paragraph, run, size)
        if first and underline_first:
            paragraph.runs[0].underline = True
        first = False


def _header(doc, layout: Layout) -> None:
    table = doc.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _no_borders(table)
    left, right = table.rows[0].cells
    left.width, right.width = Cm(7.0), Cm(9.0)
    _lines(left, [(run, 13) for run in layout.header.left])
    _lines(right, [(run, 13) for run in layout.header.right], underline_first=True)


def _table(doc, block: Table) -> None:
    table = doc.add_table(rows=1 + len(block.rows), cols=len(block.headers))
    table.style = "Table Grid"
    total = sum(block.widths)
    widths = [Cm(TEXT_WIDTH_CM * w / total) for w in block.widths]
    for r, row in enumerate([block.headers, *block.rows]):
        for c, text in enumerate(row):
            cell = table.rows[r].cells[c]
            cell.width = widths[c]
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.space_after = Pt(0)
            if r == 0:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _run(paragraph, Run(text, bold=r == 0), 11)
    doc.add_paragraph().paragraph_format.space_after = Pt(0)


def _signature_cell(cell: _Cell, block: SignatureBlock) -> None:
    lines: list[tuple[Run, float]] = [(Run(title, bold=True), 13) for title in block.titles]
    lines.append((Run(block.note, italic=True), 10))
    lines += [(Run(""), 13), (Run(""), 13)]
    lines.append((Run(block.name, bold=True), 13))
    _lines(cell, lines)


def _signatures(doc, block: Signatures) -> None:
    doc.add_paragraph().paragraph_format.space_after = Pt(6)
    table = doc.add_table(rows=1, cols=2)
    _no_borders(table)
    left, right = table.rows[0].cells
    _signature_cell(left, block.left)
    _signature_cell(right, block.right)


def _reproducible_zip(data: bytes, moment: datetime) -> bytes:
    """The same package with every entry dated `moment` (a zip stores each file's time)."""
    stamp = (max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute, moment.second // 2 * 2)
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()
