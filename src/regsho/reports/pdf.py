"""PDF from the documents' HTML with fpdf2.

fpdf2 is pure Python, maintained and installs from PyPI on a fresh machine with nothing else (no system libraries,
unlike WeasyPrint's Pango, and no headless browser); its ``write_html`` renders the headings, paragraphs, lists and
tables the documents use. The built-in PDF fonts cover Latin-1 only, so typographic characters are mapped to
their plain equivalents first.
"""

from __future__ import annotations

import re

_PLAIN = str.maketrans({"\u2014": "-", "\u2013": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                        "\u2026": "...", "\u2022": "-", "\u2192": "->", "\u2265": ">=", "\u2264": "<=",
                        "\u00a0": " ", "\u2009": " "})


def latin1(text: str) -> str:
    return text.translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


def html_to_pdf(title: str, body_html: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="letter")
    pdf.set_title(latin1(title))
    pdf.set_creator("regsho")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    # fpdf2's HTML tables want explicit widths; the renderer spreads them evenly when none are given
    body = re.sub(r"<table>", '<table border="1" width="100%">', body_html)
    pdf.write_html(latin1(body))
    return bytes(pdf.output())
