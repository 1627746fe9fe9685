"""Administering a study: what to ask, how, and reading the replies.

- :mod:`~eitest.administer.study`: the study (models, instruments, protocol, ...), from YAML or flags.
- :mod:`~eitest.administer.plan`: every trial of a study, its run id, and the estimate of tokens and cost.
- :mod:`~eitest.administer.prompts`: prompt protocols (item -> messages, the form of an answer) and option orders.
- :mod:`~eitest.administer.parsing`: ``parse_reply``, reading a reply's choice; its patterns live in
  :mod:`~eitest.administer.reply_patterns`, the reading of one choice in :mod:`~eitest.administer.reply_choice`.
- :mod:`~eitest.administer.one_trial`: ``administer_one``, the work of one trial, returning its Trial record.
- :mod:`~eitest.administer.runner`: ``run_study``, planning and recording a study's run, keeping to the budget.
- :mod:`~eitest.administer.scheduling`: ``Scheduler``, the live trials of any run (a study's, a probe's):
  workers, group commits, the stop on a refusal or a signal.
- :mod:`~eitest.administer.provenance`: what a run records of where it came from.

Nothing here is imported by the stages downstream of the store, nor by the model door.
"""
