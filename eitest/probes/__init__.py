"""Probes: checks of a model that are not measurements of it (their runs are of kind ``probe``).

- :mod:`~eitest.probes.texts`: how an item is cut for the memorisation probe, and its control texts.
- :mod:`~eitest.probes.similarity`: a continuation against the true text.
- :mod:`~eitest.probes.memorisation`: the probe's trials and one of them (``probe_one``).
- :mod:`~eitest.probes.running`: ``run_probe``, the probe into a store, resumable, scheduled as a study's run is.
- :mod:`~eitest.probes.findings`: which items look memorised, against the controls' baseline.

Downstream of administer (it uses the study's call settings and the prompts' option
lines), upstream of scoring (whose analysis reads the findings).
"""
