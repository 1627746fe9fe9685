"""Tests for eitest.stats.apa: full-precision numbers in, hand-written APA strings out."""

from __future__ import annotations

import math

import pytest

from eitest.stats import apa


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.0021, "p = .002"),
        (0.05, "p = .050"),
        (0.0496, "p = .050"),
        (0.001, "p = .001"),
        (0.00099, "p < .001"),
        (0.0, "p < .001"),
        (1e-12, "p < .001"),
        (0.5, "p = .500"),
        (0.9984, "p = .998"),
        (0.999, "p > .999"),
        (1.0, "p > .999"),
        (0.0149, "p = .015"),
    ],
)
def test_p_value(p, text):
    assert apa.p_value(p) == text


@pytest.mark.parametrize("bad", [-0.01, 1.2])
def test_p_value_rejects_impossible(bad):
    with pytest.raises(ValueError, match="p value"):
        apa.p_value(bad)


def test_t_test():
    assert apa.t_test(3.1234, 206, 0.0021) == "t(206) = 3.12, p = .002"
    assert apa.t_test(12.3149, 206.0, 1e-20) == "t(206) = 12.31, p < .001"
    assert apa.t_test(-2.0, 41.37, 0.052) == "t(41.4) = -2.00, p = .052"
    assert apa.t_test(-0.001, 10, 0.999) == "t(10) = 0.00, p > .999"


def test_effect():
    assert apa.effect(1.8601, 1.5249, 2.1957) == "d = 1.86, 95% CI [1.52, 2.20]"
    assert apa.effect(0.05, -0.12, 0.22, name="d_z", level=0.90) == "d_z = 0.05, 90% CI [-0.12, 0.22]"
    assert apa.effect(0.4, math.nan, math.nan, name="g") == "g = 0.40"
    assert apa.effect(0.4, 0.1, 0.7, level=0.975) == "d = 0.40, 97.5% CI [0.10, 0.70]"


def test_percent_and_proportion():
    assert apa.percent(0.81) == "81.0%"
    assert apa.percent(0.5632, digits=0) == "56%"
    assert apa.percent(0.00004) == "0.0%"
    assert apa.proportion(0.81) == ".81"
    assert apa.proportion(-0.1234) == "-.12"
    assert apa.proportion(-0.001) == ".00"
    assert apa.proportion(1.0) == "1.00"
    assert apa.proportion(0.7129, digits=3) == ".713"
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        apa.proportion(1.5)


def test_chi2():
    assert apa.chi2(12.3, 4, 0.0154, n=90) == "χ²(4, N = 90) = 12.30, p = .015"
    assert apa.chi2(360.0, 4, 1e-70) == "χ²(4) = 360.00, p < .001"


def test_correlation():
    assert apa.correlation(0.4612, 0.0021, n=45) == "r(43) = .46, p = .002"
    assert apa.correlation(-0.2, 0.3, name="r_s") == "r_s = -.20, p = .300"


def test_mean_sd():
    assert apa.mean_sd(0.8123, 0.0649) == "M = 0.81, SD = 0.06"
    assert apa.mean_sd(101.26, 14.9, digits=1) == "M = 101.3, SD = 14.9"


@pytest.mark.parametrize(
    "text",
    [
        apa.p_value(math.nan),
        apa.p_value(None),
        apa.t_test(math.nan, 10, 0.5),
        apa.t_test(2.0, 10, math.nan),
        apa.effect(math.nan, 0.1, 0.2),
        apa.percent(math.nan),
        apa.proportion(None),
        apa.chi2(1.0, 1, math.nan),
        apa.correlation(math.nan, 0.5, n=10),
        apa.mean_sd(0.5, math.nan),
    ],
)
def test_missing_values_give_na(text):
    assert text == "n/a"


def test_non_numbers_are_type_errors():
    with pytest.raises(TypeError, match="expected a number"):
        apa.p_value("0.05")  # type: ignore[arg-type]
