"""From stored trials to scores and the tables of an analysis.

- :mod:`~eitest.scoring.scores`: credit per trial, scores per repetition, item and test.
- :mod:`~eitest.scoring.analysis`: ``analyze``, which composes the scores with the
  statistics of :mod:`eitest.stats` over a store.
"""

from eitest.scoring.scores import instrument_scores, item_scores, repetition_scores, run_table, trial_credit

__all__ = ["instrument_scores", "item_scores", "repetition_scores", "run_table", "trial_credit"]
