"""The HTML page of a forms comparison (``eitest compare-forms --report``): its table, its notes, self-contained.

The page is ``templates/forms_report.html.j2`` rendered by the one environment
(:mod:`eitest.outputs.templating`), so instrument ids, column names and notes are
escaped like every other untrusted string.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from eitest.outputs.templating import render

if TYPE_CHECKING:
    # For the annotations only: the outputs layer sits below eitest.human and never imports it at run time.
    from eitest.human.forms import FormsComparison


def render_forms_page(result: FormsComparison) -> str:
    """A self-contained HTML page with the comparison table of ``result``."""
    from eitest.version import __version__

    return render("forms_report.html.j2", r=result, rows=result.table.to_dict("records"), version=__version__)


def write_forms_page(result: FormsComparison, path: str | Path) -> Path:
    """Write :func:`render_forms_page` of ``result`` to ``path`` (creating its folder), whole or not at all."""
    from eitest.outputs.writing import write_text

    return write_text(path, render_forms_page(result))
