"""What a comparison of runs may compare: runs of one design, and the respondents in them.

Two runs are of one design when they gave the same items (the same instrument
content hashes, as stored with each run), with the same prompt protocol (name and
wording version), the same option order and the same sampling temperature. Anything
else is not a difference of the model but of the measurement, so it is refused, naming
the runs and what differs: a model at temperature 0 against itself at 1 mixes a change
of the model with sampling noise. Repetitions, seed and token caps may differ; the
comparison says so.
The same study run again later is a new run when it is given a ``label`` (``eitest run
--label 2027-01``): that is how one model string is compared with itself over time.

A *respondent* of a comparison is one model in one run (``run_id``, ``model``): the
same model in two runs (a model before and after an update), or two models in one run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eitest.errors import EitestError

if TYPE_CHECKING:
    import pandas as pd

    from eitest.store import RunRecord

# Fields of a run's study that must agree for its scores to be compared item by item.
SAME_DESIGN = ("protocol", "protocol_version", "option_order", "temperature")
# Why a difference in a field of SAME_DESIGN is refused, where the general reason says too little.
WHY_REFUSED = {
    "temperature": "a difference at another temperature mixes a change of the model with sampling noise",
}
# Fields that may differ; the comparison notes it when they do.
NOTED = ("reps", "seed", "max_tokens")


class ComparisonError(EitestError):
    pass


@dataclass(frozen=True)
class Respondent:
    """One model in one run: what a comparison sets side by side."""

    run_id: str
    model: str
    created_at: str
    model_returned: tuple[str, ...]  # the names the provider reported for its trials
    run_label: str | None = None  # the run's --label (a date, a version), when it has one

    @property
    def label(self) -> str:
        named = f" [{self.run_label}]" if self.run_label else ""
        return f"{self.model}{named} (run {self.run_id[:8]})"


def _value(record: RunRecord, name: str) -> Any:
    value = record.config.get(name)
    if name == "temperature" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)  # 0 and 0.0 are one temperature, whichever way a config wrote it
    return value


def check_design(records: Sequence[RunRecord]) -> tuple[list[str], list[str]]:
    """The instruments every run gave with the same items, and notes; refuses runs of different designs.

    Raises :class:`ComparisonError` when runs differ in protocol, option order or temperature, when an
    instrument id was given with different content (different item sets), or when the
    runs have no instrument in common.
    """
    notes: list[str] = []
    for name in SAME_DESIGN:
        values = {r.id: _value(r, name) for r in records}
        if len(set(map(repr, values.values()))) > 1:
            listed = ", ".join(f"run {rid}: {v}" for rid, v in values.items())
            why = WHY_REFUSED.get(name, "their scores measure different things")
            raise ComparisonError(
                f"the runs differ in {name} ({listed}): {why}, so they are not compared; pick runs of one "
                "design with --run"
            )
    hashes: dict[str, dict[str, str]] = {}
    for r in records:
        for inst_id, digest in r.instrument_hashes.items():
            hashes.setdefault(inst_id, {})[r.id] = digest
    for inst_id, by_run in sorted(hashes.items()):
        if len(set(by_run.values())) > 1:
            listed = ", ".join(f"run {rid}: content hash {h[:12]}" for rid, h in by_run.items())
            raise ComparisonError(
                f"{inst_id}: the runs gave different item sets ({listed}); a comparison needs the same items in "
                "every run. Compare runs made from the same instrument file, or pick them with --run"
            )
    common = sorted(i for i, by_run in hashes.items() if len(by_run) == len(records))
    if not common:
        listed = "; ".join(f"run {r.id}: {', '.join(sorted(r.instrument_hashes))}" for r in records)
        raise ComparisonError(f"the runs have no instrument in common ({listed}); nothing to compare")
    for inst_id in sorted(set(hashes) - set(common)):
        notes.append(f"{inst_id} left out: not given in every run compared (runs {', '.join(hashes[inst_id])})")
    for name in NOTED:
        values = {r.id: _value(r, name) for r in records}
        if len(set(map(repr, values.values()))) > 1:
            listed = ", ".join(f"run {rid}: {v}" for rid, v in values.items())
            notes.append(f"the runs differ in {name} ({listed}); the items are still paired, one by one")
    return common, notes


def pick_respondents(
    trials: pd.DataFrame, records: Mapping[str, RunRecord], models: Sequence[str] = ()
) -> list[Respondent]:
    """Every model x run in ``trials`` (only ``models`` when given), earliest run first; at least two."""
    found = trials[["run_id", "model"]].drop_duplicates()
    if models:
        unknown = sorted(set(models) - set(found["model"]))
        if unknown:
            raise ComparisonError(
                f"no trials of {', '.join(unknown)} in the runs compared; the models there are "
                f"{', '.join(sorted(set(found['model'])))}"
            )
        found = found[found["model"].isin(list(models))]
    out = []
    for r in found.itertuples():
        names = trials.loc[(trials["run_id"] == r.run_id) & (trials["model"] == r.model), "model_returned"]
        returned = tuple(sorted({str(n) for n in names.dropna()}))
        record = records[str(r.run_id)]
        label = record.config.get("label")
        out.append(Respondent(str(r.run_id), str(r.model), record.created_at, returned, label))

    def order(x: Respondent) -> tuple[str, str, int]:
        listed = list(models) or list(records[x.run_id].config.get("models") or [])
        return (x.created_at, x.run_id, listed.index(x.model) if x.model in listed else len(listed))

    out.sort(key=order)
    if len(out) < 2:
        said = ", ".join(x.label for x in out) or "none"
        raise ComparisonError(
            f"a comparison needs two respondents (two runs, or two models in one run); found {said}. "
            "Give two --run ids, or a run with two models"
        )
    return out


def version_notes(respondents: Sequence[Respondent]) -> list[str]:
    """Whether the provider reported a different model behind the same model string, run to run."""
    notes = []
    by_model: dict[str, list[Respondent]] = {}
    for r in respondents:
        by_model.setdefault(r.model, []).append(r)
    for model, group in by_model.items():
        if len(group) < 2:
            continue
        reported = {r.run_id: ", ".join(r.model_returned) or "(not reported)" for r in group}
        listed = "; ".join(f"run {rid}: {names}" for rid, names in reported.items())
        if len(set(reported.values())) > 1:
            notes.append(f"{model}: the provider reported a different model in different runs ({listed})")
        else:
            notes.append(
                f"{model}: the provider reported the same model name in every run ({listed}); a difference is not "
                "shown to be a new version (a provider may change a model without renaming it)"
            )
    return notes
