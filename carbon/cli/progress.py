"""A progress display for long commands (`carbon batch`): one line per step (reading, pricing,
writing) with a spinner and the elapsed time from the first second, and a bar once the step
knows its total. Shown only when stderr is a terminal and `--quiet` is not given, so pipes, logs
and tests see nothing.

The library knows nothing of the display: it takes a plain callback, `report(step, done, total)`,
and an instance of `Progress` is such a callback. A new `step` text starts a new line; `total`
is None while unknown (a spinner), and `done == total` ends the step.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO


class Progress:
    """`with Progress.for_stderr(quiet) as report: estimate_logs(..., progress=report)`."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Display

        self.display = Display(
            SpinnerColumn(finished_text="done"),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self.tasks: dict[str, Any] = {}
        self.current: str | None = None

    @staticmethod
    def for_stderr(quiet: bool = False, stream: TextIO | None = None) -> Progress | _Silent:
        """A display on stderr when it is a terminal and the user did not ask for quiet."""
        stream = stream or sys.stderr
        if quiet or not _is_terminal(stream):
            return _Silent()
        try:
            return Progress(stream)
        except ImportError:  # rich is optional: no display rather than no result
            return _Silent()

    def __enter__(self) -> Progress:
        self.display.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish_current()
        self.display.stop()

    def __call__(self, step: str, done: int, total: int | None) -> None:
        if step != self.current:
            self._finish_current()
            self.tasks[step] = self.display.add_task(step, total=total)
            self.current = step
        self.display.update(self.tasks[step], completed=done, total=total)

    def _finish_current(self) -> None:
        if self.current is None:
            return
        task = self.display.tasks[self.tasks[self.current]]
        if task.total is None:  # a step that never learnt its size: end its spinner as one unit of work
            self.display.update(task.id, total=1, completed=1)
        else:
            self.display.update(task.id, completed=task.total)
        self.current = None


class _Silent:
    """The same interface, showing nothing."""

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __call__(self, step: str, done: int, total: int | None) -> None:
        return None


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False
