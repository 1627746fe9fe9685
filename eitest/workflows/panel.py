"""``eitest panel``: a panel of models takes new items, and its answers estimate each item's human difficulty.

The panel is an ordinary study (:func:`eitest.administer.runner.run_study`, the path
``eitest run`` takes), so its trials are stored, and running it again resumes it. The
estimate and its check are :mod:`eitest.scoring.panel`'s, over the run's own
instruments as stored with it. Before any model is called, the items of known
``human_p`` are counted: a panel that cannot be calibrated is refused (every call of
it would be paid for nothing) unless ``uncalibrated`` asks to store its answers anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eitest.errors import EitestError

if TYPE_CHECKING:
    from eitest.administer.plan import Plan
    from eitest.administer.study import Study
    from eitest.scoring.panel import PanelResult


class PanelError(EitestError):
    pass


def run_panel(
    study: Study,
    db: str | Path,
    *,
    calibration: Sequence[str] = (),
    command: str | None = None,
    on_plan: Callable[[Plan], bool] | None = None,
    on_note: Callable[[str], None] | None = None,
    uncalibrated: bool = False,
) -> PanelResult:
    """Run ``study`` (its first instrument the new items; ``calibration`` ids or files among the rest) and estimate.

    ``calibration`` instruments are added to the study when it lacks them; their
    items (and those of the first instrument that carry ``human_p``) calibrate the panel.
    Raises :class:`PanelError` before any call when too few of those items carry
    ``human_p`` to calibrate on, unless ``uncalibrated``.
    """
    from eitest.administer.runner import run_study
    from eitest.instruments import get
    from eitest.scoring.panel import calibrate_panel, cannot_calibrate, count_known, panel_items
    from eitest.store import Store

    if len(study.models) < 2:
        raise PanelError(f"a panel needs at least two models; give more with --models (got {', '.join(study.models)})")
    pool = [get(study.instruments[0]), *(get(c) for c in calibration)]
    target, calibration_ids = pool[0].id, [inst.id for inst in pool[1:]]
    if target in calibration_ids:
        raise PanelError(f"{target} is both the new items and a --calibration instrument; give it once")
    why = cannot_calibrate(count_known(pool), [inst.id for inst in pool])
    if why is not None and not uncalibrated:
        raise PanelError(
            f"{why}. No model was called; add --uncalibrated to run the panel anyway and store its answers for a "
            "later calibration"
        )
    wanted = list(dict.fromkeys([*study.instruments, *calibration]))
    study = study.model_copy(update={"instruments": wanted})
    outcome = run_study(study, db, command=command, on_plan=on_plan, on_note=on_note)
    if outcome.stopped:
        raise PanelError(f"the panel's run {outcome.run_id} stopped ({outcome.stopped}); re-run to finish it")
    with Store(db, create=False) as store:
        trials = store.trials(outcome.run_id)
        instruments = store.run_instruments(outcome.run_id)
    result = calibrate_panel(panel_items(trials, instruments), target, study.models, calibration_ids)
    result.run_id = outcome.run_id
    result.notes = [*outcome.notes, *_failed_note(outcome)]
    return result


def _failed_note(outcome: Any) -> list[str]:
    if not outcome.failed:
        return []
    return [f"{outcome.failed} call(s) failed and count as wrong answers; re-run the same command to retry them"]
