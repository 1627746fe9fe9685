"""The report of a comparison of runs (``eitest compare-runs --html/--pdf``): HTML, and the PDF of the same page.

The page is ``templates/comparison_report.html.j2`` rendered by the one environment
(:mod:`eitest.outputs.templating`): model names, item ids, chosen options and notes
are escaped like every other untrusted string. The PDF is WeasyPrint's, through the
report's own :func:`eitest.outputs.report.write_pdf` (no fetch but ``data:``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from eitest.outputs.templating import render

if TYPE_CHECKING:
    from eitest.scoring.comparison import Comparison


def render_comparison_page(result: Comparison) -> str:
    """A self-contained HTML page with the tables of ``result``."""
    from eitest.version import __version__

    data = result.to_dict()
    return render(
        "comparison_report.html.j2",
        respondents=data["respondents"],
        differences=data["differences"],
        omnibus=data["omnibus"],
        flipped=data["flipped"],
        notes=result.notes,
        settings=result.settings,
        version=__version__,
    )


def write_comparison_report(result: Comparison, html: str | Path | None, pdf: str | Path | None = None) -> list[Path]:
    """Write the page to ``html`` and/or its PDF to ``pdf`` (both checked first; each whole or not at all)."""
    from eitest.outputs.report import write_pdf
    from eitest.outputs.writing import check_output_file, write_text

    for path in (html, pdf):
        if path is not None:
            check_output_file(path)  # both paths checked before either file is made
    text = render_comparison_page(result)
    written = []
    if html is not None:
        written.append(write_text(html, text))
    if pdf is not None:
        written.append(write_pdf(text, pdf))
    return written
