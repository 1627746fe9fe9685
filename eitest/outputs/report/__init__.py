"""HTML and PDF reports of a store: one self-contained HTML file, and a PDF of the same content.

The HTML carries its CSS and figures inline (SVG as data URIs), so it opens with
no network at all. Every string that came from a model or a file passes through
jinja2's autoescaping: a reply reading ``<script>`` is shown as text.
"""

from __future__ import annotations

import base64
import platform
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup

from eitest.controls import visible_controls
from eitest.errors import EitestError
from eitest.outputs.report import tables
from eitest.outputs.report.distributions import distribution_context, expected_pairs
from eitest.outputs.report.irt_section import irt_context
from eitest.outputs.report.memorisation import memorisation_context
from eitest.outputs.report.methods import methods_paragraph
from eitest.outputs.report.sentences import position_bias_text, sentences
from eitest.outputs.templating import render
from eitest.secrets import redact_urls
from eitest.version import __version__

MAX_REPLY_CHARS = 600
MAX_REPLIES_SHOWN = 40


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    pdf: Path | None


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _replies(trials, db: str | Path, limit: int = MAX_REPLIES_SHOWN) -> list[dict[str, Any]]:
    """Replies worth a reader's eye: those not scored as an answer, then a few that were.

    An analysis of a store reads no reply text (:data:`eitest.scoring.selection.TEXT_COLUMNS`);
    the replies shown are read from the store at ``db`` by trial id.
    """
    bad = trials[trials["status"] != "answered"]
    good = trials[trials["status"] == "answered"].drop_duplicates(["model", "instrument"])
    picked = list(bad.head(limit).itertuples()) + list(good.head(max(0, limit - len(bad))).itertuples())
    texts = _texts_of(picked, db)
    out = []
    for r in picked:
        raw_reply, error = texts.get(r.Index, (getattr(r, "raw_reply", None), getattr(r, "error", None)))
        text = raw_reply if isinstance(raw_reply, str) else ""
        out.append(
            {
                "model": r.model,
                "instrument": r.instrument,
                "item_id": r.item_id,
                "repetition": int(r.repetition),
                "status": r.status,
                "rule": r.parse_rule or "",
                "reply": visible_controls(text[:MAX_REPLY_CHARS], keep_cr=True)
                + ("…" if len(text) > MAX_REPLY_CHARS else ""),
                "error": visible_controls(error if isinstance(error, str) else ""),  # NaN when some failed
            }
        )
    return out


def _texts_of(picked: list[Any], db: str | Path) -> dict[Any, tuple[Any, Any]]:
    """Reply and error of each picked trial (by its row index), read from the store when the frame lacks them."""
    if not picked or all(hasattr(picked[0], c) for c in ("raw_reply", "error")) or not hasattr(picked[0], "id"):
        return {}
    from eitest.store import Store
    from eitest.store.trial_columns import trial_texts

    with Store(db, create=False) as store:
        rows = trial_texts(store.conn, [r.id for r in picked], ["raw_reply", "error"])
    return {r.Index: (rows[r.id]["raw_reply"], rows[r.id]["error"]) for r in picked if r.id in rows}


def _usage(trials) -> list[dict[str, Any]]:
    rows = []
    for model, g in trials.groupby("model", sort=True):
        start = g["started_at"].dropna().min()
        end = g["finished_at"].dropna().max()
        wall = (
            (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
            if isinstance(start, str) and isinstance(end, str)
            else float("nan")
        )
        rows.append(
            {
                "model": model,
                "returned": ", ".join(sorted({str(m) for m in g["model_returned"].dropna().unique()})) or "—",
                "trials": len(g),
                "prompt_tokens": int(g["prompt_tokens"].fillna(0).sum()),
                "completion_tokens": int(g["completion_tokens"].fillna(0).sum()),
                "cost": float(g["cost"].sum()) if g["cost"].notna().all() else float("nan"),
                "latency": float(g["latency_s"].mean()),
                "wall": wall,
            }
        )
    return rows


def render_section(template: str, **context: Any) -> str:
    """Render one of eitest's section templates (autoescaped) for ``extra_sections``."""
    return render(template, **context)


def render_html(
    db: str | Path,
    *,
    norms: list[str | Path] | None = None,
    run: str | None = None,
    title: str | None = None,
    command: str | None = None,
    extra_sections: list[str] | None = None,
    analysis: Any = None,
) -> str:
    """The report of the store at ``db`` as one self-contained HTML string.

    ``analysis`` is :func:`eitest.scoring.analysis.analyze` of the same store and options,
    when the caller has it already. Test names, scoring and the methods paragraph come
    from the instruments the runs used, as the analysis read them from the store.
    """
    from eitest.outputs.report.plots import report_svg, score_plot
    from eitest.scoring.analysis import analyze
    from eitest.store import Store

    if analysis is None:
        analysis = analyze(db, norms=norms, run=run)
    memorisation = getattr(analysis, "memorisation", [])
    if analysis.trials.empty and not memorisation:
        raise EitestError(f"{db}: no run to report ({'; '.join(analysis.notes)}); 'eitest run ...' administers one")
    # The trials and instruments the analysis used: a run it left out is left out here too; and the probe runs shown.
    trials = analysis.trials
    with Store(db, create=False) as store:
        shown = set(trials["run_id"]) if not trials.empty else set()
        runs = [r for r in store.runs() if r.id in shown | {f["run_id"] for f in memorisation}]
    common = {
        "title": title or "eitest report",
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "db": str(db),
        "runs": runs,
        "notes": analysis.notes,
        "manifest": _manifest(command),
        "memorisation": memorisation_context(memorisation),
        # Sections rendered by eitest's own autoescaping templates (see render_section).
        "extra_sections": [Markup(x) for x in extra_sections or []],
    }
    if trials.empty:  # probe runs only (eitest.scoring.analysis): the probe's section, its runs and its methods
        return render("report.html.j2", probe_only=True, **common)
    context = {
        **common,
        "probe_only": False,
        "score_table": tables.score_table(analysis.scores, expected_pairs(analysis)),
        "norm_table": tables.norm_table(analysis.scores, analysis.settings),
        "mean_table": tables.mean_table(analysis.summary, analysis.scores),
        "sentences": sentences(analysis),
        "accuracy_plot": _data_uri(report_svg(score_plot, analysis.scores)),
        "ranking": tables.ranked_table(analysis.scores),
        "figure_caption": figure_caption(analysis.scores),
        "tests": [_test_section(analysis, inst_id) for inst_id in sorted(analysis.scores["instrument"].unique())],
        "usage": _usage(trials),
        "replies": _replies(trials, db),
        "methods": methods_paragraph(analysis, trials, [r for r in runs if r.id in shown]),
        "norms": analysis.norms.to_dict("records"),
        "irt": irt_context(analysis),  # "Ability on the human IRT scale", None without item parameters
        "distributions": distribution_context(analysis),  # None unless a run used the logprobs protocol
    }
    return render("report.html.j2", **context)


def _manifest(command: str | None) -> dict[str, str]:
    return {
        "eitest": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        # A key typed into --api-base must not reach the page: the command's URLs are blanked like the store's.
        "command": redact_urls(command or " ".join(["eitest", *sys.argv[1:]])),
    }


def _test_section(analysis: Any, inst_id: str) -> dict[str, Any]:
    """One test's section: its item figure, the measurement checks per model and its norm comparison."""
    from eitest.outputs.report.plots import item_plot, report_svg

    inst = analysis.instrument(inst_id)
    mine = {
        name: getattr(analysis, name)[getattr(analysis, name)["instrument"] == inst_id]
        for name in ("scores", "agreement", "position_bias", "item_correlation")
    }
    bias = {r["model"]: r for r in mine["position_bias"].to_dict("records")}
    methods = sorted({r["method"] for r in bias.values() if not r.get("reason") and isinstance(r.get("method"), str)})
    return {
        "id": inst_id,
        "name": inst.name,
        "scoring": inst.scoring,
        "item_plot": _data_uri(report_svg(item_plot, analysis.items, inst_id)),
        "scores": mine["scores"].to_dict("records"),
        "agreement": mine["agreement"].to_dict("records"),
        "bias": {model: position_bias_text(r) for model, r in bias.items()},
        "bias_methods": methods,
        "correlation": mine["item_correlation"].to_dict("records"),
        "comparison": tables.comparison_table(analysis.norm_comparison, analysis.scores, inst_id),
    }


def figure_caption(scores: Any) -> str:
    """Figure 1's caption: what is plotted, which interval, and where the norm is (and is not) drawn."""
    from eitest.outputs.report.formats import scale_words
    from eitest.outputs.report.plots import MANY_MODELS, norm_on_score_scale

    if scores["model"].nunique() > MANY_MODELS:
        return (
            "One row per model, ranked by its mean score over tests (best on top); one marker per test: the test's "
            "score, the mean over repetitions (proportion correct for keyed tests, proportion of the maximum "
            "attainable for expert-weighted tests), with the 95% interval for new items like these (items resampled). "
            "The human norms are in the table 'Against the human norms'."
        )
    text = (
        "Each model's score per test, the mean over repetitions: proportion correct for keyed tests, proportion of the "
        "maximum attainable for expert-weighted tests (the oracle reads 100% on both), with the 95% interval for new "
        "items like these (items resampled). Dashed lines: the human mean, with a hatched band of +-1 SD, drawn only "
        "where the norm is on the same scale as the score."
    )
    other = [
        f"{r['instrument']} (norm on the {scale_words(r['norm_scale'])} scale)"
        for r in scores.drop_duplicates("instrument").to_dict("records")
        if r["norm_mean"] == r["norm_mean"] and not norm_on_score_scale(r)
    ]
    if other:
        text += (
            f" Not drawn for {', '.join(other)}: that comparison is in the table 'Against the human norms', on the "
            "norm's scale."
        )
    return text


def write_report(db: str | Path, html: str | Path, pdf: str | Path | None = None, **kwargs: Any) -> ReportFiles:
    """Write the HTML report (and the PDF from the same HTML when ``pdf`` is given).

    Both paths are checked before the report is made; each file is written whole or
    not at all (:mod:`eitest.outputs.writing`), so a bad path or a full disk is an
    :class:`~eitest.outputs.writing.OutputError` and an earlier report stays as it was.
    """
    from eitest.outputs.writing import check_output_file, write_text

    html = check_output_file(html)
    pdf_path = check_output_file(pdf) if pdf is not None else None
    text = render_html(db, **kwargs)
    write_text(html, text)
    if pdf_path is not None:
        write_pdf(text, pdf_path)
    return ReportFiles(html, pdf_path)


def write_pdf(html_text: str, path: str | Path) -> Path:
    """Write the PDF of ``html_text`` to ``path``, whole or not at all; returns the path."""
    import logging

    from eitest.outputs.writing import OutputError, write_binary

    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: WeasyPrint is installed, the Pango libraries it loads are not
        raise OutputError(
            f"cannot write the PDF {path}: WeasyPrint could not load ({(str(exc).splitlines() or [type(exc).__name__])[0][:200]}); it needs "
            "the Pango text libraries: 'apt-get install libpango-1.0-0 libpangoft2-1.0-0' on Debian or Ubuntu, "
            "'brew install pango' on macOS (the HTML report does not need them)"
        ) from None

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    # Only data: URIs are in the page; anything else would be a fetch, and is refused.
    page = HTML(string=html_text, url_fetcher=_data_only_fetcher())
    return write_binary(path, page.write_pdf)


def _data_only_fetcher() -> Any:
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # WeasyPrint before the URLFetcher class: a function fetcher
        from weasyprint import default_url_fetcher

        def fetch(url: str, *args: Any, **kwargs: Any) -> Any:
            if not url.startswith("data:"):
                raise ValueError(f"the report refers to {url}; reports must not fetch anything")
            return default_url_fetcher(url, *args, **kwargs)

        return fetch
    return URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
