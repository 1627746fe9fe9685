"""Replications of published studies as shipped study designs (``analysis/*.yaml``).

A design names the tests, the paper's models with today's litellm ids, this
replication's choices (protocol, repetitions, option order, temperature), and the
paper's published aggregates with the place they were read. :func:`replicate`
runs the tests whose items are on this machine, says how to import the others,
analyses, and writes a report with the paper's figures beside this run's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from eitest.errors import EitestError
from eitest.paths import package_analysis_dir
from eitest.reading import read_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DesignTest(_Strict):
    id: str
    paper_name: str


class DesignModel(_Strict):
    paper_name: str
    litellm: str | None
    note: str = ""


class DesignChoices(_Strict):
    protocol: str = "standard"
    reps: int = Field(default=1, ge=1)
    option_order: str = "original"
    temperature: float | None = None
    why: str = ""


class PaperFigure(_Strict):
    value: float
    where: str


class PaperFacts(_Strict):
    llm_mean: PaperFigure | None = None
    human_mean: PaperFigure | None = None
    study2_n: PaperFigure | None = None
    checked: str = ""


class Design(_Strict):
    id: str
    title: str
    citation: str
    tests: tuple[DesignTest, ...]
    models: tuple[DesignModel, ...]
    design: DesignChoices = DesignChoices()
    paper: PaperFacts = PaperFacts()

    @property
    def citation_short(self) -> str:
        return self.citation.split(").")[0] + ")" if ")." in self.citation else self.citation

    @property
    def runnable_models(self) -> list[str]:
        return [m.litellm for m in self.models if m.litellm]


def load_design(name: str) -> Design:
    """A design by id (``schlegel2025``) from the shipped ``analysis/`` folder, or from a YAML path."""
    path = Path(name)
    if not path.exists():
        candidates = sorted(package_analysis_dir().glob("*.yaml")) if package_analysis_dir().is_dir() else []
        found = [p for p in candidates if p.stem == name or p.stem.startswith(name + "_")]
        if not found:
            known = ", ".join(sorted({p.stem.split("_")[0] for p in candidates})) or "none"
            raise EitestError(
                f"no study design {name!r}; shipped designs: {known}; or give a path to a study YAML file"
            )
        path = found[0]
    data = read_yaml(path, "a study design")  # its ReadError is an EitestError, named as such
    try:
        return Design.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise EitestError(f"{path}: {problems}") from None


@dataclass(frozen=True)
class TestStatus:
    id: str
    paper_name: str
    available: bool
    how_to_import: str


def availability(design: Design) -> list[TestStatus]:
    """For each test of the design: are its items on this machine, and if not, how to get them."""
    from eitest.instruments import catalogue

    cat = catalogue()
    out = []
    for t in design.tests:
        inst = cat.get(t.id)
        if inst is None:
            out.append(
                TestStatus(
                    t.id,
                    t.paper_name,
                    False,
                    f"{t.id} is not a known instrument; import it as a file with 'eitest run --instrument PATH'",
                )
            )
            continue
        how = ""
        if inst.is_metadata_only and inst.published is not None:
            how = f"{inst.published.obtain} (items owned by {inst.published.items_owner})"
        out.append(TestStatus(t.id, t.paper_name, not inst.is_metadata_only, how))
    return out


@dataclass
class ReplicationResult:
    db: Path
    html: Path | None
    pdf: Path | None
    ran: list[str]
    missing: list[TestStatus]
    models: list[str]
    plan_lines: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped before its plan was done (e.g. --max-cost)
    notes: list[str] = field(default_factory=list)  # what the analysed run is missing, when it is incomplete


def study_for(design: Design, tests: list[str], models: list[str] | None, reps: int | None, **overrides: Any):
    from eitest.administer.study import Study

    return Study(
        models=models or design.runnable_models,
        instruments=tests,
        reps=reps or design.design.reps,
        protocol=design.design.protocol,
        option_order=design.design.option_order,
        temperature=design.design.temperature,
        **overrides,
    )


def replicate(
    name: str,
    out: str | Path,
    *,
    models: list[str] | None = None,
    reps: int | None = None,
    dry_run: bool = False,
    pdf: bool = True,
    on_plan: Any = None,
    command: str | None = None,
    **study_overrides: Any,
) -> ReplicationResult:
    """Run the available tests of design ``name`` and report them beside the paper's aggregates."""
    from eitest.administer.plan import make_plan
    from eitest.administer.runner import run_study
    from eitest.scoring.selection import AnalysisError

    design = load_design(name)
    status = availability(design)
    ready = [s.id for s in status if s.available]
    missing = [s for s in status if not s.available]
    out = Path(out)
    db = out / "eitest.db"
    result = ReplicationResult(db, None, None, ready, missing, models or design.runnable_models)
    if not ready:
        return result
    study = study_for(design, ready, models, reps, **study_overrides)
    if dry_run:
        plan = make_plan(study, require_keys=False)
        from eitest.client import missing_keys

        result.plan_lines = plan.describe()
        for m in study.models:
            keys = missing_keys(m) if not study.api_base else []
            if keys:
                result.plan_lines.append(f"  {m}: set {' and '.join(keys)} before running")
        return result
    from eitest.outputs.writing import check_output_folder, output_folder

    check_output_folder(out)  # before any call is paid for
    output_folder(out)
    outcome = run_study(study, db, on_plan=on_plan, command=command)
    result.stopped = outcome.stopped
    if outcome.stopped == "not confirmed":
        return result
    try:
        result.html, result.pdf, result.notes = _report(design, db, out, ready, missing, pdf, command, study.reps)
    except AnalysisError as exc:
        if not outcome.stopped:
            raise
        raise AnalysisError(f"the run stopped ({outcome.stopped}) and no report was written: {exc}") from None
    return result


def _report(
    design: Design,
    db: Path,
    out: Path,
    ready: list[str],
    missing: list[TestStatus],
    pdf: bool,
    command: str | None,
    reps: int,
) -> tuple[Path, Path | None, list[str]]:
    from eitest.outputs.report import render_html, write_pdf
    from eitest.outputs.writing import write_text
    from eitest.scoring.analysis import analyze
    from eitest.scoring.completeness import completeness_notes, completeness_sentence

    analysis = analyze(db)
    section = replication_section(
        design, analysis.scores, ready, missing, reps_run=reps, incomplete=completeness_sentence(analysis.completeness)
    )
    html = render_html(db, title=design.title, command=command, extra_sections=[section], analysis=analysis)
    html_path = write_text(out / "report.html", html)
    pdf_path = write_pdf(html, out / "report.pdf") if pdf else None
    return html_path, pdf_path, completeness_notes(analysis.completeness)


@dataclass(frozen=True)
class ReplicatedTest:
    """One test of the design that was run: each model's score on the test's comparison scale, and its norm."""

    id: str
    paper_name: str
    scale: str  # the norm's scale where a norm is on file, else the test's own score's
    values: list[float]  # per model, in the order of the models
    mean: float  # over the models
    human: float  # the norm mean on file, on the same scale; NaN without one


def rows_by_test(design: Design, scores: Any, ready: list[str]) -> list[ReplicatedTest]:
    """The design's tests that were run, in the paper's order, each on its comparison scale.

    The values are those the mean over tests (``Analysis.summary``) averages
    (:func:`eitest.scoring.summary.comparison_values`), all proportions.
    """
    from eitest.scoring.summary import comparison_values

    models = list(dict.fromkeys(scores["model"]))
    compared = comparison_values(scores)
    rows = []
    for t in design.tests:
        sub = compared[compared["instrument"] == t.id].set_index("model")
        if t.id not in ready or sub.empty:
            continue
        scale = str(sub["scale"].iloc[0])
        values = [float(sub.loc[m, "value"]) if m in sub.index else float("nan") for m in models]
        human = sub["human"].dropna()
        present = [v for v in values if v == v]
        rows.append(
            ReplicatedTest(
                t.id,
                t.paper_name,
                scale,
                values,
                sum(present) / len(present) if present else float("nan"),
                float(human.iloc[0]) if len(human) else float("nan"),
            )
        )
    return rows


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def replication_section(
    design: Design,
    scores: Any,
    ready: list[str],
    missing: list[TestStatus],
    *,
    reps_run: int | None = None,
    incomplete: str = "",
) -> str:
    """The comparison with the paper: this run's tests beside the paper's aggregates, over the same tests.

    ``reps_run`` is the repetitions the run planned (default: the most any score has);
    ``incomplete`` the sentence saying what an unfinished run is missing.
    """
    from eitest.outputs.report import formats as fmt
    from eitest.outputs.report import render_section

    models = list(dict.fromkeys(scores["model"]))
    labels = {m.litellm: m.paper_name for m in design.models if m.litellm}
    rows = rows_by_test(design, scores, ready)
    normed = [r for r in rows if r.human == r.human]
    unit = "proportion_correct"  # every value is a proportion (comparison_values)
    # The paper's LLM figure is a share correct: this run's beside it is too, over the tests it ran.
    run_tests = scores[scores["instrument"].isin([r.id for r in rows])]
    share_correct = float(run_tests.groupby("instrument")["accuracy"].mean().mean()) if len(rows) else float("nan")

    def names(subset: list[ReplicatedTest]) -> str:
        return ", ".join(r.paper_name for r in subset)

    return render_section(
        "replication.html.j2",
        design=design,
        reps_run=reps_run or (int(scores["n_reps"].max()) if len(scores) else design.design.reps),
        incomplete=incomplete,
        models=[f"{labels[m]} ({m})" if m in labels else m for m in models],
        rows=[
            {
                "test": f"{r.paper_name} ({r.id})",
                "scale": fmt.scale_words(r.scale),
                "values": [fmt.on_scale(v, r.scale) for v in r.values],
                "mean": fmt.on_scale(r.mean, r.scale),
                "human": fmt.on_scale(r.human, r.scale) if r.human == r.human else "none on file",
            }
            for r in rows
        ],
        n_tests=len(rows),
        n_paper_tests=len(design.tests),
        tests_run=names(rows),
        this_llm_mean=fmt.on_scale(share_correct, unit),
        n_normed=len(normed),
        tests_normed=names(normed),
        this_human_mean=fmt.on_scale(_mean([r.human for r in normed]), unit),
        this_llm_mean_normed=fmt.on_scale(_mean([r.mean for r in normed]), unit),
        missing=[f"{s.paper_name} ({s.id})" for s in missing],
    )
