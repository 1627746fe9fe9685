"""The methods paragraph of the report, written from what was stored and the settings the analysis used."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pandas as pd

from eitest.outputs.report.distributions import expected_pairs
from eitest.scoring.completeness import completeness_sentence
from eitest.stats import apa
from eitest.vocabulary import FINISHED_STATUSES, Correction, Status

ORDER_WORDS = {
    "original": "in their original order",
    "shuffled": "in an order shuffled per trial (seeded)",
    "rotated": "in an order rotated across repetitions, so that each option took each position equally often",
}


def _join(words: list[str]) -> str:
    words = [w for w in words if w]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _tests(analysis: Any, trials: pd.DataFrame) -> list[str]:
    """Each test as the runs used it: name, version, items, scoring and content hash(es)."""
    tests = []
    for inst_id, g in trials.groupby("instrument", sort=True):
        used = {}
        for run_id in g["run_id"].unique():
            inst = analysis.instrument(inst_id, run_id)
            used[inst.content_hash] = inst
        inst = next(iter(used.values()))
        digests = ", ".join(h[:12] for h in used)
        tests.append(
            f"{inst.name} ({inst_id}, version {inst.version}, {inst.n_items} items, {inst.scoring} scoring, "
            f"content hash{'es' if len(used) > 1 else ''} {digests})"
        )
    return tests


def methods_paragraph(analysis: Any, trials: pd.DataFrame, runs: list[Any]) -> str:
    """A methods paragraph generated from what was stored and the settings used, for a psychologist to adapt."""
    configs = [r.config for r in runs]
    text = _administration(analysis, trials, configs) + " " + _coding(trials, analysis.settings) + " "
    text += _scores(analysis.scores, expected_pairs(analysis)) + " " + _intervals(analysis.settings) + " "
    text += _norms(analysis.scores, analysis.settings) + " " + _position_bias(configs)
    missing = completeness_sentence(getattr(analysis, "completeness", pd.DataFrame()))
    text += " " + missing if missing else ""
    started = trials["started_at"].dropna().min()
    finished = trials["finished_at"].dropna().max()
    if isinstance(started, str) and isinstance(finished, str):
        versions = sorted(
            {
                f"eitest {r.eitest_version}" + (f" with litellm {r.litellm_version}" if r.litellm_version else "")
                for r in runs
            }
        )
        text += f" Trials ran between {started[:10]} and {finished[:10]} ({_join(versions)})."
    return text


def _administration(analysis: Any, trials: pd.DataFrame, configs: list[dict[str, Any]]) -> str:
    models = []
    for model, g in trials.groupby("model", sort=True):
        returned = sorted({str(m) for m in g["model_returned"].dropna().unique()} - {model})
        models.append(model + (f" (the provider reported {', '.join(returned)})" if returned else ""))
    protocols = sorted({f"'{c.get('protocol')}' (version {c.get('protocol_version')})" for c in configs})
    orders = sorted({ORDER_WORDS.get(str(c.get("option_order")), str(c.get("option_order"))) for c in configs})
    temps = sorted({str(c.get("temperature")) for c in configs})
    unsent = sorted({m for c in configs for m in (c.get("temperature_not_sent") or {})})
    if unsent:  # models litellm knows to refuse the parameter (o1-style) were called without it
        temps[-1] += f" (not sent to {_join(unsent)}, which take{'s' if len(unsent) == 1 else ''} no temperature)"
    reps = sorted({int(c.get("reps", 1)) for c in configs})
    raised = {m: int(n) for c in configs for m, n in (c.get("max_tokens_raised") or {}).items()}
    room = (
        f" The replies of {_join(sorted(raised))}, {'reasoning models' if len(raised) > 1 else 'a reasoning model'} whose reasoning "
        f"counts against a reply's length, were capped at {_join([f'{n:,}' for n in sorted(set(raised.values()))])} "
        "tokens instead of the protocol's cap."
        if raised
        else ""
    )
    return (
        f"We administered {_join(_tests(analysis, trials))} to {len(models)} language model{'s' if len(models) != 1 else ''}: "
        f"{_join(models)}. Each item was presented in a new conversation with the test's instructions, using the "
        f"{_join(protocols)} prompt protocol of eitest; the answer options were shown {_join(orders)}, and the sampling "
        f"temperature was {_join(temps)}. Each item was given {_join([str(r) for r in reps])} time"
        f"{'s' if reps != [1] else ''} per model ({len(trials)} trials)." + room
    )


def _coding(trials: pd.DataFrame, settings: dict[str, Any]) -> str:
    failed = int((trials["status"] == Status.ERROR).sum())
    unparsed = int(trials["status"].isin([s for s in FINISHED_STATUSES if s != Status.ANSWERED]).sum())
    counted = (
        "these trials were left out of the scores (the analysis was run with --exclude-unanswered), so each score "
        "is over the answered trials only"
        if settings.get("exclude_unanswered")
        else "all scored as incorrect (no credit), as for a person who leaves an item blank"
    )
    return (
        "Replies were coded into option choices by eitest's rule-based parser, which records unreadable replies and "
        f"refusals instead of guessing; {unparsed} repl{'ies were' if unparsed != 1 else 'y was'} not codable and "
        f"{failed} call{'s' if failed != 1 else ''} failed after retries, {counted}."
    )


def _scores(scores: pd.DataFrame, expected: Collection[tuple[str, str]] = ()) -> str:
    text = (
        "Each test has one reported score, the mean over repetitions: for keyed tests the proportion correct (the "
        "share of items answered with the keyed option"
        + (
            "; under the logprobs protocol, where no single answer is drawn, the mean probability the model's answer "
            "distribution gave the keyed option"
            if any((m, i) in expected for m, i in zip(scores["model"], scores["instrument"], strict=True))
            else ""
        )
        + ")"
    )
    weighted = scores.dropna(subset=["max_credit"]).drop_duplicates("instrument")
    if weighted.empty:
        return text + "."
    maxima = _join([f"{apa.proportion(r.max_credit)} on {r.instrument}" for r in weighted.itertuples()])
    return text + (
        "; for expert-weighted tests the mean expert credit of the chosen options, also given as the proportion of "
        "the maximum attainable (the mean credit divided by the mean top credit of the items, "
        f"{maxima}), so that choosing the best option on every item scores 100%."
    )


def _intervals(settings: dict[str, Any]) -> str:
    return (
        "Two 95% intervals are given for each score, each named by the question it answers: for this test (the model's "
        "run-to-run uncertainty on these items), a t interval over the repetitions, cut at 0 and 1; for new items like these, "
        f"{settings.get('n_boot', 2000)} cluster-bootstrap resamples of items, the repetitions of an item kept "
        "together (exact Clopper-Pearson bounds over items when a keyed test scored 0 or 1 on every item). "
        "Repetitions were never counted as independent observations."
    )


def _norms(scores: pd.DataFrame, settings: dict[str, Any]) -> str:
    tested = int(scores["p"].notna().sum())
    if tested == 0:
        return (
            "No human norm with a mean, SD and sample size was on file for these tests, so no single-case "
            "comparison was made."
        )
    text = (
        "A human norm describes single sittings, so each model's first administration (repetition 0), on the norm's "
        "own scale, was compared with the human normative sample as a single case, using the Crawford and Howell (1998) "
        "modified t-test, with the Crawford and Garthwaite (2002) interval for the percentile and the Crawford, "
        "Garthwaite and Porter (2010) interval for the effect size; the mean over repetitions is reported as a "
        "secondary, labelled comparison outside the corrected family."
    )
    if tested > 1:
        label = Correction(settings.get("correction", "holm")).label
        return text + f" p values of the {tested} single-case tests were corrected across tests ({label})."
    return text + " With one single-case test, its p value is uncorrected."


def _position_bias(configs: list[dict[str, Any]]) -> str:
    orders = {str(c.get("option_order")) for c in configs}
    if orders <= {"original"}:
        return (
            "No position-bias check was run: the options kept their original order, so position and content are "
            "confounded."
        )
    return (
        "Position bias was checked with a randomization test whose null hypothesis is that the choice depends on "
        "content, not on position (the option orders re-drawn as the design drew them, the chosen options kept)"
        + ("; runs in the original order were not checked." if "original" in orders else ".")
    )
