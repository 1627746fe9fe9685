"""SPSS's rules for an export: valid variable names, string widths, display formats, the .sav file itself.

The names serve every format (valid in SPSS are valid in R and Stata), so one codebook
describes the csv, parquet, sav and hf exports alike; writing needs pyreadstat.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from eitest.outputs.codebook import InstrumentColumns, Variable

SAV_MAX_STRING_BYTES = 32767  # SPSS's widest string variable
SPSS_NAME_MAX = 64
WEIGHTED_SUFFIX = "_weighted"
# SPSS keywords that cannot be variable names.
_SPSS_RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"}


def spss_names(
    instruments: Sequence[str], weighted: Collection[str], *, taken: Collection[str] = ("run_id", "model", "repetition")
) -> list[InstrumentColumns]:
    """Column names for instrument ids that are valid SPSS names (and so valid in R and Stata).

    Letters, digits and underscores; starting with a letter; at most 64 characters with
    room for the ``_weighted`` suffix; not an SPSS keyword; unique without regard to case.
    """
    used = {t.lower() for t in taken}
    out = []
    for inst in instruments:
        base = re.sub(r"[^A-Za-z0-9_]", "_", inst).strip("_") or "instrument"
        if not base[0].isalpha() or base.upper() in _SPSS_RESERVED:
            base = "i_" + base
        base = base[: SPSS_NAME_MAX - len(WEIGHTED_SUFFIX) - 3]
        name, n = base, 1
        while name.lower() in used or (name + WEIGHTED_SUFFIX).lower() in used:
            n += 1
            name = f"{base}_{n}"
        used |= {name.lower(), (name + WEIGHTED_SUFFIX).lower()}
        out.append(InstrumentColumns(inst, name, name + WEIGHTED_SUFFIX if inst in weighted else None))
    return out


def sav_file(tmp: Path, *, data: pd.DataFrame, variables: Sequence[Variable], label: str) -> None:
    import pyreadstat

    pyreadstat.write_sav(  # display formats only: the numbers keep full precision
        data,
        tmp,
        file_label=label,
        column_labels={v.name: v.label for v in variables},
        variable_value_labels={v.name: v.sav_labels() for v in variables if v.sav_labels()},
        variable_measure={v.name: "nominal" if v.type == "string" or v.sav_labels() else "scale" for v in variables},
        variable_format={v.name: sav_format(v) for v in variables if v.type != "string" or v.categories},
        note="Exported by eitest; codebook.md in the same folder describes every variable.",
        compress=True,
    )


def sav_format(v: Variable) -> str:
    if v.categories or v.type == "integer":
        return "F8.0"
    return "F14.8" if v.name == "cost" else "F10.4"  # a call's cost runs to millionths of a dollar


def cut_strings(col: pd.Series) -> tuple[pd.Series, int]:
    """Missing strings as '' and strings cut to SPSS's limit at a character boundary; also the count cut."""
    cut = 0

    def one(s: Any) -> str:
        nonlocal cut
        if pd.isna(s):
            return ""
        raw = str(s).encode("utf-8")
        if len(raw) <= SAV_MAX_STRING_BYTES:
            return str(s)
        cut += 1
        return raw[:SAV_MAX_STRING_BYTES].decode("utf-8", errors="ignore")

    return col.map(one).astype(object), cut
