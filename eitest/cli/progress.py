"""What a command that makes live calls (``eitest run``, ``eitest probe``) shows as they go, and how a signal ends it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eitest.cli.terminal import echo, safe_text

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from eitest.administer.scheduling import RunOutcome
    from eitest.store.trial import Trial

# The shell's convention for a process ended by a signal: 128 + its number.
EXIT_STATUS = {"SIGINT": 130, "SIGTERM": 143}


def stopped_line(outcome: RunOutcome, command: str) -> str:
    """The one line a run stopped by a signal ends with: what is stored, and the command that resumes it."""
    from eitest.client import redact

    return (
        f"stopped by {outcome.signal}: {outcome.stored} of {outcome.planned} trials stored (run {outcome.run_id}); "
        f"resume with: {redact(command)}"
    )


def exit_if_signalled(outcome: RunOutcome, command: str) -> None:
    """End the process as the shell expects of one a signal stopped, after the line that says how to resume."""
    if outcome.signal:
        echo(stopped_line(outcome, command), err=True)
        raise SystemExit(EXIT_STATUS[outcome.signal])


class RunProgress:
    """A rich progress bar on stderr, started once the plan is confirmed."""

    def __init__(self) -> None:
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._held: dict[str, str] = {}  # model -> why its calls are held back now

    def start(self, total: int) -> bool:
        if total == 0:
            return True
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("trials"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[pace]}"),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task("trials", total=total, pace=self._pace_text())
        return True

    def advance(self, _trial: Trial) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task)

    def pace(self, model: str, why: str | None) -> None:
        """Beside the bar: which models are throttled now, and why."""
        if why is None:
            self._held.pop(model, None)
        else:
            self._held[model] = why
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, pace=self._pace_text())

    def _pace_text(self) -> str:
        shown = "; ".join(f"{m}: {w}" for m, w in sorted(self._held.items()))
        return safe_text(f"throttled: {shown}") if shown else ""

    def note(self, text: str) -> None:
        """A line above the bar (the bar redraws below it), or on stderr before the bar starts."""
        if self._bar is not None:
            self._bar.console.print(safe_text(text), markup=False, highlight=False)
        else:
            echo(text, err=True)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
