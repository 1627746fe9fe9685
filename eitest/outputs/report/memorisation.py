"""The report's section "Memorisation probe": per model x instrument, the items that look memorised, with evidence.

The evidence is model output and item text: it reaches the page through the autoescaping
template (``memorisation.html.j2``), with control characters shown, not obeyed.
"""

from __future__ import annotations

from typing import Any

from eitest.controls import visible_controls
from eitest.probes.findings import MARGIN, METHODS

MAX_TEXT_CHARS = 600  # of a true text or a continuation shown
MAX_ITEMS_SHOWN = 25  # flagged items with their evidence, per model x instrument


def _shown(text: str) -> str:
    cut = text[:MAX_TEXT_CHARS]
    return visible_controls(cut, keep_cr=True) + ("…" if len(text) > MAX_TEXT_CHARS else "")


def _headline(f: dict[str, Any]) -> str:
    if f["baseline_bound"] is None:
        return f"no control text came back, so no item could be compared ({f['n_items']} items probed)"
    return (
        f"{f['n_flagged']} of {f['n_items']} items look memorised: their continuation is closer to the true "
        f"text than the bound {f['baseline_bound']:.2f} (the largest of {f['n_controls']} control similarities, "
        f"{f['control_max']:.2f}, plus {f['margin']:g}, controls from {f.get('controls_from') or 'the run'}); "
        f"if the controls are as predictable as unseen items, an item the model has not seen passes it with a "
        f"chance of at most {f['false_flag_rate_if_exchangeable']:.1%}"
    )


def memorisation_context(findings: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``memorisation.html.j2`` shows of :attr:`eitest.scoring.analysis.Analysis.memorisation`."""
    sections = []
    for f in findings:
        evidence = [
            {
                "item_id": flagged["item_id"],
                "variant": row["variant"],
                "similarity": row["ratio"],
                "token_overlap": row["token_overlap"],
                "lcs_tokens": row["lcs_tokens"],
                "truth": _shown(row["truth"]),
                "continuation": _shown(row["continuation"]),
            }
            for flagged in f["flagged"][:MAX_ITEMS_SHOWN]
            for row in flagged["evidence"]
        ]
        sections.append(
            {
                "model": f["model"],
                "instrument": f["instrument"],
                "run_id": f["run_id"],
                "headline": _headline(f),
                "evidence": evidence,
                "more": max(0, len(f["flagged"]) - MAX_ITEMS_SHOWN),
            }
        )
    sources = sorted({f.get("controls_from") or "the run's control texts" for f in findings})
    return {"sections": sections, "methods": METHODS.format(margin=MARGIN, controls=", ".join(sources) or "none")}
