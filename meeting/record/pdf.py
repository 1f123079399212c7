"""The record as PDF (fpdf2, LGPL-3.0): the same blocks as the DOCX, laid out on A4.

Vietnamese needs a font with its precomposed letters: DejaVu Serif, from Debian's fonts-dejavu-core (regular and
bold) and fonts-dejavu-extra (italics), which the project's set-up installs (scripts/ensure-system-packages,
docker/Dockerfile). CHIBO_FONT_DIR may name another folder with the same files. Without the italic files the
upright face stands in for them. Text is written through fpdf2's paragraph API, never its markdown, so nothing a
member says can change the styling. The bytes are reproducible: the creation date is the moment given.
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import FontFace

from meeting.record.layout import Layout, Para, SignatureBlock, Signatures, Table

FAMILY = "DejaVuSerif"
FONT_FILES = {
    "": ("DejaVuSerif.ttf",),
    "B": ("DejaVuSerif-Bold.ttf",),
    "I": ("DejaVuSerif-Italic.ttf", "DejaVuSerif.ttf"),
    "BI": ("DejaVuSerif-BoldItalic.ttf", "DejaVuSerif-Bold.ttf"),
}
SIZE = {"body": 12, "title": 15, "subtitle": 12.5, "heading": 12, "item": 12, "small": 8, "mark": 11}
ALIGN = {"left": Align.L, "center": Align.C, "justify": Align.J, "right": Align.R}
LINE = 1.35  # line height, times the font size
MM_PER_PT = 0.3528
SIGNATURE_HEIGHT = 50  # titles, the signed note, room to sign by hand, the name


def font_dirs() -> list[Path]:
    candidates = [
        os.environ.get("CHIBO_FONT_DIR", ""),
        str(Path(__file__).parent / "fonts"),
        "/usr/share/fonts/truetype/dejavu",
        "/usr/share/fonts/dejavu",
        "/usr/share/fonts/TTF",
    ]
    return [Path(c) for c in candidates if c]


@lru_cache(maxsize=1)
def font_files() -> dict[str, Path]:
    """Style -> font file; the first folder holding a file wins for each style."""
    found: dict[str, Path] = {}
    for style, names in FONT_FILES.items():
        for name in names:
            path = next((folder / name for folder in font_dirs() if (folder / name).is_file()), None)
            if path is not None:
                found[style] = path
                break
    if "" not in found or "B" not in found:
        raise RuntimeError(
            "No font with Vietnamese letters for PDF records: install Debian's fonts-dejavu-core "
            "(scripts/ensure-system-packages does) or set CHIBO_FONT_DIR to a folder with DejaVuSerif.ttf "
            "and DejaVuSerif-Bold.ttf"
        )
    return found


class _RecordPDF(FPDF):
    """Every page ends with the record's fingerprint (number, content hash, journal head) and its page number,
    so a single page taken out of the document still says which sealed record it belongs to."""

    fingerprint = ""

    def footer(self) -> None:
        self.set_y(-17)
        if self.fingerprint:
            self.set_font(FAMILY, "I" if "I" in font_files() else "", 6.5)
            self.multi_cell(0, 3, self.fingerprint, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_y(-10)
        self.set_font(FAMILY, "", 9)
        self.cell(0, 5, f"{self.page_no()}/{{nb}}", align="C")


def render_pdf(layout: Layout, moment: datetime) -> bytes:
    pdf = _RecordPDF(format="A4", unit="mm")
    for style, path in font_files().items():
        pdf.add_font(FAMILY, style, str(path))
    pdf.set_margins(30, 20, 20)
    pdf.set_auto_page_break(True, margin=22)
    pdf.fingerprint = layout.footer
    pdf.set_title(layout.title)
    if layout.keywords:
        pdf.set_keywords(layout.keywords)
    pdf.set_creator("chibo")
    pdf.set_producer("chibo")
    pdf.set_creation_date(moment.replace(microsecond=0))
    pdf.set_lang("vi")
    pdf.add_page()
    _header(pdf, layout)
    pending: list[Para] = []
    for block in layout.blocks:
        if isinstance(block, Para):
            pending.append(block)
            continue
        if isinstance(block, Signatures) and pending:
            # The closing paragraph goes to the next page with the signatures rather than leave them alone there.
            *before, last = pending
            _paragraphs(pdf, before)
            if pdf.get_y() + _height(pdf, last) + SIGNATURE_HEIGHT > pdf.page_break_trigger:
                pdf.add_page()
            pending = [last]
        _paragraphs(pdf, pending)
        pending = []
        if isinstance(block, Table):
            _table(pdf, block)
        elif isinstance(block, Signatures):
            _signatures(pdf, block)
    _paragraphs(pdf, pending)
    return bytes(pdf.output())


def _header(pdf: FPDF, layout: Layout) -> None:
    top = pdf.get_y()
    left_width = 70
    for run in layout.header.left:
        pdf.set_font(FAMILY, "B" if run.bold else "", 12)
        pdf.set_x(pdf.l_margin)
        pdf.cell(left_width, 5.6, run.text, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    bottom = pdf.get_y()
    pdf.set_y(top)
    right_width = pdf.epw - left_width
    for index, run in enumerate(layout.header.right):
        style = ("B" if run.bold else "") + ("I" if run.italic else "") + ("U" if index == 0 else "")
        pdf.set_font(FAMILY, style, 12)
        pdf.set_x(pdf.l_margin + left_width)
        pdf.cell(right_width, 5.6, run.text, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(bottom, pdf.get_y()) + 6)


def _paragraphs(pdf: FPDF, paragraphs: list[Para]) -> None:
    if not paragraphs:
        return
    pdf.set_font(FAMILY, "", SIZE["body"])
    with pdf.text_columns(text_align="J", line_height=LINE) as column:
        for block in paragraphs:
            size = SIZE[block.style]
            before = {"title": 3.0, "heading": 3.5, "item": 2.0}.get(block.style, 0.0)
            with column.paragraph(
                text_align=ALIGN[block.align],
                top_margin=before,
                bottom_margin=1.2,
                first_line_indent=10 if block.indent else 0,
            ) as paragraph:
                for run in block.runs:
                    style = ("B" if run.bold else "") + ("I" if run.italic else "")
                    pdf.set_font(FAMILY, style, size)
                    paragraph.write(run.text)


def _table(pdf: FPDF, block: Table) -> None:
    pdf.ln(1)
    pdf.set_font(FAMILY, "", 10)
    with pdf.table(
        col_widths=block.widths,
        headings_style=FontFace(emphasis="BOLD"),
        text_align="LEFT",
        align="LEFT",  # from the left margin, like the text (fpdf2 centres on the page)
        line_height=10 * MM_PER_PT * 1.3,
        padding=1,
    ) as table:
        for row in (block.headers, *block.rows):
            cells = table.row()
            for text in row:
                cells.cell(text)
    pdf.ln(2)


def _signature_column(pdf: FPDF, x: float, width: float, top: float, block: SignatureBlock) -> float:
    pdf.set_y(top)
    for title in block.titles:
        pdf.set_font(FAMILY, "B", 12)
        pdf.set_x(x)
        pdf.cell(width, 6, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FAMILY, "I" if "I" in font_files() else "", 9)
    pdf.set_x(x)
    pdf.multi_cell(width, 4.5, block.note or " ", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(14)
    pdf.set_font(FAMILY, "B", 12)
    pdf.set_x(x)
    pdf.cell(width, 6, block.name, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return pdf.get_y()


def _height(pdf: FPDF, block: Para) -> float:
    """About how tall a paragraph will be (measured in its first run's style, with some room to spare)."""
    run = block.runs[0]
    pdf.set_font(FAMILY, ("B" if run.bold else "") + ("I" if run.italic else ""), SIZE[block.style])
    lines = pdf.multi_cell(pdf.epw - 10, 5, block.text, dry_run=True, output="LINES")
    return len(lines) * SIZE[block.style] * MM_PER_PT * LINE + 4


def _signatures(pdf: FPDF, block: Signatures) -> None:
    if pdf.get_y() + SIGNATURE_HEIGHT > pdf.page_break_trigger:  # both columns whole, on one page
        pdf.add_page()
    pdf.ln(6)
    top = pdf.get_y()
    half = pdf.epw / 2
    left_end = _signature_column(pdf, pdf.l_margin, half, top, block.left)
    right_end = _signature_column(pdf, pdf.l_margin + half, half, top, block.right)
    pdf.set_y(max(left_end, right_end))
