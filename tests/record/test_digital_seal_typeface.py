"""The sealed PDF's typeface: Liberation Serif (Times New Roman's metrics) embedded, every Vietnamese letter drawn
by it, and a character no embedded font has (an emoji, a Chinese character) shown as a visible replacement, never
dropped."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from pypdf import PdfReader

from meeting.record.layout import DocHeader, Layout, Para, Run, Table
from meeting.record.pdf import REPLACEMENT, render_pdf
from tests.record.readback import pdf_text

VIETNAMESE = (
    "Đồng chí Nguyễn Thị Hướng phát biểu: ĐĂNG KÝ ỦY BAN, quỹ khuyến học; "
    "ẠẢẤẦẨẪẬẮẰẲẴẶẸẺẼẾỀỂỄỆỈỊỌỎỐỒỔỖỘỚỜỞỠỢỤỦỨỪỬỮỰỲỴỶỸ ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ ơư ƠƯ đ"
)
EMOJI, CHINESE = "\U0001f600", "\u4e2d"  # 😀 and 中: in none of the embedded fonts


def _layout(text: str) -> Layout:
    return Layout(
        title="Kiểm tra phông chữ",
        header=DocHeader(
            left=(Run("ĐẢNG BỘ XÃ TÂN LẬP", bold=True),), right=(Run("ĐẢNG CỘNG SẢN VIỆT NAM", bold=True),)
        ),
        blocks=[
            Para((Run(text),), indent=True),
            Para((Run(text, italic=True),), style="item"),
            Table(headers=("Họ và tên", "Ý kiến"), rows=((f"Lê Văn Cường {EMOJI}", text),), widths=(1, 2)),
        ],
        footer=f"Số 11-BB/CB {CHINESE}",
    )


def test_the_pdf_embeds_liberation_serif_for_every_style():
    data = render_pdf(_layout(VIETNAMESE), datetime(2026, 11, 20, 16, 0, tzinfo=UTC))
    fonts = set(re.findall(rb"/BaseFont\s*/([A-Z]{6}\+)?([A-Za-z-]+)", data))
    names = {name.decode() for _, name in fonts}
    assert {"LiberationSerif", "LiberationSerifBold", "LiberationSerifItalic"} <= names, names
    assert "FontFile2" in data.decode("latin-1")  # embedded, not named for the reader to substitute
    assert re.sub(r"\s+", " ", VIETNAMESE) in pdf_text(data)


def test_characters_no_font_has_show_as_a_replacement_and_vietnamese_stays_whole():
    line = f"Ý kiến {EMOJI} của đồng chí Phạm Thị Dung về {CHINESE} quỹ khuyến học."
    data = render_pdf(_layout(f"{VIETNAMESE} {line}"), datetime(2026, 11, 20, 16, 0, tzinfo=UTC))
    text = pdf_text(data)
    assert EMOJI not in text and CHINESE not in text
    expected = line.replace(EMOJI, REPLACEMENT).replace(CHINESE, REPLACEMENT)
    assert expected in text, text
    assert f"Lê Văn Cường {REPLACEMENT}" in text  # in a table cell too
    assert f"Số 11-BB/CB {REPLACEMENT}" in text  # and in the page footer
    assert re.sub(r"\s+", " ", VIETNAMESE) in text


def test_letters_typed_with_combining_marks_print_as_the_precomposed_letters():
    decomposed = "Nguye\u0302\u0303n Vu\u031b\u0323"  # "Nguyễn Vự" as some keyboards send it
    data = render_pdf(_layout(decomposed), datetime(2026, 11, 20, 16, 0, tzinfo=UTC))
    text = pdf_text(data)
    assert text.count("Nguyễn Vự") == 3
    assert text.count(REPLACEMENT) == 2  # only the emoji of the table and the Chinese character of the footer


def test_the_replacement_is_drawn_not_left_blank():
    """The replacement character has a glyph of its own in the fallback font (DejaVu Serif), with a width."""
    data = render_pdf(_layout(f"x {EMOJI} y"), datetime(2026, 11, 20, 16, 0, tzinfo=UTC))
    reader = PdfReader(io.BytesIO(data))
    fonts = {
        str(font["/BaseFont"]).split("+")[-1]
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
        if "/BaseFont" in font.get_object()
    }
    assert any(name.startswith("DejaVuSerif") for name in fonts), fonts
