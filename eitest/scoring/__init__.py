"""From stored trials to scores and the tables of an analysis.

- :mod:`~eitest.scoring.scores`: credit per trial, scores per repetition, item and test.
- :mod:`~eitest.scoring.analysis`: ``analyze``, which composes the steps below over a store:
  :mod:`~eitest.scoring.selection` (the trials, and the instruments each run used, from the
  store), :mod:`~eitest.scoring.score_table`, :mod:`~eitest.scoring.against_norms`,
  :mod:`~eitest.scoring.measurement_checks` and :mod:`~eitest.scoring.summary`.
"""

from eitest.scoring.scores import instrument_scores, item_scores, repetition_scores, run_table, trial_credit

__all__ = ["instrument_scores", "item_scores", "repetition_scores", "run_table", "trial_credit"]
