"""2PL item parameters from human responses (``eitest norms build --irt-out``), with their source.

The credit of each participant on each item (as :mod:`eitest.human.response_files`
scores it, the same credit a model's trial gets) is calibrated by
:func:`eitest.stats.irt_calibration.calibrate_2pl`: marginal maximum likelihood by
EM, ability standard normal in this sample, logistic metric (D = 1). Each estimated
item gets ``irt: {model: 2PL, a, b, D: 1, source, where}``, the source naming the
response files, the sample size and the date, ``where`` the command; items that
cannot be calibrated (answered alike by everyone, or not discriminating) get none,
and a note says so. Below :data:`~eitest.stats.irt_calibration.MIN_CALIBRATION_N`
participants nothing is estimated and the error says why.

The parameters are written as a CSV of the instrument format's ``irt_*`` columns
(``item_id`` first, to merge into an item CSV or read back with
:func:`read_irt_csv`), and into the ``--items-out`` instrument file. The text cells
(``item_id``, ``irt_source``, ``irt_where``) come from user files, so one that a
spreadsheet would run as a formula is written with a leading ``'``
(:func:`eitest.outputs.cells.spreadsheet_safe`); the numbers are written as they are,
and :func:`read_irt_csv` takes the ``'`` off again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eitest.errors import EitestError
from eitest.instruments import Instrument, IrtParams
from eitest.instruments.irt_params import CSV_IRT_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

    from eitest.human.norm_building import NormBuild
    from eitest.stats.irt_calibration import Calibration

__all__ = [
    "IrtBuild",
    "IrtBuildError",
    "build_irt",
    "irt_csv_text",
    "irt_from_norm_build",
    "read_irt_csv",
    "unquoted",
    "with_irt",
    "write_items_with_irt",
]


class IrtBuildError(EitestError):
    """Item parameters cannot be estimated from these responses (too few participants)."""


@dataclass
class IrtBuild:
    """Estimated 2PL parameters of an instrument's items, the test information curve, and notes."""

    calibration: Calibration
    params: dict[str, IrtParams]  # item id -> parameters, for the items that could be calibrated
    information: pd.DataFrame  # theta, information, se (the test information curve of those items)
    notes: list[str] = field(default_factory=list)

    def items_table(self) -> pd.DataFrame:
        return self.calibration.items


def build_irt(credit: pd.DataFrame, instrument: Instrument, *, source: str, where: str) -> IrtBuild:
    """Calibrate the items (columns of ``credit``, participants in rows) and attach ``source`` and ``where``."""
    import pandas as pd

    from eitest.stats.irt import information_curve
    from eitest.stats.irt_calibration import calibrate_2pl

    try:
        cal = calibrate_2pl(credit[[it.id for it in instrument.items]])
    except ValueError as exc:
        raise IrtBuildError(f"no IRT parameters for {instrument.id}: {exc}") from None
    params: dict[str, IrtParams] = {}
    notes = list(cal.notes)
    for row in cal.items.itertuples(index=False):
        if isinstance(row.flag, str) or not math.isfinite(row.a):
            notes.append(f"item {row.item}: no IRT parameters ({row.flag})")
            continue
        a, b = round(float(row.a), 6), round(float(row.b), 6)
        params[str(row.item)] = IrtParams(model="2PL", a=a, b=b, c=0.0, D=1.0, source=source, where=where)
    frame = pd.DataFrame({"a": [p.a for p in params.values()], "b": [p.b for p in params.values()]})
    curve = information_curve(frame) if params else pd.DataFrame(columns=["theta", "information", "se"])
    notes.append(
        f"2PL parameters of {len(params)} of {instrument.n_items} items by marginal ML (EM) from {cal.n} participants "
        "(ability standard normal in this sample; logistic metric, D = 1); their SEs are in the item table"
    )
    return IrtBuild(cal, params, curve, notes)


def irt_from_norm_build(build: NormBuild, *, where: str, date: str | None = None) -> IrtBuild:
    """:func:`build_irt` on a norm build's credits; the source names its files, N and the date."""
    from datetime import UTC, datetime

    from eitest.human.norm_building import files_label

    if build.credit is None:
        raise ValueError("the norm build holds no credits to calibrate")
    date = date or datetime.now(UTC).date().isoformat()
    source = f"{files_label(build.files)} (N = {build.n}), 2PL by marginal ML in eitest norms build on {date}"
    return build_irt(build.credit, build.instrument, source=source, where=where)


def with_irt(instrument: Instrument, build: IrtBuild) -> Instrument:
    """The instrument with each calibrated item's ``irt`` replaced by the new parameters."""
    items = tuple(it.model_copy(update={"irt": build.params.get(it.id, it.irt)}) for it in instrument.items)
    return instrument.model_copy(update={"items": items})


def write_items_with_irt(build: NormBuild, irt: IrtBuild, out: str | Path) -> Path:
    """:func:`eitest.human.norm_building.write_items`, the calibrated items' ``irt`` filled in too."""
    from eitest.human.norm_building import items_instrument
    from eitest.instruments import dump_yaml, parse_instrument
    from eitest.outputs.writing import write_text

    inst = parse_instrument(with_irt(items_instrument(build), irt).normalized(), str(out))
    return write_text(out, dump_yaml(inst))


def irt_csv_text(build: IrtBuild) -> str:
    """The parameters as CSV: ``item_id`` and the instrument format's ``irt_*`` columns, one row per item."""
    import csv
    import io

    from eitest.outputs.cells import spreadsheet_safe as safe

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["item_id", *CSV_IRT_COLUMNS])
    for item_id, p in build.params.items():
        numbers = [repr(p.a), repr(p.b), repr(p.c), repr(p.D)]
        writer.writerow([safe(item_id), p.model, *numbers, safe(p.source), safe(p.where or "")])
    return out.getvalue()


def read_irt_csv(path: str | Path) -> dict[str, dict[str, Any]]:
    """Item id -> ``irt`` mapping from a CSV written by :func:`irt_csv_text` (for a check after writing)."""
    from eitest.instruments.irt_params import irt_from_cells
    from eitest.reading import read_csv

    rows = read_csv(Path(path), "an IRT parameter file").records()
    out: dict[str, dict[str, Any]] = {}
    for row in rows:

        def cell(column: str, row: dict[str, Any] = row) -> str:
            return unquoted(str(row.get(column) or "").strip())

        irt, problems = irt_from_cells(cell)
        if problems or irt is None:
            raise IrtBuildError(f"{path}: item {cell('item_id')}: {problems}")
        out[cell("item_id")] = irt
    return out


def unquoted(text: str) -> str:
    """``text`` without the ``'`` that :func:`eitest.outputs.cells.spreadsheet_safe` put before a formula's sign.

    Only a ``'`` followed by such a sign is taken off: a text that merely begins with
    ``'`` was not made safe (that function leaves it as it is) and is read as written.
    """
    from eitest.outputs.cells import FORMULA_PREFIXES

    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES) else text
