"""The summary tables' text: each score on its scale, labelled intervals, bounded percentiles, labelled p values."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from eitest.outputs.report import formats as fmt
from eitest.outputs.report import tables
from eitest.outputs.report.sentences import no_norm_sentence, norm_sentence, score_sentence

NAN = math.nan


def _row(**overrides) -> dict:
    # One Analysis.scores row as the scoring layer writes it (issue 11's columns): a keyed test, no norm.
    row = {
        "model": "m", "instrument": "t", "run_id": "r", "option_order": "shuffled", "scoring": "keyed",
        "score": 0.8, "score_scale": "proportion correct", "accuracy": 0.8, "weighted_score": NAN,
        "max_credit": NAN, "sd_reps": 0.02, "rep_ci_low": 0.75, "rep_ci_high": 0.85, "rep_ci_reason": None,
        "item_ci_low": 0.7, "item_ci_high": 0.9, "item_ci_method": "cluster bootstrap over items",
        "item_ci_reason": None, "wilson_ci_low": 0.68, "wilson_ci_high": 0.88, "n_items": 20, "n_reps": 3,
        "n_trials": 60, "parse_rate": 1.0, "failure_rate": 0.0, "norm_source": None, "norm_scale": None,
        "compared_score": NAN, "compared_basis": None, "single_min": NAN, "single_max": NAN, "norm_mean": NAN,
        "norm_sd": NAN, "norm_n": NAN, "percentile": NAN, "percentile_ci_low": NAN, "percentile_ci_high": NAN,
        "z": NAN, "t": NAN, "df": NAN, "p": NAN, "p_adj": NAN, "d": NAN, "d_ci_low": NAN, "d_ci_high": NAN,
    }  # fmt: skip
    return row | overrides


def _normed(**overrides) -> dict:
    return _row(
        norm_source="src", norm_scale="proportion_correct", compared_score=0.9,
        compared_basis="first administration (the first of 3 repetitions)", single_min=0.7, single_max=0.9,
        norm_mean=0.6, norm_sd=0.1, norm_n=50, percentile=99.97, percentile_ci_low=99.2, percentile_ci_high=99.9995,
        z=3.0, t=2.97, df=49, p=0.0046, p_adj=0.0092, d=3.0, d_ci_low=2.3, d_ci_high=3.6,
    ) | overrides  # fmt: skip


def _weighted(**overrides) -> dict:
    return _row(
        instrument="w", scoring="weighted", score=1.0, score_scale="proportion of maximum", accuracy=1.0,
        weighted_score=0.61, max_credit=0.61, sd_reps=0.0, rep_ci_low=NAN, rep_ci_high=NAN,
        rep_ci_reason="all 3 repetitions scored 1: no run-to-run variation was seen",
        item_ci_low=NAN, item_ci_high=NAN, item_ci_method=None, item_ci_reason="every item scored 1",
    ) | overrides  # fmt: skip


def _cells(table: tables.Table, column: str) -> list[str]:
    return [r[column] for r in table.records()]


@pytest.mark.parametrize(
    ("value", "text"),
    [(99.97, "> 99.9"), (99.9, "99.9"), (99.94, "> 99.9"), (50.04, "50.0"), (0.1, "0.1"), (0.04, "< 0.1"),
     (NAN, "—")],
)  # fmt: skip
def test_percentiles_past_the_bounds_are_printed_as_bounds(value: float, text: str):
    assert fmt.percentile(value) == text


def test_scores_print_in_their_scale_unit():
    assert fmt.on_scale(0.61, "mean_credit") == ".61"
    assert fmt.on_scale(0.61, "proportion_of_max") == "61.0%"
    assert fmt.on_scale(0.61, "proportion correct") == "61.0%"
    assert fmt.interval(0.5, NAN, "proportion correct") is None
    assert fmt.same_scale("proportion_of_max", "proportion of maximum")
    assert not fmt.same_scale("mean_credit", "proportion of maximum")
    assert fmt.credit_companion(0.61, "mean_credit", 0.61) == "100.0% of maximum"
    assert fmt.credit_companion(0.5, "proportion_of_max", 0.8) == "mean credit .40 of a maximum .80"
    assert fmt.credit_companion(0.5, "proportion_correct", NAN) == ""


def test_score_table_shows_both_intervals_and_gives_a_reason_for_a_missing_one():
    table = tables.score_table(pd.DataFrame([_row(), _weighted()]))
    keyed, weighted = table.records()
    assert keyed["Score"] == "80.0%" and keyed["Scale"] == "proportion correct" and keyed["Mean credit"] == "—"
    assert keyed["This test: 95% CI (run-to-run)"] == "[75.0%, 85.0%]"
    assert keyed["New items like these: 95% CI"] == "[70.0%, 90.0%] (a)"
    assert keyed["SD over repetitions"] == "2.0%"
    assert weighted["Score"] == "100.0%" and weighted["Scale"] == "proportion of maximum"
    assert weighted["Mean credit"] == ".61 of max .61"
    assert weighted["This test: 95% CI (run-to-run)"] == "none (b)"
    assert weighted["New items like these: 95% CI"] == "none (c)"
    assert "(a) cluster bootstrap over items" in table.footnotes
    assert "(b) all 3 repetitions scored 1: no run-to-run variation was seen" in table.footnotes
    assert "(c) every item scored 1" in table.footnotes
    assert any("the maximum mean credit is .61 on w" in line for line in table.footnotes)
    assert "[100.0%, 100.0%]" not in str(table.rows)


def test_norm_table_labels_the_basis_the_scale_and_the_corrected_p():
    scores = pd.DataFrame([_normed(), _normed(model="m2", p=0.02, p_adj=0.02), _row(instrument="none")])
    table = tables.norm_table(scores, {"correction": "holm"})
    assert table is not None and len(table.rows) == 2  # the test without a norm has no row
    first = table.records()[0]
    assert "p_adj (Holm, 2 tests)" in table.columns
    assert first["p_adj (Holm, 2 tests)"] == "= .009"
    assert first["Crawford-Howell (uncorrected p)"] == "t(49) = 2.97, p = .005"
    assert first["Score compared"] == "90.0% (a)"
    assert table.footnotes == ["(a) first administration (the first of 3 repetitions)"]
    assert first["Percentile [95% CI]"] == "> 99.9 [99.2, > 99.9]"
    assert first["Human M (SD), n"] == "60.0% (10.0%), n = 50"
    assert first["Single administrations"] == "70.0% to 90.0%"
    bh = tables.norm_table(scores, {"correction": "fdr_bh"})
    assert "p_adj (Benjamini-Hochberg, 2 tests)" in bh.columns
    one = tables.norm_table(pd.DataFrame([_normed()]), {"correction": "holm"})
    assert "p_adj (one test: not corrected)" in one.columns
    assert tables.norm_table(pd.DataFrame([_row()]), {"correction": "holm"}) is None


def test_a_weighted_norm_is_compared_on_its_scale_with_the_other_weighted_score_beside_it():
    credit = _weighted(norm_source="src", norm_scale="mean_credit", compared_score=0.61, norm_mean=0.4,
                       norm_sd=0.1, norm_n=80, t=2.1, df=79, p=0.04, p_adj=0.04)  # fmt: skip
    of_max = credit | {"norm_scale": "proportion_of_max", "compared_score": 1.0, "norm_mean": 0.65}
    table = tables.norm_table(pd.DataFrame([credit, of_max]), {"correction": "holm"})
    by_mean, by_max = table.records()
    assert by_mean["Score compared"].startswith(".61 (100.0% of maximum)")
    assert by_mean["Norm's scale"] == "mean credit" and by_mean["Human M (SD), n"] == ".40 (.10), n = 80"
    assert by_max["Score compared"].startswith("100.0% (mean credit .61 of a maximum .61)")
    assert by_max["Norm's scale"] == "proportion of maximum"
    sentence = norm_sentence(pd.DataFrame([credit]).iloc[0], pd.DataFrame([credit, of_max]), {"correction": "holm"})
    assert "mean credit scale: M = .40, SD = .10, n = 80" in sentence
    assert "scored .61 (100.0% of maximum)" in sentence


def test_the_score_sentence_names_its_score_and_both_intervals():
    keyed = score_sentence(pd.DataFrame([_row()]).iloc[0])
    assert keyed.startswith("m scored 80.0% correct on t (proportion correct, mean over 3 repetitions).")
    assert "95% CI for this test (run-to-run): [75.0%, 85.0%]; SD over repetitions 2.0%" in keyed
    assert "95% CI for new items like these: [70.0%, 90.0%] (cluster bootstrap over items)" in keyed
    weighted = score_sentence(pd.DataFrame([_weighted()]).iloc[0])
    assert "scored 100.0% of the maximum attainable on w (proportion of maximum" in weighted
    assert "mean expert credit of .61, where the best option on every item gives .61" in weighted
    assert "No interval for this test: all 3 repetitions scored 1" in weighted
    assert "No interval for new items like these: every item scored 1" in weighted
    assert "keyed option on" not in weighted


def test_the_norm_sentence_says_the_basis_and_whether_p_was_corrected():
    rows = pd.DataFrame([_normed(), _normed(model="m2")])
    text = norm_sentence(rows.iloc[0], rows, {"correction": "holm"})
    assert "its first administration (the first of 3 repetitions) scored 90.0%" in text
    assert "the mean over 3 repetitions is compared in the table below, labelled" in text
    assert "p = .005 (uncorrected; Holm-corrected across the tests, p = .009)" in text
    assert "an estimated > 99.9% of the population would score lower (95% CI [99.2, > 99.9])" in text
    alone = norm_sentence(rows.iloc[0], rows.iloc[:1], {"correction": "holm"})
    assert "(uncorrected)" in alone and "corrected across" not in alone


def test_the_no_norm_sentence_says_what_is_on_file_and_how_to_supply_a_mean():
    norms = pd.DataFrame(
        [{"instrument": "t", "source": "lab2026", "n": 207.0, "mean": None, "sd": None, "alpha": 0.71}]
    )
    text = no_norm_sentence("t", norms)
    assert "the norm source lab2026 gives N = 207 and alpha = .71 but no mean or SD" in text
    assert "--norms FILE (format: docs/norm-format.md)" in text and "'eitest norms build'" in text
    bare = no_norm_sentence("t", pd.DataFrame())
    assert bare.startswith("No human norm is on file for t") and "--norms FILE" in bare


def test_mean_over_tests_names_the_scale_each_test_contributes():
    scores = pd.DataFrame(
        [
            _row(instrument="a"),
            _weighted(instrument="b", norm_source="s", norm_scale="mean_credit", compared_mean=0.61, norm_mean=0.5),
        ]
    )
    summary = pd.DataFrame(
        [{"row": "model", "name": "m", "n_tests": 2, "mean": 0.7, "sd": 0.13, "ci_low": NAN, "ci_high": NAN,
          "instruments": "a,b"}]
    )  # fmt: skip
    (row,) = tables.mean_table(summary, scores).records()
    assert row["Tests averaged (the scale each contributes)"] == (
        "a (proportion correct), b (proportion of maximum (norm on mean credit, divided by the maximum))"
    )
    assert row["Mean"] == "70.0%"  # every test contributes a proportion, so the mean is one
    assert row["95% CI"] == "— (needs 3+ tests)"
