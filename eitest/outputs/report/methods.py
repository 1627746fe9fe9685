"""Prose for the report: the methods paragraph and the results sentences, in APA style."""

from __future__ import annotations

from typing import Any

import pandas as pd

from eitest.stats import apa
from eitest.vocabulary import Correction

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


def sentences(analysis: Any) -> list[str]:
    """One results sentence per model x test, with the single-case test when a norm allows it."""
    out = []
    for r in analysis.scores.itertuples():
        s = f"{r.model} chose the keyed option on {apa.percent(r.accuracy)} of {r.instrument} trials (95% CI [{apa.percent(r.ci_low)}, {apa.percent(r.ci_high)}])"
        if r.weighted_score == r.weighted_score:
            s += f"; its expert-weighted score was {apa.proportion(r.weighted_score)}"
        if r.t == r.t:
            s += (
                f". Against the human norm (M = {apa.proportion(r.norm_mean)}, SD = {apa.proportion(r.norm_sd)}, n = {int(r.norm_n)}; {r.norm_source}), "
                f"the Crawford-Howell test gave {apa.t_test(r.t, r.df, r.p)} (corrected {apa.p_value(r.p_adj)}), "
                f"{apa.effect(r.d, r.d_ci_low, r.d_ci_high, name='d')}; an estimated {r.percentile:.1f}% of the population "
                f"would score lower (95% CI [{r.percentile_ci_low:.1f}, {r.percentile_ci_high:.1f}])"
            )
        elif r.norm_mean == r.norm_mean:
            s += f". The human norm mean on file is {apa.proportion(r.norm_mean)} ({r.norm_source}); with no SD or n on file, no single-case test was run"
        else:
            s += ". No published human norm is on file for this test, so the model could not be placed on the human scale"
        out.append(s + ".")
    return out


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
    """A methods paragraph generated from what was stored, for a psychologist to adapt."""
    tests = _tests(analysis, trials)
    models = []
    for model, g in trials.groupby("model", sort=True):
        returned = sorted({str(m) for m in g["model_returned"].dropna().unique()} - {model})
        models.append(model + (f" (the provider reported {', '.join(returned)})" if returned else ""))
    configs = [r.config for r in runs]
    protocols = sorted({f"'{c.get('protocol')}' (version {c.get('protocol_version')})" for c in configs})
    orders = sorted({ORDER_WORDS.get(c.get("option_order"), str(c.get("option_order"))) for c in configs})
    temps = sorted({str(c.get("temperature")) for c in configs})
    reps = sorted({int(c.get("reps", 1)) for c in configs})
    started = trials["started_at"].dropna().min()
    finished = trials["finished_at"].dropna().max()
    n = len(trials)
    failed = int((trials["status"] == "error").sum())
    unparsed = int(trials["status"].isin(["unparseable", "refused", "empty"]).sum())
    versions = sorted(
        {
            f"eitest {r.eitest_version}" + (f" with litellm {r.litellm_version}" if r.litellm_version else "")
            for r in runs
        }
    )
    text = (
        f"We administered {_join(tests)} to {len(models)} language model{'s' if len(models) != 1 else ''}: {_join(models)}. "
        f"Each item was presented in a new conversation with the test's instructions, using the {_join(protocols)} prompt "
        f"protocol of eitest; the answer options were shown {_join(orders)}, and the sampling temperature was {_join(temps)}. "
        f"Each item was given {_join([str(r) for r in reps])} time{'s' if reps != [1] else ''} per model ({n} trials). "
        f"Replies were coded into option choices by eitest's rule-based parser, which records unreadable replies and "
        f"refusals instead of guessing; {unparsed} repl{'ies were' if unparsed != 1 else 'y was'} not codable and {failed} "
        f"call{'s' if failed != 1 else ''} failed after retries, all scored as incorrect. Accuracy is the share of trials in "
        f"which the keyed option (for expert-weighted tests, the top-weighted option) was chosen; its 95% confidence interval "
        f"comes from {analysis.settings.get('n_boot', 2000)} bootstrap resamples of items and repetitions. "
    )
    if analysis.scores["t"].notna().any():
        text += (
            "Each model was compared with the human normative sample as a single case, using the Crawford and Howell (1998) "
            "modified t-test, with the Crawford and Garthwaite (2002) interval for the percentile and the Crawford, Garthwaite "
            f"and Porter (2010) interval for the effect size; p values were corrected across tests ({Correction(analysis.settings.get('correction', 'holm')).label}). "
        )
    else:
        text += "No human norm with a mean, SD and sample size was on file for these tests, so no single-case comparison was made. "
    if isinstance(started, str) and isinstance(finished, str):
        text += f"Trials ran between {started[:10]} and {finished[:10]} ({_join(versions)})."
    return text
