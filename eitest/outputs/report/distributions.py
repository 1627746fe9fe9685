"""The report's "Answer distributions" section: shown only when a run used the logprobs protocol.

Its context comes from the analysis' distribution tables
(:mod:`eitest.scoring.distributions`); its template is ``distributions.html.j2``,
included by the report page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eitest.administer.letter_probs import MIN_COVERAGE

# The items shown per model x test where the model's profile departs most from the experts'.
MOST_DIVERGENT = 5
REFERENCES = (
    "Lin, J. (1991). Divergence measures based on the Shannon entropy. IEEE Transactions on Information Theory, "
    "37(1), 145-151. https://doi.org/10.1109/18.61115",
)


def requested_alternatives(models: Iterable[str]) -> str:
    """How many alternatives to the first token were asked of each model, in words ("20 for a and b; 5 for c").

    The count is the one the call asks for (:func:`eitest.client.logprobs.top_logprobs_for`, by the model's
    provider), so the sentence says what was requested rather than the most any provider allows.
    """
    from eitest.client.logprobs import top_logprobs_for

    by_count: dict[int, list[str]] = {}
    for model in sorted(set(models)):
        by_count.setdefault(top_logprobs_for(model), []).append(model)
    if len(by_count) == 1:
        return f"{next(iter(by_count))} asked for"
    return "; ".join(f"{n} asked of {', '.join(m)}" for n, m in sorted(by_count.items(), reverse=True))


def methods_text(top_logprobs: str) -> str:
    """The methods sentences of the section; ``top_logprobs`` says how many alternatives were asked for."""
    return (
        "Under the logprobs protocol each trial asked for the letter of one option alone, in one token, and read the "
        f"provider's probabilities of that token's most likely alternatives ({top_logprobs}) over the letters shown; "
        "tokens naming the same letter (B, \u201c B\u201d, b, (B, B.) were summed and the distribution renormalised "
        "over the letters. Coverage is the share of the token's probability that fell on the letters; a trial with "
        f"coverage below {MIN_COVERAGE:.0%} was counted as unparseable. A trial's score is its expected credit (the "
        "sum of probability times credit), its share correct the probability of the keyed (top-weighted) option, and "
        "its chosen option the most probable one. An item's profile is the mean "
        "of its distributions over repetitions; where the options carry expert weights, those weights scaled to sum "
        "1 are the expert profile, and the two are compared by the Jensen-Shannon distance in bits (0: the same "
        "profile, 1: no option in common; Lin, 1991). The interval of the expected score answers the question "
        '"new items like these" (items resampled).'
    )


def expected_pairs(analysis: Any) -> frozenset[tuple[str, str]]:
    """The model x test pairs whose scores are expectations over answer distributions (the logprobs protocol)."""
    summary = getattr(analysis, "distribution_summary", None)
    if summary is None or summary.empty:
        return frozenset()
    return frozenset((str(m), str(i)) for m, i in zip(summary["model"], summary["instrument"], strict=True))


def distribution_context(analysis: Any) -> dict[str, Any] | None:
    """What ``distributions.html.j2`` shows, or None when the analysis holds no answer distributions."""
    summary = getattr(analysis, "distribution_summary", None)
    if summary is None or summary.empty:
        return None
    items = analysis.distributions
    divergent = []
    for (model, inst_id), g in items.dropna(subset=["jsd"]).groupby(["model", "instrument"], sort=True):
        for r in g.sort_values(["jsd", "item_id"], ascending=[False, True]).head(MOST_DIVERGENT).itertuples():
            divergent.append(
                {
                    "model": model,
                    "instrument": inst_id,
                    "item_id": r.item_id,
                    "jsd": r.jsd,
                    "model_top": r.top_option,
                    "expert_top": max(r.expert_profile, key=lambda o: r.expert_profile[o]),
                }
            )
    agreement = analysis.distribution_agreement
    return {
        "methods": methods_text(requested_alternatives(summary["model"])),
        "summary": summary.to_dict("records"),
        "divergent": divergent,
        "agreement": agreement.to_dict("records") if agreement is not None else [],
        "agreement_question": agreement["question"].iloc[0] if agreement is not None and len(agreement) else "",
        "references": list(REFERENCES),
    }
