"""The record as PDF (fpdf2, LGPL-3.0): the same blocks as the DOCX, laid out on A4.

Party documents are set in Times New Roman (the DOCX names it). The PDF embeds Liberation Serif, whose metrics are
Times New Roman's, so lines break where Word breaks them: version 2 (Debian's fonts-liberation2) has every
Vietnamese letter, unlike version 1 (fonts-liberation). DejaVu Serif (fonts-dejavu-core) is the fallback for the
letters Liberation Serif lacks (other scripts, symbols); a character no embedded font has, such as an emoji or a
Chinese character, is printed as the replacement character "\ufffd" (a question mark in a box), never dropped in
silence. CHIBO_FONT_DIR may name another folder holding the same files (scripts/ensure-system-packages and
docker/Dockerfile install Debian's). Text is written through fpdf2's paragraph API, never its markdown, so
nothing a member says can change the styling. The bytes are reproducible: the creation date is the moment given.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import FontFace

from meeting.record.layout import Layout, Para, SignatureBlock, Signatures, Table

FAMILY = "LiberationSerif"
FONT_FILES = {
    "": "LiberationSerif-Regular.ttf",
    "B": "LiberationSerif-Bold.ttf",
    "I": "LiberationSerif-Italic.ttf",
    "BI": "LiberationSerif-BoldItalic.ttf",
}
FALLBACK_FAMILY = "DejaVuSerif"
FALLBACK_FILES = {"": "DejaVuSerif.ttf", "B": "DejaVuSerif-Bold.ttf"}
REPLACEMENT = "\ufffd"  # drawn from the fallback font, which has it
KEPT_AS_IS = frozenset("\n")  # line breaks are layout, not glyphs
SIZE = {"body": 12, "title": 15, "subtitle": 12.5, "heading": 12, "item": 12, "small": 8, "mark": 11}
ALIGN = {"left": Align.L, "center": Align.C, "justify": Align.J, "right": Align.R}
LINE = 1.35  # line height, times the font size
MM_PER_PT = 0.3528
SIGNATURE_HEIGHT = 50  # titles, the signed note, room to sign by hand, the name


def font_dirs() -> list[Path]:
    candidates = [
        os.environ.get("CHIBO_FONT_DIR", ""),
        str(Path(__file__).parent / "fonts"),
        "/usr/share/fonts/truetype/liberation2",
        "/usr/share/fonts/truetype/dejavu",
        "/usr/share/fonts/liberation2",
        "/usr/share/fonts/dejavu",
        "/usr/share/fonts/TTF",
    ]
    return [Path(c) for c in candidates if c]


def _find(name: str) -> Path | None:
    return next((folder / name for folder in font_dirs() if (folder / name).is_file()), None)


@lru_cache(maxsize=1)
def font_files() -> dict[str, Path]:
    """Style -> file of the document face; the first folder holding a file wins."""
    found = {style: _find(name) for style, name in FONT_FILES.items()}
    missing = [FONT_FILES[style] for style, path in found.items() if path is None]
    if missing:
        raise RuntimeError(
            f"No Times-compatible font with Vietnamese letters for PDF documents (missing {', '.join(missing)}): "
            "install Debian's fonts-liberation2 (scripts/ensure-system-packages does) or set CHIBO_FONT_DIR to a "
            "folder with the four LiberationSerif-*.ttf files"
        )
    return {style: path for style, path in found.items() if path is not None}


@lru_cache(maxsize=1)
def fallback_files() -> dict[str, Path]:
    found = {style: _find(name) for style, name in FALLBACK_FILES.items()}
    if any(path is None for path in found.values()):
        raise RuntimeError(
            "No fallback font for PDF documents: install Debian's fonts-dejavu-core (scripts/ensure-system-packages "
            "does) or set CHIBO_FONT_DIR to a folder with DejaVuSerif.ttf and DejaVuSerif-Bold.ttf"
        )
    return {style: path for style, path in found.items() if path is not None}


class DocumentPDF(FPDF):
    """An A4 document set in the party documents' face, with the fallback font and visible replacements."""

    def __init__(self) -> None:
        super().__init__(format="A4", unit="mm")
        for style, path in font_files().items():
            self.add_font(FAMILY, style, str(path))
        for style, path in fallback_files().items():
            self.add_font(FALLBACK_FAMILY, style, str(path))
        self._fallback_cmap = frozenset().union(
            *(self.fonts[FALLBACK_FAMILY.lower() + style].cmap for style in fallback_files())
        )

    def normalize_text(self, text: str) -> str:
        """Every character fpdf2 writes comes through here. Letters typed as a base letter and combining marks
        become the precomposed Vietnamese letters the fonts have; a character no embedded font can draw becomes
        the replacement character (fpdf2 alone would leave a gap and only log a warning)."""
        text = unicodedata.normalize("NFC", super().normalize_text(text))
        font = self.current_font
        if font is None or all(ord(ch) in font.cmap or ch in KEPT_AS_IS for ch in text):
            return text
        # fpdf2 checks each character against the fallback font once one is set, which costs a tenth of the
        # rendering: it is set only when a document needs it.
        if not self._fallback_font_ids:
            self.set_fallback_fonts([FALLBACK_FAMILY], exact_match=False)
        drawable = font.cmap.keys() | self._fallback_cmap
        return "".join(ch if ch in KEPT_AS_IS or ord(ch) in drawable else REPLACEMENT for ch in text)


@dataclass(frozen=True)
class Attachment:
    """A file carried inside the PDF (an embedded file: readers list it beside the pages)."""

    name: str
    data: bytes
    mime_type: str
    description: str


class _RecordPDF(DocumentPDF):
    """Every page ends with the record's fingerprint (number, content hash, journal head) and its page number,
    so a single page taken out of the document still says which sealed record it belongs to."""

    fingerprint = ""

    def footer(self) -> None:
        self.set_y(-17)
        if self.fingerprint:
            self.set_font(FAMILY, "I", 6.5)
            self.multi_cell(0, 3, self.fingerprint, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_y(-10)
        self.set_font(FAMILY, "", 9)
        self.cell(0, 5, f"{self.page_no()}/{{nb}}", align="C")


def render_pdf(layout: Layout, moment: datetime, attachments: Sequence[Attachment] = ()) -> bytes:
    pdf = _RecordPDF()
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
    for attachment in attachments:
        pdf.embed_file(
            bytes=attachment.data,
            basename=attachment.name,
            mime_type=attachment.mime_type,
            desc=attachment.description,
            creation_date=moment.replace(microsecond=0),
            modification_date=moment.replace(microsecond=0),
            compress=True,
        )
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
    pdf.set_font(FAMILY, "I", 9)
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
