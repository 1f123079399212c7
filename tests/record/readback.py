"""Reading generated documents back as plain text, the way a person or a search tool would see them."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import docx
from docx.table import Table
from pypdf import PdfReader


def squash(text: str) -> str:
    """One space between words, whatever the line breaks and justification did."""
    return re.sub(r"\s+", " ", text).strip()


def docx_text(data: bytes) -> str:
    """The body in reading order (paragraphs, then tables cell by cell), then the page footers."""
    document = docx.Document(io.BytesIO(data))
    parts = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                parts += [paragraph.text for cell in row.cells for paragraph in cell.paragraphs]
        else:
            parts.append(block.text)
    for section in document.sections:
        parts += [paragraph.text for paragraph in section.footer.paragraphs]
    return squash("\n".join(parts))


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return squash("\n".join(page.extract_text() or "" for page in reader.pages))


def pdf_pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def pdf_to_png(pdf: Path, prefix: Path, dpi: int = 80) -> list[Path]:
    """Every page as PNG with poppler's pdftoppm (scripts/ensure-system-packages installs poppler-utils)."""
    tool = shutil.which("pdftoppm")
    assert tool is not None, "pdftoppm is missing: run `bash scripts/ensure-system-packages test`"
    subprocess.run([tool, "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True, timeout=60)
    return sorted(prefix.parent.glob(prefix.name + "-*.png"))
