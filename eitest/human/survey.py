"""Export an instrument as a questionnaire for human participants.

Three formats:

- ``csv``: one row per item in the layout of ``docs/instrument-format.md``
  (``item_id, stem, question, option_<id>...``), without the key or weights unless
  asked, so the file can go to a survey tool or a printer.
- ``qualtrics``: a Qualtrics *Advanced Format* TXT file to import as a survey:
  ``[[AdvancedFormat]]``, a ``[[Block:Instructions]]`` with the instructions as a
  text question (``[[Question:DB]]``), then a ``[[Block:<instrument id>]]`` with
  one ``[[Question:MC:SingleAnswer:Vertical]]`` per item, carrying
  ``[[ID:item_id]]``, the text and ``[[Choices]]``. The format has no comment
  syntax and no randomization tag, so a notes file beside it says how to switch on
  question randomization in Qualtrics and how Qualtrics' choice numbers map to
  eitest's option ids.
- ``html``: one standalone page (inline CSS and JS, no network) that shows the
  items in an order shuffled per participant, keeps the answers in the browser and
  offers them as a CSV in the layout ``eitest norms build`` reads
  (``participant`` then one column per item id, cells = chosen option ids).
"""

from __future__ import annotations

import csv
import html
import io
import json
import random
import re
from pathlib import Path
from typing import Any

from eitest.errors import EitestError
from eitest.instruments import Instrument, Item
from eitest.outputs.writing import write_text

FORMATS = ("csv", "qualtrics", "html")


class SurveyError(EitestError):
    """An instrument that cannot be exported as asked."""


def _require_items(instrument: Instrument) -> None:
    if instrument.is_metadata_only:
        raise SurveyError(
            f"{instrument.id} ships without items; import your licensed copy first ('eitest instruments import {instrument.id} FILE')"
        )


def item_order(instrument: Instrument, randomize: bool, seed: int | None) -> list[Item]:
    """The instrument's items, in a seeded random order when ``randomize``."""
    items = list(instrument.items)
    if randomize:
        random.Random(0 if seed is None else seed).shuffle(items)
    return items


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- csv


def csv_text(
    instrument: Instrument, *, with_key: bool = False, randomize: bool = False, seed: int | None = None
) -> str:
    """The items as CSV, one row per item (``docs/instrument-format.md``)."""
    _require_items(instrument)
    items = item_order(instrument, randomize, seed)
    option_ids: list[str] = []
    for it in instrument.items:
        for oid in it.option_ids:
            if oid not in option_ids:
                option_ids.append(oid)
    columns = ["item_id", "stem", "question", *(f"option_{o}" for o in option_ids)]
    if with_key:
        columns += ["key"] if instrument.scoring == "keyed" else [f"weight_{o}" for o in option_ids]
        columns.append("rationale")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for it in items:
        row: dict[str, Any] = {"item_id": it.id, "stem": _one_line(it.stem), "question": _one_line(it.question)}
        for o in it.options:
            row[f"option_{o.id}"] = o.text
        if with_key:
            if instrument.scoring == "keyed":
                row["key"] = it.key
            else:
                for oid, w in (it.weights or {}).items():
                    row[f"weight_{oid}"] = w
            row["rationale"] = it.rationale or ""
        writer.writerow(row)
    return buf.getvalue()


# --------------------------------------------------------------------------- qualtrics


def _qualtrics_text(text: str) -> str:
    # Qualtrics renders question and choice text as HTML, and "[[" would open a tag.
    return html.escape(_one_line(text), quote=False).replace("[[", "[ [").replace("]]", "] ]")


def qualtrics_text(instrument: Instrument) -> str:
    """A Qualtrics Advanced Format TXT survey: instructions, then one single-answer question per item."""
    _require_items(instrument)
    # The instructions get a block of their own, so that randomizing the item block leaves them first.
    lines = ["[[AdvancedFormat]]", "", "[[Block:Instructions]]", ""]
    lines += ["[[Question:DB]]", "[[ID:instructions]]", _qualtrics_text(instrument.instructions), ""]
    lines += [f"[[Block:{_qualtrics_text(instrument.id)}]]", ""]
    for it in instrument.items:
        lines += [
            "[[Question:MC:SingleAnswer:Vertical]]",
            f"[[ID:{_qualtrics_text(it.id)}]]",
            f"{_qualtrics_text(it.stem)}<br><br>{_qualtrics_text(it.question)}",
            "[[Choices]]",
            *(_qualtrics_text(o.text) for o in it.options),
            "",
        ]
    return "\n".join(lines)


def qualtrics_notes(instrument: Instrument, txt_name: str, randomize: bool) -> str:
    """What the Advanced Format cannot say: randomization and the choice-number -> option-id map."""
    lines = [
        f"Notes for {txt_name} (eitest survey export, instrument {instrument.id}, content hash {instrument.content_hash[:12]})",
        "",
        "Import: Survey editor > Tools > Import/Export > Import Survey, choose the TXT file.",
        "",
    ]
    if randomize:
        lines += [
            "Randomization: the TXT format cannot carry it, so set it in Qualtrics after the import.",
            f"Open the block '{instrument.id}' > Block options > Question randomization >",
            "'Randomize the order of all questions'. The instructions sit in a block of their",
            "own before it, so they stay first.",
        ]
    else:
        lines += ["Randomization: none asked for; the items keep the instrument's order."]
    lines += [
        "",
        "Scoring: Qualtrics exports the number of the chosen choice (1, 2, ...). Before",
        "'eitest norms build', replace each number by the eitest option id below, and name",
        "the columns by the item ids (the question ids set by [[ID:...]]):",
        "",
    ]
    for it in instrument.items:
        lines.append(f"{it.id}: " + ", ".join(f"{n}={oid}" for n, oid in enumerate(it.option_ids, start=1)))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- html


def html_page(instrument: Instrument, *, randomize: bool = True, seed: int | None = None) -> str:
    """A standalone questionnaire page; every item text is HTML-escaped (:mod:`eitest.outputs.templating`)."""
    from eitest.outputs.templating import render
    from eitest.version import __version__

    _require_items(instrument)
    return render(
        "survey.html.j2",
        version=__version__,
        language=instrument.language,
        name=instrument.name,
        instructions=instrument.instructions.strip(),
        instrument_id=instrument.id,
        content_hash=instrument.content_hash,
        n_items=instrument.n_items,
        items=instrument.items,
        item_ids_json=json.dumps([it.id for it in instrument.items]),
        randomize=randomize,
        seed=seed,
    )


_CORE_SCRIPT = re.compile(r'<script id="eitest-core">(.*?)</script>', re.S)


def html_core_script(page: str) -> str:
    """The page's pure JavaScript functions (order, seed, CSV), for tests and checks outside a browser."""
    m = _CORE_SCRIPT.search(page)
    if not m:
        raise ValueError("no eitest-core script in the page")
    return m.group(1)


# --------------------------------------------------------------------------- export


def export(
    instrument: Instrument,
    fmt: str,
    out: str | Path,
    *,
    randomize: bool | None = None,
    seed: int | None = None,
    with_key: bool = False,
) -> list[Path]:
    """Write ``instrument`` as ``fmt`` to ``out``; returns the files written.

    ``randomize=None`` means the format's default: a per-participant order in the
    HTML page, the instrument's order in CSV, and the notes' randomization advice
    for Qualtrics.
    """
    if fmt not in FORMATS:
        raise SurveyError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if with_key and fmt != "csv":
        raise SurveyError(
            "--with-key is for the csv format only: a questionnaire for participants must not show the key"
        )
    # Each file whole or not at all; a bad path is an OutputError naming it.
    out = Path(out)
    if fmt == "csv":
        write_text(out, csv_text(instrument, with_key=with_key, randomize=bool(randomize), seed=seed))
        return [out]
    if fmt == "qualtrics":
        write_text(out, qualtrics_text(instrument))
        notes = out.with_name(out.stem + ".notes.txt")
        write_text(notes, qualtrics_notes(instrument, out.name, randomize is not False))
        return [out, notes]
    write_text(out, html_page(instrument, randomize=randomize is not False, seed=seed))
    return [out]
