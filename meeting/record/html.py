"""The record as HTML, for the record viewer: the same blocks as the DOCX and PDF, escaped, no script in them."""

from __future__ import annotations

from html import escape

from meeting.record.layout import Layout, Para, Run, SignatureBlock, Signatures, Table

TAG = {"title": "h1", "subtitle": "p", "heading": "h2", "item": "h3"}


def _run(run: Run) -> str:
    text = escape(run.text)
    if run.italic:
        text = f"<em>{text}</em>"
    if run.bold:
        text = f"<strong>{text}</strong>"
    return text


def _para(block: Para) -> str:
    tag = TAG.get(block.style, "p")
    classes = [f"s-{block.style}", f"a-{block.align}"] + (["indent"] if block.indent else [])
    return f'<{tag} class="{" ".join(classes)}">{"".join(_run(r) for r in block.runs)}</{tag}>'


def _table(block: Table) -> str:
    """Each cell names its column (data-label): on a phone the viewer shows each row as a small card."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in block.headers)
    labels = [escape(h) for h in block.headers]
    body = "".join(
        "<tr>"
        + "".join(
            f'<td data-label="{labels[i]}">{escape(cell)}</td>' if i < len(labels) else f"<td>{escape(cell)}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in block.rows
    )
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _signature(block: SignatureBlock) -> str:
    titles = "".join(f"<strong>{escape(t)}</strong><br>" for t in block.titles if t)
    note = f'<span class="note">{escape(block.note)}</span>' if block.note else '<span class="note"></span>'
    return f'<div class="sign">{titles}{note}<span class="name">{escape(block.name)}</span></div>'


def render_html(layout: Layout) -> str:
    """An <article> fragment; the viewer page places it."""
    left = "<br>".join(_run(r) for r in layout.header.left)
    right = "<br>".join(_run(r) for r in layout.header.right if r.text)
    parts = [
        '<article class="record" lang="vi">',
        f'<header class="doc-head"><div class="left">{left}</div><div class="right">{right}</div></header>',
    ]
    for block in layout.blocks:
        if isinstance(block, Para):
            parts.append(_para(block))
        elif isinstance(block, Table):
            parts.append(_table(block))
        elif isinstance(block, Signatures):
            parts.append(f'<footer class="signatures">{_signature(block.left)}{_signature(block.right)}</footer>')
    if layout.footer:
        parts.append(f'<p class="fingerprint">{escape(layout.footer)}</p>')
    parts.append("</article>")
    return "\n".join(parts)


def page(title: str, static: str, main: str, data: dict[str, str]) -> str:
    """A page shell like the other pages' (static/*.html): skip link, the red bar with the title, the text size and
    language buttons, then `main`. No data: the script reads everything with the signed-in member's token and
    puts every word in the chosen language (`data-i18n` keys, filled by static/js/i18n.js).

    `static` is the versioned prefix of static/ (`/static/v-…/`): the script imports the pages' shared modules
    (common.js, i18n.js, net.js) from there, so it shares one language and one session with them."""
    attributes = "".join(f' data-{escape(k)}="{escape(v)}"' for k, v in {"static": static, **data}.items())
    return (
        '<!doctype html>\n<html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light">'
        f'<title data-i18n="{escape(title)}">Chi bộ</title>'
        # The site's icon, as on the other pages (without it the browser asks for /favicon.ico, which is not ours).
        '<link rel="icon" href="/static/img/icon.svg" type="image/svg+xml">'
        f'<link rel="stylesheet" href="{escape(static)}css/app.css">'
        '<link rel="stylesheet" href="/web/record/record.css">'
        '<script type="module" src="/web/record/record.js"></script></head>'
        '<body class="record-page">'
        '<a class="skip-link" href="#main" data-i18n="common.skip"></a>'
        '<header class="bar">'
        f'<h1 id="page-title" data-i18n="{escape(title)}"></h1>'
        '<button id="text-size" type="button" class="btn btn-small" aria-pressed="false" data-i18n="common.largeText">'
        "</button>"
        '<button id="lang" type="button" class="btn btn-small" lang="en">English</button>'
        "</header>"
        f'<main id="main" tabindex="-1"{attributes}>{main}</main>'
        '<div id="toast" class="toasts" aria-live="polite"></div>'
        "</body></html>"
    )
