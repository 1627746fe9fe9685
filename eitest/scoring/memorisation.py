"""The memorisation probe's findings in a store: per model x instrument, its latest probe run.

Read apart from the scores (the probe's trials are no test's answers): each probe run's
replies are compared again with the texts of the instrument and the controls as the run
snapshotted them, so the findings never depend on today's files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eitest.probes.findings import ProbeReply, memorisation_finding
from eitest.scoring.selection import AnalysisError
from eitest.vocabulary import ProtocolName, RunKind


def memorisation_findings(path: str | Path, run: str | None = None) -> list[dict[str, Any]]:
    """One finding per model x instrument probed (:func:`eitest.probes.findings.memorisation_finding`).

    Each model x instrument's latest probe run is read; with ``run``, only that run (none
    when it is not a probe run).
    """
    from eitest.store import Store

    findings: dict[tuple[str, str], dict[str, Any]] = {}
    with Store(path, create=False) as store:
        for record in store.runs():  # oldest first: a later run of a model x instrument replaces an earlier one
            if RunKind.of(record.config) is not RunKind.PROBE or (run is not None and not record.id.startswith(run)):
                continue
            trials = [t for t in store.trial_records(record.id) if t.protocol == ProtocolName.PROBE_MEMORISATION]
            if not trials:
                continue
            instruments = store.run_instruments(record.id)
            for (model, inst_id), replies in _grouped(trials).items():
                controls = store.snapshot(record.config.get("controls", {}).get(inst_id, ""))
                if controls is None or inst_id not in instruments:
                    raise AnalysisError(
                        f"{path}: probe run {record.id} lacks the snapshot of {inst_id} or of its controls; "
                        "the store has been altered: analyse an unaltered copy, or probe again"
                    )
                findings[(model, inst_id)] = memorisation_finding(
                    model, instruments[inst_id], controls, replies, run_id=record.id
                )
    return [findings[k] for k in sorted(findings)]


def _grouped(trials: list[Any]) -> dict[tuple[str, str], list[ProbeReply]]:
    out: dict[tuple[str, str], list[ProbeReply]] = {}
    for t in trials:
        out.setdefault((t.model, t.instrument), []).append(
            ProbeReply(t.item_id, t.parse_rule or "", t.status, t.raw_reply)
        )
    return out
