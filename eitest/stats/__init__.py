"""Pure statistics: DataFrame or numbers in, tidy results out, full precision.

- :mod:`~eitest.stats.single_case`: a model against a normative sample (Crawford-Howell t,
  Crawford-Garthwaite percentile interval, z_CC, Hedges' g).
- :mod:`~eitest.stats.intervals`: a model's score on one test with its uncertainty, each
  interval named by its question ("this model on this test", "new items like these").
- :mod:`~eitest.stats.aggregate`: families of p values; the mean over tests.
- :mod:`~eitest.stats.measurement`: checks of the measurement (agreement, item-level
  correlation with human difficulty); :mod:`~eitest.stats.position`: the position-bias
  randomization test.
- :mod:`~eitest.stats.reliability`, :mod:`~eitest.stats.equivalence`,
  :mod:`~eitest.stats.correlation`: human response data (Study 2).
- :mod:`~eitest.stats.irt`: ability theta on an IRT scale (EAP, ML, test information, percentile);
  :mod:`~eitest.stats.irt_calibration`: 2PL item parameters from human responses (EM).
- :mod:`~eitest.stats.apa`: numbers printed the APA way (rounding happens only there).

A model's repetitions are repeated measures of one respondent, never a sample.
Nothing here reads a store or calls a model.
"""

from eitest.stats.aggregate import PVALUE_METHODS, adjust_pvalues, paper_summary
from eitest.stats.correlation import pearson_ci, williams_test
from eitest.stats.equivalence import tost_paired
from eitest.stats.intervals import binomial_ci, bootstrap_accuracy, item_interval, rep_interval, wilson_over_items
from eitest.stats.irt import estimate_theta, information_curve
from eitest.stats.irt_calibration import calibrate_2pl
from eitest.stats.measurement import agreement, item_correlation, position_bias
from eitest.stats.reliability import (
    cronbach_alpha,
    feldt_ci,
    feldt_dependent,
    feldt_independent,
    item_total,
    kr20,
)
from eitest.stats.single_case import hedges_j, noncentral_t_ci, single_case

__all__ = [
    "PVALUE_METHODS",
    "adjust_pvalues",
    "agreement",
    "binomial_ci",
    "bootstrap_accuracy",
    "calibrate_2pl",
    "cronbach_alpha",
    "estimate_theta",
    "feldt_ci",
    "feldt_dependent",
    "feldt_independent",
    "hedges_j",
    "information_curve",
    "item_correlation",
    "item_interval",
    "item_total",
    "kr20",
    "noncentral_t_ci",
    "paper_summary",
    "pearson_ci",
    "position_bias",
    "rep_interval",
    "single_case",
    "tost_paired",
    "wilson_over_items",
    "williams_test",
]
