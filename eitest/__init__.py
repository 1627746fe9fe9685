"""eitest: ability emotional-intelligence tests for language models, compared with human norms.

The names below are the Python API: what the command line calls, and all a notebook
needs after ``import eitest``::

    import eitest
    eitest.run_study(eitest.Study(models=["eitest/oracle"], instruments=["open-steu"]), "eitest.db")
    trials = eitest.open_results("eitest.db").trials   # one row per trial, a DataFrame
    analysis = eitest.analyze("eitest.db")              # analysis.scores, .summary, .items, ...
    eitest.accuracy_plot(analysis.scores)               # a matplotlib Axes

Giving a test to models
    ``Study``: which models, tests, repetitions, option order and prompt protocol.
    ``load_study(path)``: a Study from a YAML file. ``run_study(study, db)``: administer
    it into the SQLite store ``db``; running it again resumes where it stopped.
    ``run_probe(study, db)``: the memorisation probe of the study's models on its tests
    (a run of kind probe, never scored); ``analyze(db).memorisation`` holds its findings.
Reading what was stored
    ``open_results(db)``: a ``Results`` with ``.trials`` and ``.runs`` as DataFrames.
Analysing
    ``analyze(db, norms=...)``: an ``Analysis`` (scores with CIs and the single-case
    comparison with the human norm, agreement, position bias, item tables, notes).
    ``single_case(score, mean, sd, n)``: one score against a normative sample
    (Crawford-Howell t, Crawford-Garthwaite percentile interval, effect sizes).
    ``stats``: all the pure statistics (:mod:`eitest.stats`). ``apa``: numbers printed
    the APA way, e.g. ``eitest.apa.t_test(t, df, p)`` (:mod:`eitest.stats.apa`).
Tests and items
    ``catalogue()``: every instrument on file, by id. ``get_instrument(id_or_path)``: one
    of them, or one loaded from a file. ``load_instrument(path)``: an instrument file
    (YAML, JSON, CSV) checked and loaded. ``Instrument``, ``Item``: their types.
Figures, reports and data files
    ``accuracy_plot(analysis.scores, ax=None)`` and ``item_plot(analysis.items, test, ax=None)``
    draw on a matplotlib ``Axes`` (a new figure without ``ax``) and return it.
    ``figure_svg(fig)``: a figure as the deterministic SVG the report embeds.
    ``write_report(db, html, pdf=None)``: the HTML (and PDF) report.
    ``export(db, out, fmt)``: trials and scores for R, SPSS or pandas, with a codebook.
Ready-made workflows
    ``run_demo(out)``: the open tests on the offline responders, analysed and reported.
    ``replicate(name, out)``: a published study's design, e.g. ``"schlegel2025_study1"``.
Comparing runs, and a panel of models
    ``compare_runs(db, runs=[...])``: runs of one design (a model before and after an
    update, or two models) item by item, a ``Comparison`` of paired differences with
    intervals, flipped items and the checks. ``run_panel(study, db, calibration=[...])``:
    a panel of models on new items, its estimate of their human difficulty and its check.
Errors
    ``EitestError``: every mistake a user can fix is one; its message says how.

Names are imported on first use, so ``import eitest`` stays cheap (no pandas, numpy,
litellm or matplotlib until a name needs them); type checkers and IDEs read the
imports under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from eitest.version import __version__

if TYPE_CHECKING:
    from eitest import stats as stats
    from eitest.administer.runner import run_study as run_study
    from eitest.administer.study import Study as Study
    from eitest.administer.study import load_study as load_study
    from eitest.errors import EitestError as EitestError
    from eitest.instruments import Instrument as Instrument
    from eitest.instruments import Item as Item
    from eitest.instruments import catalogue as catalogue
    from eitest.instruments import get as get_instrument
    from eitest.instruments import load as load_instrument
    from eitest.outputs.export import export as export
    from eitest.outputs.report import write_report as write_report
    from eitest.outputs.report.plots import accuracy_plot as accuracy_plot
    from eitest.outputs.report.plots import figure_svg as figure_svg
    from eitest.outputs.report.plots import item_plot as item_plot
    from eitest.probes.running import run_probe as run_probe
    from eitest.scoring.analysis import Analysis as Analysis
    from eitest.scoring.analysis import analyze as analyze
    from eitest.scoring.comparison import Comparison as Comparison
    from eitest.scoring.comparison import compare_runs as compare_runs
    from eitest.stats import apa as apa
    from eitest.stats import single_case as single_case
    from eitest.store import Results as Results
    from eitest.store import open_results as open_results
    from eitest.workflows.demo import run_demo as run_demo
    from eitest.workflows.panel import run_panel as run_panel
    from eitest.workflows.replicate import replicate as replicate

# A public name -> (module, attribute in it); no attribute: the module itself.
_LAZY: dict[str, tuple[str, str | None]] = {
    "Study": ("eitest.administer.study", "Study"),
    "load_study": ("eitest.administer.study", "load_study"),
    "run_study": ("eitest.administer.runner", "run_study"),
    "run_probe": ("eitest.probes.running", "run_probe"),
    "open_results": ("eitest.store", "open_results"),
    "Results": ("eitest.store", "Results"),
    "analyze": ("eitest.scoring.analysis", "analyze"),
    "Analysis": ("eitest.scoring.analysis", "Analysis"),
    "single_case": ("eitest.stats", "single_case"),
    "stats": ("eitest.stats", None),
    "apa": ("eitest.stats.apa", None),
    "catalogue": ("eitest.instruments", "catalogue"),
    "get_instrument": ("eitest.instruments", "get"),
    "load_instrument": ("eitest.instruments", "load"),
    "Instrument": ("eitest.instruments", "Instrument"),
    "Item": ("eitest.instruments", "Item"),
    "accuracy_plot": ("eitest.outputs.report.plots", "accuracy_plot"),
    "item_plot": ("eitest.outputs.report.plots", "item_plot"),
    "figure_svg": ("eitest.outputs.report.plots", "figure_svg"),
    "write_report": ("eitest.outputs.report", "write_report"),
    "export": ("eitest.outputs.export", "export"),
    "run_demo": ("eitest.workflows.demo", "run_demo"),
    "replicate": ("eitest.workflows.replicate", "replicate"),
    "EitestError": ("eitest.errors", "EitestError"),
    "compare_runs": ("eitest.scoring.comparison", "compare_runs"),
    "Comparison": ("eitest.scoring.comparison", "Comparison"),
    "run_panel": ("eitest.workflows.panel", "run_panel"),
}

# Written out, not derived from _LAZY: IDEs and type checkers read __all__ without running it.
__all__ = [
    "Analysis",
    "EitestError",
    "Instrument",
    "Item",
    "Results",
    "Study",
    "__version__",
    "accuracy_plot",
    "analyze",
    "apa",
    "catalogue",
    "export",
    "figure_svg",
    "get_instrument",
    "item_plot",
    "load_instrument",
    "load_study",
    "open_results",
    "replicate",
    "run_demo",
    "run_probe",
    "run_study",
    "single_case",
    "stats",
    "write_report",
    "compare_runs",
    "Comparison",
    "run_panel",
]


# Hidden from type checkers, which otherwise take every attribute of a module with a
# __getattr__ to exist, and so would not flag a misspelt eitest.<name>.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        try:
            module, attribute = _LAZY[name]
        except KeyError:
            raise AttributeError(f"module 'eitest' has no attribute {name!r}") from None
        value: Any = importlib.import_module(module)
        if attribute is not None:
            value = getattr(value, attribute)
        globals()[name] = value  # later look-ups find it without coming back here
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
