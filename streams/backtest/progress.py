"""A progress bar on the terminal for long runs: done of total, events/s, time remaining."""

import sys
from collections.abc import Callable

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:,.0f} events/s")


class ProgressBar:
    """A progress bar on the terminal (events/s, time remaining), or nothing.

    ``total`` says how many items there are (None: unknown); it is asked only when the bar is
    shown, since counting may cost a reading of the input.
    """

    def __init__(self, enabled: bool, total: Callable[[], int | None]) -> None:
        self.bar = Progress(
            TextColumn("backtest"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeRemainingColumn(),
            disable=not (enabled and sys.stderr.isatty()),
            transient=False,
            console=Console(stderr=True),
        )
        self.total = None if self.bar.disable else total()

    def __enter__(self) -> tuple[Progress, int]:
        self.bar.start()
        return self.bar, self.bar.add_task("backtest", total=self.total)

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()
