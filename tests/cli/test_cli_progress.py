"""The run's progress bar: beside it, which models are throttled now and why."""

from __future__ import annotations

from eitest.cli.progress import RunProgress


def test_the_bar_says_which_models_are_held_back_and_forgets_those_that_are_not():
    progress = RunProgress()
    progress.pace("openai/a", "paced by --rpm/--tpm")  # before the bar: kept for it
    progress.start(10)
    try:
        bar = progress._bar
        assert bar is not None and bar.tasks[0].fields["pace"] == "throttled: openai/a: paced by --rpm/--tpm"
        progress.pace("openai/b", "429: waiting as the provider asks")
        assert bar.tasks[0].fields["pace"] == (
            "throttled: openai/a: paced by --rpm/--tpm; openai/b: 429: waiting as the provider asks"
        )
        progress.pace("openai/a", None)
        progress.pace("openai/b\x1b[2J", "concurrency 2 of 8")  # a model string is data: no terminal escapes
        assert "\x1b" not in bar.tasks[0].fields["pace"]
        progress.pace("openai/b", None)
        progress.pace("openai/b\x1b[2J", None)
        assert bar.tasks[0].fields["pace"] == ""
    finally:
        progress.stop()
